"""Properties of consent at the HTTP level: what the user saw and approved covers what the token gets.

Driven through the production path only (`/oauth/authorize` → consent page → `/oauth/token` → refresh),
with random client scopes, prior consent and requested scope (absent, empty, duplicated, unknown,
reordered). For every example:

- the token's scope ⊆ the client's allowed scope;
- a consent page was shown and the token's scope ⊆ the scopes it listed, or there was no page and the
  token's scope ⊆ the consent the user had already given (silent approval only within prior consent);
- the consent recorded afterwards covers the token's scope, and never a scope that was neither shown
  nor previously consented;
- a refresh never widens the scope, and asking a refresh for more is refused.

Written from the issue's reproduction, not from the fix: a mutant that grants the client's whole scope
when none is requested fails here.
"""

import re
import secrets
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.models import Consent
from tests.server.helpers import REDIRECT_URI, basic_auth, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

SCOPES = ["profile", "email", "read", "write"]
EXAMPLES = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ABSENT = object()
# The scope names a consent page lists, each in its own monospace line under the description.
SHOWN_SCOPE = re.compile(r'font-monospace">([^<]+)</div>')


def scope_subsets(min_size=0):
    return st.lists(st.sampled_from(SCOPES), unique=True, min_size=min_size)


@st.composite
def requested_scopes(draw):
    """A `scope` parameter as a client might send it: absent, empty, or a messy list."""
    kind = draw(st.sampled_from(["absent", "empty", "list"]))
    if kind == "absent":
        return ABSENT
    if kind == "empty":
        return draw(st.sampled_from(["", " ", "  "]))
    names = draw(st.lists(st.sampled_from([*SCOPES, "admin", "openid"]), min_size=1, max_size=6))
    return draw(st.sampled_from([" ", "  "])).join(names)


def _split(scope: str | None) -> set[str]:
    return set((scope or "").split())


def _authorize(http, client_id: str, scope, *, prompt: str | None = None):
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if scope is not ABSENT:
        params["scope"] = scope
    if prompt:
        params["prompt"] = prompt
    url = "/oauth/authorize?" + urlencode(params)
    return url, verifier, http.get(url)


def _redeem(http, client_id: str, secret: str, code: str, verifier: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    data["code_verifier"] = verifier
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client_id, secret))


def _consent_once(http, client_id, scope):
    """Approve `scope` for the client through the consent page; return the page's listed scopes."""
    url, _verifier, response = _authorize(http, client_id, scope)
    shown = set(SHOWN_SCOPE.findall(response.content.decode())) if response.status_code == 200 else None
    if response.status_code == 200:
        response = http.post(url, {"confirm": "yes"})
    return shown, response


@EXAMPLES
@given(
    allowed=scope_subsets(min_size=1),
    prior=st.one_of(st.none(), scope_subsets(min_size=1)),
    requested=requested_scopes(),
    prompt=st.sampled_from([None, None, "none"]),
)
def test_token_scope_never_exceeds_what_the_user_saw_or_had_consented(
    django_user_model, make_client, allowed, prior, requested, prompt
):
    user = django_user_model.objects.create_user("u-" + secrets.token_hex(6), password="pw-" + "x" * 12)
    client, secret = make_client("Prop app", scope=allowed)
    http = HttpClient(HTTP_HOST="testserver", secure=True)
    http.force_login(user)

    prior_consent: set[str] = set()
    if prior is not None:
        _shown, response = _consent_once(http, client.client_id, " ".join(prior))
        if response.status_code == 302 and "code" in query_of(response["Location"]):
            prior_consent = _split(Consent.objects.get(user=user, client=client).scope)

    url, verifier, response = _authorize(http, client.client_id, requested, prompt=prompt)
    shown: set[str] | None = None
    if response.status_code == 200:
        assert prompt != "none", "prompt=none must never show a page"
        shown = set(SHOWN_SCOPE.findall(response.content.decode()))
        response = http.post(url, {"confirm": "yes"})

    if response.status_code != 302 or "code" not in query_of(response["Location"]):
        # Refused (invalid_scope, consent_required, an error page): the remembered consent is unchanged.
        after = Consent.objects.filter(user=user, client=client).values_list("scope", flat=True).first()
        assert _split(after) == prior_consent
        return

    code = query_of(response["Location"])["code"]
    issued = _redeem(http, client.client_id, secret, code, verifier)
    assert issued.status_code == 200, issued.content
    body = issued.json()
    granted = _split(body.get("scope"))

    assert granted <= set(allowed)
    if shown is None:
        assert granted <= prior_consent, (granted, prior_consent)
    else:
        assert granted <= shown, (granted, shown)
    recorded = _split(Consent.objects.get(user=user, client=client).scope)
    assert granted <= recorded
    assert recorded <= prior_consent | (shown or set())

    # A refresh keeps or narrows the scope; asking for more than was granted is refused.
    if "refresh_token" in body:
        wider = " ".join(sorted(set(SCOPES) - granted)) or "admin"
        refused = form(
            http,
            "/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "scope": wider},
            HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_scope"
        refreshed = form(
            http,
            "/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
        )
        assert refreshed.status_code == 200, refreshed.content
        assert _split(refreshed.json().get("scope")) <= granted
