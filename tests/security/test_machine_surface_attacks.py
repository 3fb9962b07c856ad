"""The machine-facing surface attacked again (docs/security.md, "The machine-facing review"):
each test failed before the fix its docstring names."""

import base64
import re

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import Client, Token
from tests.security.test_rate_limiting import (  # noqa: F401 (throttles: a fixture)
    assert_throttled,
    client_credentials,
    form_post,
    throttles,
)
from tests.server.helpers import basic_auth as basic_auth_header
from tests.server.test_registration import METADATA, make_iat, post_json, put_json  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

# What an RFC 7592 answer carries that the client does not send back (§2.2).
SERVER_OWNED = (
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
)


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_a_flood_claiming_a_client_id_does_not_throttle_the_real_client_where_it_is_known(
    rate_limit_cache, client, confidential, settings, path
):
    """Anyone who knows a client_id (it is public) could keep the client throttled everywhere:
    the per-client request counter (`token_client`, `introspect_client`, `revoke_client`) counts
    every request that claims it, authenticated or not, and refused the real client too. It now
    spares the addresses the client authenticated from, as the secret-guessing lockout does."""
    scope = path.rsplit("/", 1)[1]
    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        f"{scope}_client": "4/60",
        "auth_failures_client_ip": "1000/900",
        "auth_failures_client": "1000/900",
    }
    app, secret = confidential
    data = {"token": "oat_nothing"} if scope != "token" else {"grant_type": "client_credentials"}

    def call(client_secret, ip):
        if scope == "token":
            return client_credentials(client, app.client_id, client_secret, ip=ip)
        return form_post(
            client,
            path,
            {**data, "client_id": app.client_id, "client_secret": client_secret},
            REMOTE_ADDR=ip,
        )

    # The real client, from its own address.
    assert call(secret, "192.0.2.10").status_code == 200
    # An attacker who knows only the client_id, from two addresses of their own.
    for n in range(3):
        assert call("ocs_not-the-secret", f"10.9.0.{n % 2}").status_code == 401
    assert_throttled(call("ocs_not-the-secret", "10.9.0.1"))
    assert_throttled(call(secret, "10.9.0.2"))  # a new address still waits for the window
    # The real client where it authenticated before is not throttled by the flood.
    answer = call(secret, "192.0.2.10")
    assert answer.status_code == 200, answer.content
    if scope == "token":
        assert Token.objects.filter(client=app).count() == 2


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("redirect_uris", ["https://attacker.example/cb"], "redirect_uris"),
        ("client_name", "Totally Google", "name"),
        ("client_uri", "https://attacker.example/", "client_uri"),
        ("post_logout_redirect_uris", ["https://attacker.example/bye"], "post_logout_redirect_uris"),
    ],
)
def test_an_approved_registered_apps_reviewed_fields_wait_for_an_operator_after_a_put(
    client,
    make_iat,  # noqa: F811 (the fixture imported above)
    operator,
    settings,
    field,
    value,
    stored,
):
    """With OAUTH2_DCR_AUTO_APPROVE=0 an operator approves each registered client, as the portal's
    apps. Its RFC 7592 PUT then wrote straight through `services.update_client`: a new name or
    redirect URI went live without the review the portal holds them for (issue 11, item 11).
    It now goes through `services.propose_client_changes`, as the portal's edit does."""
    settings.OAUTH2_DCR_AUTO_APPROVE = False
    _row, iat = make_iat()
    body = post_json(client, "/oauth/register", METADATA, iat).json()
    app = Client.objects.get(client_id=body["client_id"])
    assert app.status == Client.Status.PENDING
    services.set_client_status(app, Client.Status.ACTIVE, actor=Actor.operator(operator))
    approved = getattr(Client.objects.get(pk=app.pk), stored)

    read = client.get(
        body["registration_client_uri"],
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    ).json()
    sent = {k: v for k, v in read.items() if k not in SERVER_OWNED}
    sent.update({field: value, "scope": "profile"})
    answer = put_json(client, body["registration_client_uri"], sent, body["registration_access_token"])

    assert answer.status_code == 200, answer.content
    app.refresh_from_db()
    assert getattr(app, stored) == approved  # what end users judge the app by: unchanged
    assert list(app.pending_changes) == [stored]  # held for an operator
    assert app.scope == "profile"  # the rest applies at once
    assert answer.json().get(field) == read.get(field)  # the answer says what is registered


