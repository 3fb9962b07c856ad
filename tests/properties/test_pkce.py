"""Properties of PKCE (RFC 7636) at the HTTP level: a code is redeemed only with its own verifier.

Random verifiers (RFC 7636 §4.1: 43 to 128 unreserved characters), random challenges (the right
S256 one, `plain`, no method, a lower-case method, none at all, well-formed ones that are not the
S256 of the verifier, malformed ones) and random sequences of token requests (another verifier, the
verifier of another code, none, too short, too long, a forbidden character, one character changed),
driven through the production `/oauth/authorize` → consent → `/oauth/token`, confidential and public
clients alike. Every example tries every kind of challenge, and the right challenge's code meets
every kind of wrong verifier, in a random order with random details. For every one:

- a code is issued only for a well-formed challenge with `code_challenge_method=S256`; anything
  else is refused with `invalid_request`, redirected to the (valid) redirect URI (RFC 7636 §4.4.1,
  RFC 6749 §4.1.2.1), no code minted;
- a code is redeemed iff the token request carries the verifier whose S256 is the challenge;
- every refusal is a 400 with the RFC's error: a missing verifier is `invalid_request` (RFC 6749
  §5.2), a well-formed wrong one `invalid_grant` (RFC 7636 §4.6), a malformed one either (the RFCs
  do not say which: it is both malformed and not matching); no refusal issues a token;
- a refused verifier does not spend the code: the right verifier still redeems it afterwards. The
  docs (docs/security.md "PKCE") do not say; this is what the server does, pinned so that a change
  is a decision, not an accident. A code spent once is refused again (`invalid_grant`).
"""

import base64
import hashlib
import itertools
import re
import secrets
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from server.models import AuthorizationCode, Client, Token
from tests.server.helpers import REDIRECT_URI, basic_auth, form, query_of

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
WELL_FORMED = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1 (verifier) and §4.2 (challenge)
# Each example's requests come from an address of their own: the token endpoint's per-address
# limit (600/60) would otherwise stop a long `make fuzz` run.
_ADDRESSES = (f"10.17.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


verifiers = st.text(alphabet=UNRESERVED, min_size=43, max_size=128)


CHALLENGE_KINDS = [
    "s256",
    "plain",
    "no_method",
    "lowercase_method",
    "missing",
    "method_only",
    "hex_sha256",
    "other_wellformed",
    "padded_base64",
    "standard_base64",
    "too_short",
    "too_long",
]
ATTEMPT_KINDS = [
    "another_verifier",
    "other_codes_verifier",
    "missing",
    "empty",
    "length_42",
    "length_129",
    "forbidden_character",
    "one_character_changed",
    "challenge_as_verifier",
]


@st.composite
def challenges(draw, kind: str, verifier: str):
    """(code_challenge or None, code_challenge_method or None) of this kind for `verifier`."""
    digest = hashlib.sha256(verifier.encode()).digest()
    if kind == "s256":
        return s256(verifier), "S256"
    if kind == "plain":
        return verifier, "plain"
    if kind == "no_method":
        return s256(verifier), None  # no method means plain (RFC 7636 §4.3)
    if kind == "lowercase_method":
        return s256(verifier), "s256"
    if kind == "missing":
        return None, None
    if kind == "method_only":
        return None, "S256"
    if kind == "hex_sha256":
        return digest.hex(), "S256"  # well-formed, but not base64url
    if kind == "other_wellformed":
        return _different(draw(verifiers), s256(verifier), draw), "S256"
    if kind == "padded_base64":
        return base64.urlsafe_b64encode(digest).decode(), "S256"  # ends in "="
    if kind == "standard_base64":
        return base64.b64encode(digest).decode().rstrip("=") + "+/", "S256"
    if kind == "too_short":
        return s256(verifier)[:42], "S256"
    return s256(verifier) + "A" * 86, "S256"  # 129


def _mutate_char(text: str, draw) -> str:
    """`text` with one character replaced by another unreserved one."""
    i = draw(st.integers(min_value=0, max_value=len(text) - 1))
    other = draw(st.sampled_from(UNRESERVED.replace(text[i], "")))
    return text[:i] + other + text[i + 1 :]


def _different(drawn: str, avoid: str, draw) -> str:
    # Not a filter: a fixed-seed search draws its simplest text ("AAA...") again and again.
    return drawn if drawn != avoid else _mutate_char(drawn, draw)


@st.composite
def wrong_attempts(draw, kind: str, verifier: str, other_code_verifier: str):
    """A token request's code_verifier (None: absent) of this kind, never `verifier` itself."""
    if kind == "another_verifier":
        return _different(draw(verifiers), verifier, draw)
    if kind == "other_codes_verifier":
        return other_code_verifier
    if kind == "missing":
        return None
    if kind == "empty":
        return ""
    if kind == "length_42":
        return (verifier * 2)[:42]
    if kind == "length_129":
        return (verifier * 4)[:129]
    if kind == "forbidden_character":
        i = draw(st.integers(min_value=0, max_value=len(verifier) - 1))
        bad = draw(st.sampled_from(["+", "/", "=", " ", "%", "é", "\n", "\x00"]))
        return verifier[:i] + bad + verifier[i + 1 :]
    if kind == "one_character_changed":
        return _mutate_char(verifier, draw)
    return s256(verifier)  # the plain-method confusion: sending the challenge back


def expected_refusal(attempt: str | None) -> set[str]:
    """The error codes the RFCs allow for a token request with this verifier (the code's own
    verifier does not match its challenge, or is not this one)."""
    if not attempt:
        return {"invalid_request"}  # RFC 6749 §5.2: a required parameter is missing
    if WELL_FORMED.fullmatch(attempt):
        return {"invalid_grant"}  # RFC 7636 §4.6: "invalid_grant" MUST be returned
    return {"invalid_request", "invalid_grant"}  # malformed and not matching: the RFCs allow both


# --- driving the endpoints ----------------------------------------------------------------------


def _authorize(http, client_id: str, challenge: str | None, method: str | None):
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "profile",
    }
    params["state"] = "st"
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    url = "/oauth/authorize?" + urlencode(params)
    response = http.get(url)
    if response.status_code == 200:
        response = http.post(url, {"confirm": "yes"})
    return response


