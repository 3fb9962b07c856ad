"""Who may write on the new surface (the December attack review, docs/security.md): a read-only
operator and a security analyst are staff, may sign in to the console and read, and must not
change webhooks, signing keys or APIs, through the console's pages or the operator API with
their session. Every attempt is refused, and nothing is written: no row, no audit event."""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.urls import reverse

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks import services as webhooks
from oauth_console.webhooks.models import Delivery, Subscription, SubscriptionSecret
from server import services
from server.actors import Actor
from server.models import Api, SigningKey

pytestmark = pytest.mark.django_db

ROLES = ["read-only operators", "security"]


@pytest.fixture
def world(django_user_model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscription, _ = webhooks.create_subscription(
            name="SIEM",
            url="https://hooks.example.com/in",
            event_types=["client_created"],
            actor=Actor.system("t"),
        )
        delivery = webhooks.send_test_event(subscription, actor=Actor.system("t"))
        api = services.create_api(
            actor=Actor.system("t"),
            identifier="https://orders.example.com/",
            name="Orders",
            allow_any_client=True,
        )
        key = services.create_signing_key(actor=Actor.system("t"))
    return {"subscription": subscription, "delivery": delivery, "api": api, "key": key}


def _state() -> tuple:
    return (
        list(Subscription.objects.values_list("pk", "name", "url", "is_active")),
        SubscriptionSecret.objects.count(),
        Delivery.objects.count(),
        list(Api.objects.values_list("pk", "name", "identifier", "allow_any_client")),
        list(SigningKey.objects.values_list("pk", "state")),
        AuditEvent.objects.count(),
    )


def _console_writes(w) -> list[tuple[str, dict]]:
    sub, delivery, api, key = w["subscription"].pk, w["delivery"].pk, w["api"].pk, w["key"].pk
    confirm = {"confirm": "yes"}
    return [
        (
            reverse("admin:webhooks_subscription_add"),
            {"name": "x", "url": "https://h.example.com/", "event_types": ["client_created"]},
        ),
        (
            reverse("admin:webhooks_subscription_edit", args=[sub]),
            {"name": "y", "url": "https://h.example.com/", "event_types": ["client_created"]},
        ),
        (reverse("admin:webhooks_subscription_rotate", args=[sub]), confirm),
        (reverse("admin:webhooks_subscription_test", args=[sub]), confirm),
        (reverse("admin:webhooks_subscription_delete", args=[sub]), confirm),
        (reverse("admin:webhooks_subscription_replay", args=[sub, delivery]), confirm),
        (reverse("admin:server_signingkey_rotate"), {"confirm": "yes", "algs": ["RS256"]}),
        (reverse("admin:server_signingkey_revoke", args=[key]), {"confirm": "yes", "reason": "x"}),
        (
            reverse("admin:server_api_add"),
            {
                "identifier": "https://x.example.com/",
                "name": "X",
                "scopes_text": "x:y",
                "token_format": "opaque",
            },
        ),
        (
            reverse("admin:server_api_change", args=[api]),
            {
                "identifier": "https://orders.example.com/",
                "name": "Renamed",
                "scopes_text": "",
                "token_format": "opaque",
            },
        ),
        (reverse("admin:server_api_delete", args=[api]), {"post": "yes"}),
        (
            reverse("admin:server_api_changelist"),
            {"action": "delete_selected", "_selected_action": [api], "post": "yes"},
        ),
    ]


def _api_writes(w) -> list[tuple[str, str, dict]]:
    sub, key = w["subscription"].pk, w["key"]
    return [
        (
            "post",
            "/api/v1/webhooks",
            {"name": "x", "url": "https://h.example.com/", "event_types": ["client_created"]},
        ),
        ("patch", f"/api/v1/webhooks/{sub}", {"name": "renamed"}),
        ("delete", f"/api/v1/webhooks/{sub}", {}),
        ("post", f"/api/v1/webhooks/{sub}/test", {}),
        ("post", "/api/v1/signing-keys/rotate", {}),
        ("post", f"/api/v1/signing-keys/{key.kid}/revoke", {"reason": "x"}),
        ("post", "/api/v1/clients", {"name": "Bot", "grant_types": ["client_credentials"]}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_read_only_roles_cannot_write_on_the_new_surface(role, world, django_user_model):
    user = django_user_model.objects.create_user(f"u-{role[:4]}", password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    http = HttpClient()
    http.force_login(user)
    before = _state()
    for path, data in _console_writes(world):
        response = http.post(path, data)
        # An action the role may not run is not offered: the changelist answers "no action
        # selected" (302); _state() below proves nothing was done.
        allowed = (302, 403) if "action" in data else (403,)
        assert response.status_code in allowed, (role, path, response.status_code)
    for method, path, body in _api_writes(world):
        response = getattr(http, method)(path, json.dumps(body), content_type="application/json")
        assert response.status_code in (401, 403), (role, path, response.status_code)
    assert _state() == before


def test_an_operators_session_cannot_be_ridden_cross_site_into_the_operator_api(operator, world):
    """A signed-in operator's browser, a forged POST without the CSRF token: refused, nothing
    written (DRF's session authentication runs Django's CSRF check)."""
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(operator)
    before = _state()
    for method, path, body in _api_writes(world):
        response = getattr(browser, method)(path, json.dumps(body), content_type="application/json")
        assert response.status_code == 403, (path, response.status_code)
    for path, data in _console_writes(world):
        assert browser.post(path, data).status_code == 403, path
    assert _state() == before


# --- Finding 6: operator scopes gained by taking over a client that holds them -----------------

ADMIN_FORM = {
    "client_type": "confidential",
    "grant_types": ["client_credentials"],
    "redirect_uris": "",
    "contacts": "",
    "owner": "",
    "token_endpoint_auth_method": "",
}


def _siem_client():
    """The machine client a superuser made for the SIEM: it may read the audit log."""
    from tests.console.api.conftest import machine_client

    return machine_client(["console:audit:read"], name="SIEM")


def test_an_api_caller_cannot_take_over_a_client_holding_scopes_it_lacks():
    """A caller holding console:clients:write (and not console:audit:read) must not get the SIEM
    client's credentials (a new secret, or keys it chose) and read the audit log through it."""
    from server.models import Client
    from tests.console.api.conftest import api_with

    siem, _ = _siem_client()
    api = api_with(["console:clients:write"])
    rotate = api.post(f"/api/v1/clients/{siem.client_id}/secrets/rotate", {})
    assert rotate.status_code in (400, 403), rotate.content
    assert "client_secret" not in rotate.content.decode() or rotate.json().get("client_secret") is None
    takeover = api.patch(
        f"/api/v1/clients/{siem.client_id}",
        {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://keys.example.com/jwks"},
    )
    assert takeover.status_code in (400, 403), takeover.content
    assert Client.objects.get(pk=siem.pk).token_endpoint_auth_method != "private_key_jwt"


def test_a_caller_holding_every_scope_of_the_client_may_still_rotate_its_secret():
    from tests.console.api.conftest import api_with

    siem, _ = _siem_client()
    api = api_with(["console:clients:write", "console:audit:read"])
    assert api.post(f"/api/v1/clients/{siem.client_id}/secrets/rotate", {}).status_code == 201


def test_an_operator_without_the_audit_permission_cannot_mint_an_audit_reader_in_the_admin(django_user_model):
    """The "operators" group has every server permission but not the audit log's: the client form
    must not let its members grant console:audit:read (nor take over a client holding it)."""
    from server.models import Client

    user = django_user_model.objects.create_user("ops", password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name="operators"))
    browser = HttpClient()
    browser.force_login(user)
    assert browser.get("/admin/audit/auditevent/").status_code == 403
    response = browser.post(
        "/admin/server/client/add/", {**ADMIN_FORM, "name": "Sneaky", "scope": ["console:audit:read"]}
    )
    assert response.status_code == 400  # the form again, with the error
    assert not Client.objects.filter(name="Sneaky").exists()

    siem, _ = _siem_client()
    rotate_url = reverse("admin:server_client_rotate_secret", args=[siem.pk])
    assert browser.post(rotate_url, {"grace": "immediately"}).status_code == 403
    change = browser.post(
        reverse("admin:server_client_change", args=[siem.pk]),
        {
            **ADMIN_FORM,
            "name": "SIEM",
            "scope": ["console:audit:read"],
            "jwks_uri": "https://keys.example.com/j",
        },
    )
    assert change.status_code in (200, 400), change.status_code  # the form again, with the error
    assert Client.objects.get(pk=siem.pk).jwks_uri == ""

    # A superuser (who holds every operator scope) may still do both.
    root = django_user_model.objects.create_superuser("root2", "r@example.com", "pw-123456789")
    browser.force_login(root)
    assert browser.post(rotate_url, {"grace": "immediately"}).status_code == 302


def test_a_developer_whose_app_an_operator_gave_operator_scopes_gets_a_clear_refusal(django_user_model):
    """The rule holds in the portal too (a developer holds no operator scope): a 400 saying why,
    never a 500, and no new secret."""
    from server.models import ClientSecret

    developer = django_user_model.objects.create_user("dev", password="pw-123456789")
    app, _ = services.create_client(
        name="Dev bot",
        actor=Actor.system("t"),
        owner=developer,
        grant_types=["client_credentials"],
        scope=["console:clients:read"],
        operator_scopes_allowed=["console:clients:read"],
    )
    browser = HttpClient()
    browser.force_login(developer)
    before = ClientSecret.objects.filter(client=app).count()
    response = browser.post(f"/developers/apps/{app.client_id}/rotate-secret/", {"grace": "immediately"})
    assert response.status_code == 400, response.status_code
    assert "only an operator holding them" in response.content.decode()
    assert ClientSecret.objects.filter(client=app).count() == before