@pytest.mark.parametrize("separator", ["\t ", "\x0b ", "\x0c ", "\t"])
def test_a_basic_header_the_limiter_cannot_read_authenticates_no_one(
    rate_limit_cache,
    client,
    confidential,
    settings,
    throttles,  # noqa: F811 (the fixture imported above)
    separator,
):
    """authlib's own Basic parser splits the scheme off at any whitespace ("Basic<TAB> ..."),
    ours (the rate limiter's, the audit's, the one-client rule's) at a space (RFC 7235 §2.1):
    such a header authenticated through authlib while the limiter counted no client_id, so secret
    guessing never met the lockout (only the address's request limit, 600 a minute) and the
    audit's failures named no client. One reader now decides
    (`client_auth.authenticate_client_secret_basic`): a header it cannot read authenticates no one."""
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "auth_failures_client_ip": "3/900"}
    app, secret = confidential

    def basic(client_secret, sep=separator):
        value = base64.b64encode(f"{app.client_id}:{client_secret}".encode()).decode()
        return form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION="Basic" + sep + value,
            REMOTE_ADDR="10.9.9.9",
        )

    for guess in ("ocs_guess", secret):
        answer = basic(guess)
        assert answer.status_code == 401, answer.content
        assert answer.json()["error"] == "invalid_client"
    assert not Token.objects.exists()
    # The same guessing in a header every reader reads meets the lockout.
    answers = [basic(f"ocs_guess{n}", " ").status_code for n in range(4)]
    assert answers == [401, 401, 401, 429], answers
    assert [t["limit"] for t in throttles] == ["auth_failures_client_ip"]


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        # One network's /64 is one subscriber's (RFC 6177): 2**64 addresses to rotate through.
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", True),
        ("2001:db8:1:2::1", "2001:DB8:1:2:0:0:0:2", True),
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        # An IPv4 address written as IPv6 is that IPv4 address.
        ("::ffff:198.51.100.7", "198.51.100.7", True),
        ("198.51.100.7", "198.51.100.8", False),
    ],
)
def test_an_ipv6_network_is_counted_as_one_address(
    rate_limit_cache, client, confidential, settings, first, second, shared
):
    """The per-address limits (`token_ip`, secret guessing at one address, sign-in, sign-up,
    open registration, user codes) counted each IPv6 address on its own: anyone given a /64 (a
    home line, a cloud VM) chose a fresh address, so a fresh counter, for every request. An IPv6
    address is now counted by its /64 (`ratelimit.identity.client_ip`), an IPv4-mapped one as
    its IPv4 address."""
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "token_ip": "1/60"}
    app, secret = confidential
    assert client_credentials(client, app.client_id, secret, ip=first).status_code == 200
    answer = client_credentials(client, app.client_id, secret, ip=second)
    if shared:
        assert_throttled(answer)
    else:
        assert answer.status_code == 200, answer.content


