"""Response hygiene: clean error text, JSON errors, no caching of credentials, framing and
referrer protection on the consent page, CSRF on consent, and no credential in any log line,
admin page, export or audit record (live server, then the console as an operator)."""

import base64
import io
import json
import logging
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
import requests
from django.core.management import call_command
from django.test import Client as DjangoClient

from oauth_console.audit.export import AuditEventResource
from oauth_console.audit.models import AuditEvent
from oauth_console.clients.resources import ClientResource
from oauth_console.tokens.resources import TokenMetadataResource
from server import services
from server.actors import Actor
from server.models import AuthorizationCode, Token
from tests.security.conftest import REDIRECT_URI, basic, pkce_pair, query_of, redeem

pytestmark = pytest.mark.django_db(transaction=True)

# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
INJECTIONS = ["x\r\nSet-Cookie: pwned=1", "x\nInjected: yes", 'a"b\\c', "\u2028\u0000é", "%0d%0aX: y"]


def raw_basic(client_id: str, secret: str) -> dict:
    """A Basic header built from UTF-8 (requests itself only speaks latin-1)."""
    value = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def assert_clean_error(response):
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and re.fullmatch(
        r"[\x20\x21\x23-\x5b\x5d-\x7e]+", body["error"]
    )
    assert DESCRIPTION.fullmatch(body.get("error_description", "")), body
    assert "pwned" not in response.headers.get("Set-Cookie", "")
    assert "Injected" not in response.headers and "X" not in response.headers


@pytest.mark.parametrize("junk", INJECTIONS)
def test_error_description_has_no_cr_lf_or_forbidden_characters(live, confidential, junk):
    app, secret = confidential
    attempts = [
        ("/oauth/token", {"grant_type": junk}, basic(app.client_id, secret)),
        ("/oauth/token", {"grant_type": "client_credentials", "scope": junk}, basic(app.client_id, secret)),
        ("/oauth/token", {"grant_type": "authorization_code", "code": junk}, basic(app.client_id, secret)),
        ("/oauth/token", {"grant_type": "client_credentials"}, basic(junk, secret)),
        (
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": junk, "client_secret": junk},
            None,
        ),
        ("/oauth/revoke", {"token": junk, "token_type_hint": junk}, basic(app.client_id, secret)),
        ("/oauth/introspect", {"token": "t", "token_type_hint": junk}, basic(app.client_id, secret)),
    ]
    for path, data, auth in attempts:
        headers = raw_basic(*auth) if auth else {}
        response = requests.post(live + path, data=data, headers=headers, timeout=10)
        assert 400 <= response.status_code < 500, (path, data, response.status_code)
        assert_clean_error(response)


