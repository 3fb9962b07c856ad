"""A client's privacy policy and terms of service (`policy_uri`, `tos_uri`: RFC 7591 §2, OpenID
Connect Dynamic Client Registration §2): stored through every door, answered back by registration
(RFC 7591 §3.2.1, RFC 7592 §3), shown as text on the consent page (the Dynamic OP plan's
oidcc-registration-policy-uri and oidcc-registration-tos-uri), audited when they change.

The hostile values at every door are the matrix's (`tests/properties/hostile/`, FIELDS rows
`policy_uri` and `tos_uri`); these are the good paths and the pages."""

from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent, EventType
from server import policies, services
from server.actors import Actor
from server.models import Client
from tests.server.device_helpers import DEVICE_GRANTS, enter_code, start
from tests.server.test_registration import post_json, put_json

pytestmark = pytest.mark.django_db

POLICY = "https://rp.example.com/privacy?lang=en&v=2"
TERMS = "https://rp.example.com/terms"
METADATA = {
    "client_name": "Dynamic RP",
    "redirect_uris": ["https://rp.example.com/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "openid profile",
    "client_uri": "https://rp.example.com/",
    "policy_uri": POLICY,
    "tos_uri": TERMS,
}
# RFC 7592 §2.2: what the server owns and a client must not send back in a PUT.
SERVER_OWNED = ("registration_access_token", "registration_client_uri", "client_secret_expires_at")
SERVER_OWNED += ("client_id_issued_at",)


@pytest.fixture
def iat(operator):
    _row, token = services.create_initial_access_token(
        actor=Actor.operator(operator),
        created_by=operator,
        allowed_scope=["openid", "profile"],
        allowed_grant_types=["authorization_code", "refresh_token"],
    )
    return token


def test_registration_stores_them_and_every_answer_carries_them(client, iat):
    created = post_json(client, "/oauth/register", METADATA, iat)
    assert created.status_code == 201, created.content
    body = created.json()
    stored = Client.objects.get(client_id=body["client_id"])
    assert (stored.policy_uri, stored.tos_uri) == (POLICY, TERMS)
    assert (body["policy_uri"], body["tos_uri"]) == (POLICY, TERMS)
    read = client.get(
        body["registration_client_uri"],
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    )
    assert read.status_code == 200, read.content
    assert (read.json()["policy_uri"], read.json()["tos_uri"]) == (POLICY, TERMS)


def test_what_a_client_reads_it_can_put_back_unchanged_and_leaving_them_out_removes_them(client, iat):
    body = post_json(client, "/oauth/register", METADATA, iat).json()
    uri, token = body["registration_client_uri"], body["registration_access_token"]
    read = client.get(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    document = {key: value for key, value in read.items() if key not in SERVER_OWNED}

    again = put_json(client, uri, document, token)

    assert again.status_code == 200, again.content
    assert {key: again.json().get(key) for key in document} == document
    assert not AuditEvent.objects.filter(event_type=EventType.CLIENT_CHANGED).exists(), "nothing changed"
    # RFC 7592 §2.2: a field left out of the PUT is deleted.
    without = {key: value for key, value in document.items() if key not in ("policy_uri", "tos_uri")}
    cleared = put_json(client, uri, without, token)
    assert cleared.status_code == 200, cleared.content
    assert "policy_uri" not in cleared.json() and "tos_uri" not in cleared.json()
    stored = Client.objects.get(client_id=body["client_id"])
    assert (stored.policy_uri, stored.tos_uri) == ("", "")


def test_a_change_is_audited_with_its_old_and_new_values(make_client):
    app, _secret = make_client("Audited app", policy_uri=POLICY)
    services.update_client(app, actor=Actor.system("tests"), policy_uri="", tos_uri=TERMS)
    event = AuditEvent.objects.filter(event_type=EventType.CLIENT_CHANGED).get()
    assert event.detail["changes"] == {"policy_uri": [POLICY, ""], "tos_uri": ["", TERMS]}


def test_an_approved_portal_apps_change_waits_for_an_operator(make_client, django_user_model):
    """End users judge an app by them on the consent page, as by its name and homepage."""
    developer = django_user_model.objects.create_user("dana")
    app, _secret = make_client("Portal app", owner=developer, source=Client.Source.PORTAL, tos_uri=TERMS)
    services.propose_client_changes(app, actor=Actor.developer(developer), tos_uri="https://evil.example/t")
    app.refresh_from_db()
    assert app.tos_uri == TERMS and app.pending_changes == {"tos_uri": "https://evil.example/t"}


@pytest.mark.parametrize("field", ["policy_uri", "tos_uri"])
def test_the_policy_is_the_one_for_client_uri(make_client, field):
    """The same refusals, with the field named (every door reports it next to that field)."""
    for hostile in ("javascript:alert(1)", "http://rp.example.com/", "https://u:p@rp.example.com/"):
        with pytest.raises(policies.PolicyError) as refused:
            make_client("Refused", **{field: hostile})
        assert refused.value.field == field
    assert not Client.objects.filter(name="Refused").exists()


# --- the consent page: oidcc-registration-policy-uri, oidcc-registration-tos-uri ----------------


@pytest.fixture
def signed_in(end_user) -> HttpClient:
    http = HttpClient()
    http.force_login(end_user)
    return http


def assert_shown_as_text(page: str) -> None:
    """Labelled, HTML-escaped, not a link: a click would leave the decision half-made."""
    assert "Privacy policy" in page and "Terms of service" in page
    for uri in (POLICY, TERMS):
        escaped = uri.replace("&", "&amp;")
        assert escaped in page
        assert f'href="{escaped}"' not in page and f'href="{uri}"' not in page
    assert POLICY not in page, "the ampersand is escaped"


def test_oidcc_registration_policy_uri_and_tos_uri_on_the_consent_page(client, iat, signed_in):
    body = post_json(client, "/oauth/register", METADATA, iat).json()
    query = {"response_type": "code", "client_id": body["client_id"], "scope": "openid profile"}
    query.update(redirect_uri=METADATA["redirect_uris"][0], state="s", nonce="n")
    query.update(code_challenge="x" * 43, code_challenge_method="S256")
    page = signed_in.get("/oauth/authorize?" + urlencode(query), secure=True)
    assert page.status_code == 200, page.status_code
    assert_shown_as_text(page.content.decode())


def test_the_device_flows_consent_page_shows_them_too(make_client, signed_in):
    app = make_client("Living-room TV", redirect_uris=[], grant_types=DEVICE_GRANTS, policy_uri=POLICY)
    services.update_client(app[0], actor=Actor.system("tests"), tos_uri=TERMS)
    user_code = start(HttpClient(), app, scope="profile").json()["user_code"]
    page = enter_code(signed_in, user_code)
    assert page.status_code == 200
    assert_shown_as_text(page.content.decode())


def test_a_client_without_them_shows_neither_label(make_client, signed_in):
    app, _secret = make_client("Plain app")
    query = {"response_type": "code", "client_id": app.client_id, "scope": "profile"}
    query.update(redirect_uri=app.redirect_uri_list[0], state="s")
    query.update(code_challenge="x" * 43, code_challenge_method="S256")
    page = signed_in.get("/oauth/authorize?" + urlencode(query), secure=True).content.decode()
    assert "Privacy policy" not in page and "Terms of service" not in page


@pytest.mark.parametrize("field", policies.CLIENT_WEB_URI_FIELDS)
@pytest.mark.parametrize("uri", ["https://rp.example.com/page#section", "https://rp.example.com/page#"])
def test_a_page_url_with_a_fragment_is_refused_alike_at_every_door(client, iat, field, uri):
    # authlib's registration claims refuse a #fragment ("Invalid claim: 'tos_uri'", a message
    # nobody can act on) while the policy let it through the admin, the portal, the import and
    # the API: one rule now, with the policy's message, at every door.
    with pytest.raises(policies.PolicyError, match="fragment"):
        policies.validate_web_uri(uri, field=field)
    answer = post_json(client, "/oauth/register", {**METADATA, field: uri}, iat)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client_metadata"
    assert "fragment" in answer.json()["error_description"]
    assert field in answer.json()["error_description"]