def _redeem(http, client: Client, secret: str | None, code: str, verifier: str | None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    if secret is None:
        data["client_id"] = client.client_id
        return form(http, "/oauth/token", data)
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


@EXAMPLES
@given(public=st.booleans(), verifier=verifiers, data=st.data())
def test_a_code_is_redeemed_only_with_the_verifier_whose_s256_is_its_challenge(
    django_user_model, make_client, public, verifier, data
):
    user = django_user_model.objects.create_user("u-" + secrets.token_hex(6))  # no password: no hashing
    kind_of_client = Client.Type.PUBLIC if public else Client.Type.CONFIDENTIAL
    client, secret = make_client("PKCE app", client_type=kind_of_client)
    http = HttpClient(HTTP_HOST="testserver", secure=True, REMOTE_ADDR=next(_ADDRESSES))
    http.force_login(user)

    # Another code of the same client and user, whose verifier is one of the wrong attempts.
    other_code_verifier = _different(data.draw(verifiers, label="other code's verifier"), verifier, data.draw)
    other = _authorize(http, client.client_id, s256(other_code_verifier), "S256")
    assert other.status_code == 302 and "code" in query_of(other["Location"]), other.content[:300]

    # Every kind of challenge in every example, in a random order.
    for kind in data.draw(st.permutations(CHALLENGE_KINDS), label="challenge kinds"):
        challenge, method = data.draw(challenges(kind, verifier), label=kind)
        codes_before = AuthorizationCode.objects.filter(client=client).count()
        response = _authorize(http, client.client_id, challenge, method)
        if not (challenge is not None and method == "S256" and WELL_FORMED.fullmatch(challenge)):
            assert response.status_code == 302, (kind, response.status_code, response.content[:300])
            assert response["Location"].startswith(REDIRECT_URI + "?")
            answer = query_of(response["Location"])
            assert "code" not in answer, (kind, answer)
            assert answer["error"] == "invalid_request", (kind, answer)
            assert AuthorizationCode.objects.filter(client=client).count() == codes_before
            continue

        assert response.status_code == 302, (kind, response.status_code, response.content[:300])
        code = query_of(response["Location"])["code"]
        tokens_before = Token.objects.filter(client=client).count()
        redeemable = challenge == s256(verifier)
        # The code of the right challenge meets every kind of wrong verifier first.
        attempts = data.draw(st.permutations(ATTEMPT_KINDS), label="attempts") if redeemable else []
        for attempt_kind in attempts:
            attempt = data.draw(
                wrong_attempts(attempt_kind, verifier, other_code_verifier), label=attempt_kind
            )
            refused = _redeem(http, client, secret, code, attempt)
            assert refused.status_code == 400, (kind, attempt_kind, attempt, refused.content)
            wanted = expected_refusal(attempt)
            assert refused.json()["error"] in wanted, (kind, attempt_kind, attempt, refused.json())
            assert Token.objects.filter(client=client).count() == tokens_before

        issued = _redeem(http, client, secret, code, verifier)
        if not redeemable:
            # A challenge that is not BASE64URL(SHA256(verifier)): no verifier we hold matches it.
            assert issued.status_code == 400, (kind, issued.content)
            assert issued.json()["error"] == "invalid_grant", (kind, issued.json())
            assert Token.objects.filter(client=client).count() == tokens_before
            continue
        event("redeemed after every kind of wrong verifier")
        assert issued.status_code == 200, (kind, issued.content)
        assert issued.json()["access_token"]
        # Spent: the right verifier a second time is refused and issues nothing more.
        again = _redeem(http, client, secret, code, verifier)
        assert again.status_code == 400, again.content
        assert again.json()["error"] == "invalid_grant", again.json()
        assert Token.objects.filter(client=client).count() == tokens_before + 1