@pytest.mark.parametrize("junk", INJECTIONS)
def test_error_description_in_authorization_redirects_has_no_cr_lf(live_browser, confidential, junk):
    app, _ = confidential
    _, challenge = pkce_pair()
    response = live_browser.authorize(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": junk,
            "state": junk,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        location = response.headers["Location"]
        assert "\r" not in location and "\n" not in location
        params = query_of(location)
        assert params["error"] == "invalid_scope"
        assert DESCRIPTION.fullmatch(params.get("error_description", ""))
        assert params["state"] == junk  # returned exactly, but only URL-encoded
    assert AuthorizationCode.objects.count() == 0


def test_errors_are_json_with_no_store(live, confidential):
    app, _ = confidential
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        for response in (
            requests.post(live + path, data={}, timeout=10),
            requests.post(
                live + path, data={"grant_type": "password"}, auth=basic(app.client_id, "x"), timeout=10
            ),
            requests.get(live + path, timeout=10),
            requests.post(live + path, data="{}", headers={"Content-Type": "application/json"}, timeout=10),
        ):
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert_clean_error(response)
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["Pragma"] == "no-cache"
            assert "Traceback" not in response.text
    response = requests.get(live + "/api/me", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_token_responses_are_never_cached(live, live_browser, confidential):
    app, secret = confidential
    code, verifier = live_browser.code(app.client_id)
    responses = [redeem(live, app.client_id, secret, code, verifier)]
    tokens = responses[0].json()
    responses.append(
        requests.post(
            live + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=basic(app.client_id, secret),
            timeout=10,
        )
    )
    responses.append(
        requests.post(
            live + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=basic(app.client_id, secret),
            timeout=10,
        )
    )
    for path in ("/oauth/introspect", "/oauth/revoke"):
        responses.append(
            requests.post(
                live + path,
                data={"token": tokens["access_token"]},
                auth=basic(app.client_id, secret),
                timeout=10,
            )
        )
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"


def test_consent_page_cannot_be_framed_cached_or_leak_its_referrer(live_browser, confidential):
    app, _ = confidential
    _, challenge = pkce_pair()
    response = live_browser.authorize(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "profile",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        confirm=False,
    )
    assert response.status_code == 200
    assert 'name="confirm"' in response.text
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]


def test_consent_post_without_csrf_token_is_refused(live, live_browser, confidential):
    app, _ = confidential
    _, challenge = pkce_pair()
    url = (
        live
        + "/oauth/authorize?"
        + requests.compat.urlencode(
            {
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "profile",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )
    # A cross-site form post: the victim's session cookie rides along, but no CSRF token.
    response = live_browser.http.post(
        url,
        data={"confirm": "yes"},
        headers={"Referer": "https://evil.example/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 403
    assert "Location" not in response.headers
    assert AuthorizationCode.objects.count() == 0


# --- no credential anywhere ---------------------------------------------------------------------


def test_no_secret_or_token_in_logs_admin_exports_or_audit(live, live_browser, make_client, operator, caplog):
    """Every plain credential this flow creates is searched for in the captured log output, the
    admin pages, the exports and the audit log: none may appear, not even partially beyond the
    12-character display prefix."""
    plain: list[str] = []
    with caplog.at_level(logging.DEBUG):
        app, secret = make_client("Leak check")
        plain.append(secret)
        code, verifier = live_browser.code(app.client_id, scope="profile email")
        plain += [code, verifier]
        first = redeem(live, app.client_id, secret, code, verifier).json()
        plain += [first["access_token"], first["refresh_token"]]
        second = requests.post(
            live + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            auth=basic(app.client_id, secret),
            timeout=10,
        ).json()
        plain += [second["access_token"], second["refresh_token"]]
        assert (
            requests.get(
                live + "/api/me", headers={"Authorization": f"Bearer {second['access_token']}"}, timeout=10
            ).status_code
            == 200
        )
        # Failures log too: a wrong secret and a replayed code must not be echoed.
        requests.post(
            live + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=basic(app.client_id, secret[:-2] + "zz"),
            timeout=10,
        )
        plain.append(secret[:-2] + "zz")
        redeem(live, app.client_id, secret, code, verifier)
        new_secret, *_ = services.rotate_client_secret(
            app, actor=Actor.system("tests"), grace=timedelta(hours=1)
        )
        plain.append(new_secret)
        cc = requests.post(
            live + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=basic(app.client_id, new_secret),
            timeout=10,
        ).json()
        plain.append(cc["access_token"])
        requests.post(
            live + "/oauth/revoke",
            data={"token": cc["access_token"]},
            auth=basic(app.client_id, new_secret),
            timeout=10,
        )
        # Dynamic registration hands out a secret and a registration access token.
        _, iat = services.create_initial_access_token(actor=Actor.system("tests"), allowed_scope=["profile"])
        plain.append(iat)
        registered = requests.post(
            live + "/oauth/register",
            json={"client_name": "DCR leak check", "redirect_uris": [REDIRECT_URI], "scope": "profile"},
            headers={"Authorization": f"Bearer {iat}"},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        plain += [registered.json()["client_secret"], registered.json()["registration_access_token"]]
        # A bulk revocation and the audit log's own commands.
        services.revoke_tokens(Token.objects.all(), actor=Actor.operator(operator), reason="leak check")
        call_command("seal_audit_log", stdout=io.StringIO())

    haystacks: dict[str, str] = {
        "log output": caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    }

    console = DjangoClient()
    console.force_login(operator)
    pages = [
        "/admin/",
        "/admin/server/client/",
        f"/admin/server/client/{app.pk}/change/",
        "/admin/server/token/",
        "/admin/audit/auditevent/",
        "/console/",
    ]
    pages += [f"/admin/server/token/{pk}/change/" for pk in Token.objects.values_list("pk", flat=True)]
    pages += [
        f"/admin/audit/auditevent/{pk}/change/" for pk in AuditEvent.objects.values_list("pk", flat=True)[:50]
    ]
    for page in pages:
        response = console.get(page)
        assert response.status_code == 200, (page, response.status_code)
        haystacks[page] = response.content.decode()

    haystacks["client export"] = ClientResource().export().json
    haystacks["token export"] = TokenMetadataResource().export().json
    haystacks["audit export"] = AuditEventResource().export().json
    haystacks["audit rows"] = json.dumps(list(AuditEvent.objects.values()), default=str)

    assert AuditEvent.objects.filter(event_type="token_issued").exists()
    for value in plain:
        assert len(value) > 20
        # The whole value, its URL-encoded form, and anything beyond the display prefix.
        needles = {value, requests.utils.quote(value, safe=""), value[12:], value[-20:]}
        for where, text in haystacks.items():
            for needle in needles:
                assert needle not in text and needle not in unquote(text), f"{value[:12]}… leaked in {where}"
