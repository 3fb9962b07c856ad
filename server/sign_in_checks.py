"""When an OpenID Connect authorization request needs a fresh sign-in, even from a signed-in user.

`prompt=login` (always), `max_age` (the sign-in is older than that, or its time is unknown;
the client's `default_max_age` when the request names none), `id_token_hint` naming another
user than the one signed in, a `claims` parameter asking for another `sub` (OIDC Core §3.1.2.1,
§5.5.1: never an answer for a different user; still another after signing in for this request
is `login_required`), a client with `require_auth_time` and a sign-in of unknown time.
The sign-in page is then shown again, and the request goes on after it without `prompt=login`
and `max_age` (satisfied by the sign-in that just happened; keeping them would ask again
forever); `id_token_hint` and `claims` stay, to be checked against whoever signed in.
`login_hint` prefills the sign-in form (`server.sign_in_page.SignInView`).
"""

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from server.bindings import authorization_server
from server.bindings.oidc import published_jwks
from server.claims import subject_for
from server.oauth2 import OAuth2Error, id_tokens
from server.oauth2.claims_request import parse_claims_request, requested_value
from server.oauth2.errors import LoginRequiredError

MAX_LOGIN_HINT_LENGTH = 255
# What a fresh sign-in satisfies: dropped from the request that continues after it. Not
# id_token_hint: it names a person, whom the sign-in may or may not have been (sign_in_needed).
SATISFIED_BY_SIGN_IN = ("max_age",)
# When this server last sent the browser to sign in for an authorization request: a sign-in
# since then satisfies the client's default_max_age once (it cannot be dropped from the URL).
SIGN_IN_ASKED_AT = "server.oidc.sign_in_asked_at"


def sign_in_needed(request: HttpRequest, grant, end_user) -> str | None:
    """Why `end_user` must sign in again for this request ("login", "max_age", "id_token_hint"),
    or None. Raises OAuth2Error (redirectable to the client) for an id_token_hint we did not
    issue."""
    payload = grant.request.payload
    if not id_tokens.is_openid_request(grant.request.scope):
        return None
    data = payload.data
    asked_at = request.session.pop(SIGN_IN_ASKED_AT, None)
    if "login" in (data.get("prompt") or "").split():
        return "login"
    auth_time = id_tokens.auth_time_of(request.session)
    max_age = data.get("max_age")
    if max_age is not None:
        if auth_time is None or time.time() - auth_time > int(max_age):
            return "max_age"
    elif grant.client.default_max_age is not None:
        # OIDC Registration §2: the client's default when the request names no max_age. The
        # sign-in this very request was sent to (if any) satisfies it, even a 0.
        fresh = auth_time is not None and asked_at is not None and auth_time >= asked_at
        if not fresh and (auth_time is None or time.time() - auth_time > grant.client.default_max_age):
            return "default_max_age"
    if grant.client.require_auth_time and auth_time is None:
        # Its ID tokens must carry auth_time: a session from before the time was kept signs in again.
        return "auth_time"
    hint = data.get("id_token_hint")
    # Signed in for this very request: someone else now is an answer, not another sign-in.
    just_signed_in = auth_time is not None and asked_at is not None and auth_time >= asked_at
    try:
        if hint:
            claims = id_tokens.read_id_token_hint(
                hint, published_jwks(), authorization_server.get_issuer(request)
            )
            if claims["sub"] != subject_for(end_user, grant.client):
                if just_signed_in:
                    raise LoginRequiredError("The signed-in user is not the one the id_token_hint names.")
                return "id_token_hint"
        wanted = requested_value(parse_claims_request(data.get("claims")), "sub")
        if wanted is not None and wanted != subject_for(end_user, grant.client):
            if just_signed_in:
                raise LoginRequiredError(
                    "The signed-in user is not the one the claims parameter names (sub)."
                )
            return "claims_sub"
    except OAuth2Error as error:
        error.redirect_uri = payload.redirect_uri or grant.client.get_default_redirect_uri()
        error.state = payload.state
        raise
    return None


def sign_in_again(request: HttpRequest) -> HttpResponse:
    """The sign-in page, then this request again without what the sign-in satisfies."""
    request.session[SIGN_IN_ASKED_AT] = int(time.time())
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    if not any(
        name in SATISFIED_BY_SIGN_IN or (name == "prompt" and "login" in value.split())
        for name, value in pairs
    ):
        # Nothing to drop: the request exactly as it came.
        return redirect_to_login(request.get_full_path())
    kept = []
    for name, value in pairs:
        if name in SATISFIED_BY_SIGN_IN:
            continue
        if name == "prompt":
            value = " ".join(p for p in value.split() if p != "login")
            if not value:
                continue
        kept.append((name, value))
    return redirect_to_login(request.path + "?" + urlencode(kept))


def login_hint_from(next_url: str) -> str | None:
    """The `login_hint` of an authorization request in `next_url` (a same-site path to the
    authorization endpoint), to prefill the sign-in form; None when absent or unusable."""
    parts = urlsplit(next_url or "")
    if parts.scheme or parts.netloc or parts.path != reverse("oauth-authorize"):
        return None
    hints = [value for name, value in parse_qsl(parts.query) if name == "login_hint"]
    if len(hints) != 1 or not hints[0] or len(hints[0]) > MAX_LOGIN_HINT_LENGTH:
        return None
    hint = hints[0].strip()
    return hint if hint.isprintable() else None
