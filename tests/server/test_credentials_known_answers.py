"""Known answers for the credential digests (server/credentials.py).

Every secret, token and code is stored only as
    HMAC-SHA256(key, value as UTF-8), hex,
    key = SHA-256(b"oauth-console credential digest v1\\x00" + (OAUTH2_CREDENTIAL_KEY or SECRET_KEY)),
and looked up by that digest. A change to the construction (the separator, the fallback, the hash,
the encoding) silently turns every stored credential into "invalid", so the digests are pinned here
twice: recomputed by hand from the construction above with hashlib/hmac, and as hex literals
computed once. Either a wrong hand computation or a changed construction fails the test.
"""

import hashlib
import hmac

import pytest
from django.test import Client as HttpClient

from server import credentials, services
from server.actors import Actor
from server.models import AuthorizationCode, ClientSecret, InitialAccessToken, Token
from tests.server.helpers import exchange_code, get_code

CREDENTIAL_KEY = "known-answer credential key"
SECRET_KEY = "known-answer secret key, long enough for Django's checks 0123456789"


def by_hand(material: str, value: str) -> str:
    """The documented construction, written out without the production code."""
    key = hashlib.sha256(b"oauth-console credential digest v1\x00" + material.encode("utf-8")).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.fixture
def fixed_keys(settings):
    settings.OAUTH2_CREDENTIAL_KEY = CREDENTIAL_KEY
    settings.SECRET_KEY = SECRET_KEY
    return settings


# (value, its digest under OAUTH2_CREDENTIAL_KEY = CREDENTIAL_KEY), computed once.
VECTORS = [
    (
        "ocs_Zm9yLWtub3duLWFuc3dlcnMtb25seS1jbGllbnQtc2VjcmV0",
        "b31b9ff7fe684cd53bddd8083f0a88c9bd4774151795c7a7b05810db6d09b198",
    ),
    (
        "oat_Zm9yLWtub3duLWFuc3dlcnMtb25seS1hY2Nlc3MtdG9rZW4",
        "7c0fead9f9d367b696b3a964ade6c6b63853d8aa3c1a29f007fc033a1c5cf03e",
    ),
    (
        "ort_Zm9yLWtub3duLWFuc3dlcnMtb25seS1yZWZyZXNoLXRva2Vu",
        "6ebb5ba238a0b5c41bac6e58458777a39637af0acb17afc2cada268362fa9af8",
    ),
    (
        "oac_Zm9yLWtub3duLWFuc3dlcnMtb25seS1hdXRoLWNvZGU",
        "3251a3b12b267303e2fd720371378537d2332b15222119cae188664dc113f71f",
    ),
    (
        "org_Zm9yLWtub3duLWFuc3dlcnMtb25seS1yZWdpc3RyYXRpb24",
        "c218daebd6d1c78fa48271c23ab7dedb823a0f2a88d8f0cd61e255e4f7abb3e9",
    ),
    (
        "oia_Zm9yLWtub3duLWFuc3dlcnMtb25seS1pbml0aWFsLWFjY2Vzcw",
        "fb0d7543cea5c05d6c29ec41104fdb8489e99b2f1ec85b7ebeed6bbe5c1060c0",
    ),
    # Not a credential we issue, but what a client may send: hashed as UTF-8, not Latin-1.
    ("pässwörd-✓", "5c1e5ee44e05dd5e9737cac5194b8df62c76a9170967663d7a2f3fb077c7533e"),
    ("", "831973051767d0616c42c5f76b620d13f09d63998940c853bf892f546c5a68eb"),
]


@pytest.mark.parametrize(("value", "expected"), VECTORS, ids=[v[:4] or "empty" for v, _ in VECTORS])
def test_digest_is_the_documented_hmac(fixed_keys, value, expected):
    assert by_hand(CREDENTIAL_KEY, value) == expected
    assert credentials.digest(value) == expected


def test_without_a_credential_key_the_key_comes_from_secret_key(settings):
    settings.OAUTH2_CREDENTIAL_KEY = ""
    settings.SECRET_KEY = SECRET_KEY
    value = VECTORS[1][0]
    expected = "4ed8f76703caf009c3103807306398a445ae1bc2ea1e4ba4993b0a493eccd2ca"
    assert by_hand(SECRET_KEY, value) == expected
    assert credentials.digest(value) == expected
    # Not the digest under the credential key, nor an HMAC keyed with SECRET_KEY itself.
    assert expected != VECTORS[1][1]
    assert expected != hmac.new(SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_the_credential_key_makes_the_digest_independent_of_secret_key(fixed_keys):
    value, expected = VECTORS[0]
    fixed_keys.SECRET_KEY = "a rotated secret key, equally long and boring 9876543210"
    assert credentials.digest(value) == expected


# --- every kind of credential is stored under that digest --------------------------------------


@pytest.mark.django_db
def test_issued_credentials_are_stored_under_the_documented_digest(fixed_keys, make_client, end_user):
    client, secret = make_client()
    assert ClientSecret.objects.get(client=client).digest == by_hand(CREDENTIAL_KEY, secret)

    browser = HttpClient()
    browser.force_login(end_user)
    code, verifier = get_code(browser, client.client_id)
    assert AuthorizationCode.objects.filter(code_digest=by_hand(CREDENTIAL_KEY, code)).exists()

    response = exchange_code(browser, client.client_id, secret, code, verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    token = Token.objects.get(client=client)
    assert token.access_token_digest == by_hand(CREDENTIAL_KEY, body["access_token"])
    assert token.refresh_token_digest == by_hand(CREDENTIAL_KEY, body["refresh_token"])

    registration = services.issue_registration_access_token(client, actor=Actor.system("tests"))
    client.refresh_from_db()
    assert client.registration_access_token_digest == by_hand(CREDENTIAL_KEY, registration)

    row, initial = services.create_initial_access_token(
        actor=Actor.system("tests"), allowed_scope=["profile"]
    )
    assert InitialAccessToken.objects.get(pk=row.pk).digest == by_hand(CREDENTIAL_KEY, initial)