def test_failures_claiming_a_public_client_do_not_lock_it_out(
    rate_limit_cache, client, make_client, settings
):
    """A public client holds no secret or key to guess, but a failed authentication claiming its
    client_id (a made-up client_secret or client_assertion) counted towards the secret-guessing
    lockout: from a few addresses, anyone who read the client_id off an authorization URL locked
    the app out at every address it had not redeemed a code from (every new user). A failure
    claiming a public client is no guess now (`client_authentication_failed`'s `public`), and
    is not counted; it is still refused and audited."""
    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        "auth_failures_client_ip": "1000/900",
        "auth_failures_client": "3/900",
    }
    app, _none = make_client("Native app", client_type=Client.Type.PUBLIC)
    for n in range(5):
        answer = form_post(
            client,
            "/oauth/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": "ort_x",
                "client_id": app.client_id,
                "client_secret": "made-up",
            },
            REMOTE_ADDR=f"10.7.0.{n}",
        )
        assert answer.status_code == 401, answer.content
    # A new user's device, at a new address: authenticated (none), then the grant's own answer.
    answer = form_post(
        client,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": "ort_x", "client_id": app.client_id},
        REMOTE_ADDR="192.0.2.77",
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "invalid_grant"


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's forms, as a browser would post them back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def test_an_operator_approves_only_the_held_changes_the_review_page_showed(
    make_client, operator, django_user_model
):
    """The review page approved whatever was held when Approve was pressed, not what it showed:
    a developer who swapped the proposal meanwhile (its portal edit or RFC 7592 PUT, scriptable:
    toggled every second, half the operators who approve the harmless one approve the other) got
    a change approved that no operator saw. The page now posts back the proposal it showed
    (`services.proposal_fingerprint`) and `approve_client_changes` refuses another one."""
    owner = django_user_model.objects.create_user("devon", "devon@example.com", "pw-123456-x")
    app, _secret = make_client("Photo Printer", owner=owner)
    developer = Actor.developer(owner)
    services.propose_client_changes(app, actor=developer, name="Photo Printer Pro")
    http = HttpClient()
    http.force_login(operator)
    url = f"/admin/server/client/{app.pk}/held-changes/"
    page = http.get(url).content.decode()
    assert "Photo Printer Pro" in page

    app.refresh_from_db()
    services.propose_client_changes(
        app, actor=developer, name="Photo Printer Pro", redirect_uris=["https://attacker.example/cb"]
    )
    answer = http.post(url, {**hidden_fields(page), "decision": "approve"})

    assert answer.status_code == 409, answer.content[:300]
    assert "review them again" in answer.content.decode()
    assert "https://attacker.example/cb" in answer.content.decode()  # the page shows what is held now
    app.refresh_from_db()
    assert (app.name, app.redirect_uri_list) == ("Photo Printer", ["https://app.example.com/callback"])
    # Approving what the page now shows works.
    again = http.post(url, {**hidden_fields(answer.content.decode()), "decision": "approve"})
    assert again.status_code == 302
    app.refresh_from_db()
    assert app.redirect_uri_list == ["https://attacker.example/cb"] and app.pending_changes == {}


@pytest.mark.parametrize(
    ("first", "second", "counted", "audited"),
    [
        ("203.0.113.9:50001", "203.0.113.9:50002", "203.0.113.9", "203.0.113.9"),
        ("[2001:db8:1:2::1]:4711", "[2001:db8:1:2::1]:4712", "2001:db8:1:2::/64", "2001:db8:1:2::1"),
    ],
)
def test_a_proxy_that_writes_the_port_counts_and_audits_the_address(
    rate_limit_cache,
    client,
    confidential,
    settings,
    throttles,  # noqa: F811 (the fixture imported above)
    first,
    second,
    counted,
    audited,
):
    """Some proxies (Azure Application Gateway among them) append `address:port` to
    X-Forwarded-For. The limiter counted that text as the address, a fresh counter for every
    source port (each connection escaped the per-address limits), and the audit log, reading the
    same header with its own parser, recorded no address at all. One reader now gives both the
    address without its port (`ratelimit.identity.forwarded_address`)."""
    settings.OAUTH2_RATE_LIMIT_PROXY_COUNT = 1
    settings.AUDIT_PROXY_COUNT = 1
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "token_ip": "1/60"}
    app, secret = confidential
    auth = {"HTTP_AUTHORIZATION": basic_auth_header(app.client_id, secret), "REMOTE_ADDR": "10.0.0.2"}
    data = {"grant_type": "client_credentials"}
    answer = form_post(client, "/oauth/token", data, HTTP_X_FORWARDED_FOR=f"spoofed, {first}", **auth)
    assert answer.status_code == 200, answer.content
    event = AuditEvent.objects.filter(event_type="token_issued").get()
    assert event.ip_address == audited
    assert_throttled(
        form_post(client, "/oauth/token", data, HTTP_X_FORWARDED_FOR=f"spoofed, {second}", **auth)
    )
    assert throttles[-1]["ip"] == counted
