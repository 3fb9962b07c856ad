"""Every service write sends its event (issue 12, item 3).

The public functions of `server.services` are found by introspection, so a new one fails here
until it is listed below with its event, or with the reason it sends none of its own:

- SENDS: the service owns the fact and announces it: one event of its kind, only after the
  transaction committed, carrying the actor and the time.
- ANNOUNCED_BY_PROTOCOL: a step of a protocol request whose endpoint or grant owns the fact and
  sends the protocol event (`server.events`); the service itself must send nothing (a second
  event for one fact is what issue 12 removed). The flow test drives each step over HTTP and
  checks that its protocol event is sent exactly once.
- NO_EVENT: reads, and bookkeeping that is itself a listener's write.
"""

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from server import events, services
from server import signals as server_signals
from server.actors import Actor
from server.models import AuthorizationCode, Client, DeviceAuthorization, InitialAccessToken, Token
from server.oauth2.device import DEVICE_CODE_GRANT_TYPE
from tests.server.helpers import basic_auth, exchange_code, form, get_code

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("tests")
SERVICE_EVENTS = {
    name for name, signal in events.CATALOGUE.items() if signal in vars(server_signals).values()
}


def public_service_functions() -> dict[str, Callable]:
    """Every public function defined in a public module of the `server.services` package."""
    found = {}
    for module_info in pkgutil.iter_modules(services.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"server.services.{module_info.name}")
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                found[name] = value
    return found


# --- the recipes: preconditions first, then the write itself as a callable ----------------------


def _token(w, *, n=0, parent=None, refresh=True, user=None) -> Token:
    pair = {"access_token": f"oat_{w.client.pk}_{n}", "expires_in": 3600}
    if refresh:
        pair["refresh_token"] = f"ort_{w.client.pk}_{n}"
    return services.store_token(
        pair,
        client=w.client,
        user=user,
        grant_type="refresh_token" if parent else "authorization_code",
        parent=parent,
    )


def _code(w, code="oac_recipe") -> AuthorizationCode:
    return services.store_authorization_code(
        code=code,
        client=w.client,
        user=w.user,
        redirect_uri="https://app.example.com/callback",
        scope="profile",
    )


def _device(w, n=0) -> DeviceAuthorization:
    return services.start_device_authorization(
        client=w.client,
        scope="profile",
        device_code=f"odc_recipe_{n}",
        user_code=f"BCDFGHJ{'KLMNP'[n]}",
        expires_in=600,
        interval=5,
    )


def _held(w) -> Client:
    return services.propose_client_changes(w.client, actor=w.developer, name="Renamed app")


def _iat(w) -> InitialAccessToken:
    return services.create_initial_access_token(actor=OPERATOR, max_registrations=2)[0]


# name: (event, the payload it must carry besides actor and at, recipe(w) -> the write)
SENDS: dict[str, tuple[str, dict, Callable]] = {}
# name: (protocol event, why the service sends none, recipe(w) -> the write called directly)
ANNOUNCED_BY_PROTOCOL: dict[str, tuple[str, str, Callable]] = {}


def sends(event: str, **payload):
    """Register a recipe for the service function of the same name, which sends `event`."""

    def register(recipe):
        SENDS[recipe.__name__] = (event, payload, recipe)
        return recipe

    return register


def announced_by(event: str, reason: str):
    """Register a recipe for a protocol step whose request sends `event`."""

    def register(recipe):
        ANNOUNCED_BY_PROTOCOL[recipe.__name__] = (event, reason, recipe)
        return recipe

    return register


@sends("client_created")
def create_client(w):
    return lambda: services.create_client(name="New", actor=OPERATOR, grant_types=["client_credentials"])


@sends("client_changed", changes={"description": ["", "Now described"]})
def update_client(w):
    return lambda: services.update_client(w.client, actor=OPERATOR, description="Now described")


@sends("client_status_changed", old_status="active", new_status="disabled", reason="abuse")
def set_client_status(w):
    return lambda: services.set_client_status(w.client, "disabled", actor=OPERATOR, reason="abuse")


@sends("client_deleted", tokens_revoked=1)
def delete_client(w):
    _token(w)
    return lambda: services.delete_client(w.client, actor=OPERATOR)


@sends("client_changed", review="held", changes={"name": ["Test app", "Renamed app"]})
def propose_client_changes(w):
    return lambda: services.propose_client_changes(w.client, actor=w.developer, name="Renamed app")


@sends("client_changed", review="approved", changes={"name": ["Test app", "Renamed app"]})
def approve_client_changes(w):
    _held(w)
    return lambda: services.approve_client_changes(w.client, actor=OPERATOR)


@sends("client_changed", review="rejected", changes={"name": ["Renamed app", "Test app"]})
def reject_client_changes(w):
    _held(w)
    return lambda: services.reject_client_changes(w.client, actor=OPERATOR)


@sends("client_secret_rotated")
def rotate_client_secret(w):
    return lambda: services.rotate_client_secret(w.client, actor=OPERATOR)


@sends("client_secret_expired")
def expire_client_secret(w):
    return lambda: services.expire_client_secret(w.client.secrets.get(), actor=OPERATOR)


@sends("tokens_revoked", count=2, reason="bulk")
def revoke_tokens(w):
    _token(w, n=1)
    _token(w, n=2)
    return lambda: services.revoke_tokens(Token.objects.all(), actor=OPERATOR, reason="bulk")


@sends("tokens_revoked", count=2, reason="refresh token reused")
def revoke_token_family(w):
    child = _token(w, n=2, parent=_token(w, n=1))
    return lambda: services.revoke_token_family(child)


@sends("tokens_revoked", count=1, reason="authorization code replayed")
def revoke_tokens_from_code(w):
    code = _code(w)
    Token.objects.filter(pk=_token(w).pk).update(authorization_code=code)
    return lambda: services.revoke_tokens_from_code(code)


@sends("expired_tokens_cleared", tokens_deleted=1)
def clear_expired_tokens(w):
    token = _token(w, refresh=False)
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    return lambda: services.clear_expired_tokens(actor=OPERATOR)


@sends("authorization_codes_expired", count=2, reason="incident")
def expire_unredeemed_codes(w):
    _code(w, "oac_1")
    _code(w, "oac_2")
    codes = AuthorizationCode.objects.filter(client=w.client)
    return lambda: services.expire_unredeemed_codes(codes, actor=OPERATOR, reason="incident")


@sends("consent_revoked", tokens_revoked=1, codes_expired=1)
def revoke_consent(w):
    services.record_consent(user=w.user, client=w.client, scope="profile")
    _token(w, user=w.user)
    _code(w)
    return lambda: services.revoke_consent(user=w.user, client=w.client, actor=Actor.user(w.user))


@sends("initial_access_token_created")
def create_initial_access_token(w):
    return lambda: services.create_initial_access_token(actor=OPERATOR)


@sends("initial_access_token_revoked", count=1)
def revoke_initial_access_tokens(w):
    _iat(w)
    return lambda: services.revoke_initial_access_tokens(InitialAccessToken.objects.all(), actor=OPERATOR)


@sends("client_created")
def register_dynamic_client(w):
    iat = _iat(w)
    return lambda: services.register_dynamic_client(
        initial_access_token=iat,
        actor=Actor.system("registration"),
        name="Registered",
        redirect_uris=["https://registered.example.com/cb"],
    )


@sends("registration_access_token_issued", replaced=False)
def issue_registration_access_token(w):
    return lambda: services.issue_registration_access_token(w.client, actor=OPERATOR)


@sends("user_access_revoked", reason="deactivated", tokens_revoked=1, codes_voided=1)
def revoke_user_access(w):
    _token(w, user=w.user)
    _code(w)
    return lambda: services.revoke_user_access(w.user, actor=OPERATOR, reason="deactivated")


@sends("developer_signed_up")
def sign_up_developer(w):
    return lambda: services.sign_up_developer(
        username="newdev", email="newdev@example.com", password="a-long-password-1"
    )


@announced_by(
    "consent_granted",
    "the code is the authorization response; the authorize endpoint announces the consent it carries",
)
def store_authorization_code(w):
    return lambda: _code(w)


@announced_by("consent_granted", "remembered inside the request the authorize endpoint announces")
def record_consent(w):
    return lambda: services.record_consent(user=w.user, client=w.client, scope="profile")


@announced_by(
    "token_issued",
    "claiming the code is a step of the token response; a lost race is authorization_code_replayed",
)
def redeem_authorization_code(w):
    code = _code(w)
    return lambda: services.redeem_authorization_code(code)


@announced_by(
    "token_issued", "the token endpoint announces the token it issued (and the client's authentication)"
)
def store_token(w):
    return lambda: _token(w)


@announced_by("token_issued", "a step of the refresh response; a reuse is refresh_token_reused")
def rotate_refresh_token(w):
    token = _token(w)
    return lambda: services.rotate_refresh_token(token)


@announced_by("token_revoked", "the RFC 7009 endpoint sends the spec's token_revoked with this token")
def revoke_single_token(w):
    token = _token(w)
    return lambda: services.revoke_single_token(token, actor=OPERATOR, reason="revoked by the client")


@announced_by(
    "token_revoked", "the RFC 7009 endpoint sends the spec's token_revoked, with the family's count"
)
def revoke_refresh_token_family(w):
    token = _token(w)
    return lambda: services.revoke_refresh_token_family(token, actor=OPERATOR, reason="revoked by the client")


@sends("signing_key_created")
def create_signing_key(w):
    return lambda: services.create_signing_key(alg="ES256", actor=OPERATOR)


@sends("signing_key_activated")
def activate_signing_key(w):
    key = services.create_signing_key(alg="RS256", actor=OPERATOR)
    return lambda: services.activate_signing_key(key, actor=OPERATOR)


@sends("signing_key_retired")
def retire_signing_key(w):
    key = services.activate_signing_key(services.create_signing_key(actor=OPERATOR), actor=OPERATOR)
    return lambda: services.retire_signing_key(key, actor=OPERATOR)


@sends("signing_key_revoked", previous_state="next", reason="leaked")
def revoke_signing_key(w):
    key = services.create_signing_key(actor=OPERATOR)
    return lambda: services.revoke_signing_key(key, actor=OPERATOR, reason="leaked")


@sends("device_authorization_requested", scope="profile")
def start_device_authorization(w):
    return lambda: _device(w)


@sends("device_authorization_approved", scope="profile")
def approve_device_authorization(w):
    device = _device(w)
    return lambda: services.approve_device_authorization(device, user=w.user)


@sends("device_authorization_denied", scope="profile")
def deny_device_authorization(w):
    device = _device(w)
    return lambda: services.deny_device_authorization(device, user=w.user)


@sends("device_authorizations_revoked", count=2, reason="incident")
def revoke_device_authorizations(w):
    _device(w, 1)
    _device(w, 2)
    devices = DeviceAuthorization.objects.all()
    return lambda: services.revoke_device_authorizations(devices, actor=OPERATOR, reason="incident")


@announced_by("token_issued", "claiming the device code is a step of the token response")
def redeem_device_authorization(w):
    device = _device(w)
    services.approve_device_authorization(device, user=w.user)
    return lambda: services.redeem_device_authorization(device)


@sends("user_logged_out", sid="sid-recipe", notified=[], initiated_by="")
def end_browser_session(w):
    services.store_authorization_code(
        code="oac_logout", client=w.client, user=w.user, redirect_uri="", scope="openid", sid="sid-recipe"
    )
    return lambda: services.end_browser_session(
        sid="sid-recipe", user=w.user, actor=Actor.user(w.user), issuer="https://op.example.com"
    )


@sends("backchannel_logout_failed", sid="sid-recipe", attempts=5)
def give_up_backchannel_logout(w):
    from server.models import BackchannelDelivery, ClientSession

    session = ClientSession.objects.create(sid="sid-recipe", client=w.client, user=w.user)
    delivery = BackchannelDelivery.objects.create(
        session=session, issuer="https://op.example.com", attempts=5
    )
    return lambda: services.give_up_backchannel_logout(delivery, error="The client answered 503.")


@sends("api_created")
def create_api(w):
    return lambda: services.create_api(
        actor=OPERATOR,
        identifier="https://orders.example.com/",
        name="Orders",
        scopes={"orders:read": "Read"},
    )


@sends("api_changed", changes={"name": ["Orders", "Orders v2"]})
def change_api(w):
    api = services.create_api(actor=OPERATOR, identifier="https://orders.example.com/", name="Orders")
    return lambda: services.change_api(api, actor=OPERATOR, name="Orders v2")


@sends("api_deleted", identifier="https://orders.example.com/", tokens_revoked=1)
def delete_api(w):
    api = services.create_api(
        actor=OPERATOR,
        identifier="https://orders.example.com/",
        name="Orders",
        allowed_clients=[w.client.client_id],
    )
    pair = {"access_token": "oat_for_orders", "expires_in": 3600}
    services.store_token(
        pair, client=w.client, user=None, grant_type="client_credentials", audience=[api.identifier]
    )
    _token(w)  # for the default API: not revoked
    return lambda: services.delete_api(api, actor=OPERATOR)


NO_EVENT: dict[str, str] = {
    "enqueue_deliveries": "a step of end_browser_session, whose user_logged_out names the clients notified",
    "resume_backchannel_logouts": "queues again the tasks of deliveries already written (a worker died);"
    " the delivery's own outcome is announced when it is given up",
    "record_device_poll": "bookkeeping of a device's poll (its pace), like touch_token; a poll that"
    " gets a token is announced by token_issued",
    "changed_settings": "a read: validates proposed settings and returns the difference, writes nothing",
    "proposal_fingerprint": "a read: the digest of held changes a review page shows, writes nothing",
    "settings_fingerprint": "a read: the digest of the settings an approval page shows, writes nothing",
    "fingerprint": "a read: the digest behind proposal_ and settings_fingerprint, writes nothing",
    "touch_token": "bookkeeping of token_authenticated, written by that event's own listener (audit)",
    "rotate_signing_keys": "composes create_ and activate_signing_key, one event per step it reports"
    " (test_rotation_sends_one_event_per_step)",
    "rotate_signing_keys_if_due": "composes rotate_signing_keys and create_signing_key, one event per step"
    " (tests/oidc/test_rotation_by_age.py)",
    "signing_key_for": "a read, except on first need, when it composes create_ and activate_signing_key",
    "private_key_of": "a read: decrypts the key that signs",
}


# --- the catcher ----------------------------------------------------------------------------------


@contextmanager
def catching():
    """Every event of the catalogue sent inside the block, as (name, kwargs), in order."""
    sent = []
    for name, signal in events.CATALOGUE.items():
        signal.connect(
            lambda sender, _name=name, **kwargs: sent.append((_name, kwargs)),
            weak=False,
            dispatch_uid=f"test.every_write.{name}",
        )
    try:
        yield sent
    finally:
        for name, signal in events.CATALOGUE.items():
            signal.disconnect(dispatch_uid=f"test.every_write.{name}")


@pytest.fixture
def w(make_client, end_user, django_user_model):
    developer = django_user_model.objects.create_user("dev", "dev@example.com", "dev-password-123")
    client, secret = make_client(owner=developer)
    return SimpleNamespace(client=client, secret=secret, user=end_user, developer=Actor.developer(developer))


# --- the tests ------------------------------------------------------------------------------------


def test_every_public_service_function_is_listed_once():
    found = set(public_service_functions())
    listed = [*SENDS, *ANNOUNCED_BY_PROTOCOL, *NO_EVENT]
    assert len(listed) == len(set(listed)), "listed twice"
    assert sorted(found - set(listed)) == [], "unlisted: send an event, or say why not"
    assert sorted(set(listed) - found) == [], "listed but gone"
    assert all(reason.strip() for reason in NO_EVENT.values())
    for event, reason, _recipe in ANNOUNCED_BY_PROTOCOL.values():
        assert event in events.CATALOGUE and event not in SERVICE_EVENTS and reason.strip()


@pytest.mark.parametrize("name", sorted(SENDS))
def test_each_write_sends_one_event_of_its_kind_after_commit(name, w, django_capture_on_commit_callbacks):
    event, payload, recipe = SENDS[name]
    assert event in SERVICE_EVENTS
    write = recipe(w)
    with catching() as sent:
        with django_capture_on_commit_callbacks() as callbacks:
            write()
        assert sent == [], "sent before the transaction committed"
        for callback in callbacks:
            callback()
    assert [kind for kind, _ in sent] == [event]
    kwargs = sent[0][1]
    assert isinstance(kwargs["actor"], Actor) and kwargs["at"] is not None
    assert {key: kwargs.get(key) for key in payload} == payload


@pytest.mark.parametrize("name", sorted(ANNOUNCED_BY_PROTOCOL))
def test_a_protocol_step_sends_no_event_of_its_own(name, w, django_capture_on_commit_callbacks):
    _event, _reason, recipe = ANNOUNCED_BY_PROTOCOL[name]
    write = recipe(w)
    with catching() as sent, django_capture_on_commit_callbacks(execute=True):
        write()
    assert sent == []


def test_each_protocol_step_is_announced_once_by_its_endpoint(
    w, monkeypatch, django_capture_on_commit_callbacks
):
    """An authorization-code flow, a refresh, an RFC 7009 revocation of each kind: every
    protocol step runs inside a request that sends its protocol event exactly once, and no
    service event besides."""
    called: set[str] = set()
    for name in ANNOUNCED_BY_PROTOCOL:
        original = getattr(services, name)
        monkeypatch.setattr(
            services, name, lambda *a, _f=original, _n=name, **k: called.add(_n) or _f(*a, **k)
        )
    browser = HttpClient()
    browser.force_login(w.user)
    auth = {"HTTP_AUTHORIZATION": basic_auth(w.client.client_id, w.secret)}
    state = {}

    def authorize():
        state["code"], state["verifier"] = get_code(browser, w.client.client_id)

    def exchange():
        response = exchange_code(browser, w.client.client_id, w.secret, state["code"], state["verifier"])
        state["tokens"] = response.json()

    def refresh():
        data = {"grant_type": "refresh_token", "refresh_token": state["tokens"]["refresh_token"]}
        state["tokens"] = form(browser, "/oauth/token", data, **auth).json()

    def revoke_refresh():
        data = {"token": state["tokens"]["refresh_token"], "token_type_hint": "refresh_token"}
        assert form(browser, "/oauth/revoke", data, **auth).status_code == 200

    def client_credentials():
        data = {"grant_type": "client_credentials", "scope": "read"}
        state["access"] = form(browser, "/oauth/token", data, **auth).json()["access_token"]

    def revoke_access():
        assert form(browser, "/oauth/revoke", {"token": state["access"]}, **auth).status_code == 200

    # A device approved before the steps (its request and approval are service events); the
    # step is the poll that collects its token.
    services.update_client(
        w.client, actor=OPERATOR, grant_types=[*w.client.grant_type_list, DEVICE_CODE_GRANT_TYPE]
    )
    device_data = auth
    device_code = form(browser, "/oauth/device_authorization", {}, **device_data).json()["device_code"]
    # By someone else: w.user's consent page must still be shown by the authorize step.
    viewer = type(w.user).objects.create_user("tv-viewer", password="tv-viewer-password-1")
    services.approve_device_authorization(DeviceAuthorization.objects.get(), user=viewer)

    def device_token():
        data = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code}
        assert form(browser, "/oauth/token", data, **auth).status_code == 200

    steps = [
        (device_token, "token_issued"),
        (authorize, "consent_granted"),
        (exchange, "token_issued"),
        (refresh, "token_issued"),
        (revoke_refresh, "token_revoked"),
        (client_credentials, "token_issued"),
        (revoke_access, "token_revoked"),
    ]
    for step, event in steps:
        called.clear()
        with catching() as sent, django_capture_on_commit_callbacks(execute=True):
            step()
        kinds = [kind for kind, _ in sent]
        assert kinds.count(event) == 1, (step.__name__, kinds)
        assert not SERVICE_EVENTS & set(kinds), (step.__name__, kinds)
        for name in called:
            assert ANNOUNCED_BY_PROTOCOL[name][0] == event, (step.__name__, name)
        state.setdefault("covered", set()).update(called)
    assert state["covered"] == set(ANNOUNCED_BY_PROTOCOL)


def test_approving_held_changes_that_changed_nothing_is_still_announced(
    w, django_capture_on_commit_callbacks
):
    """An operator set the held value meanwhile: the approval applies nothing, but the proposal
    it settles leaves the client, and the audit log says so."""
    _held(w)
    services.update_client(w.client, actor=OPERATOR, name="Renamed app")
    with catching() as sent, django_capture_on_commit_callbacks(execute=True):
        services.approve_client_changes(w.client, actor=OPERATOR)
    assert [(kind, kwargs["review"], kwargs["changes"]) for kind, kwargs in sent] == [
        ("client_changed", "approved", {})
    ]
    w.client.refresh_from_db()
    assert w.client.pending_changes == {}


def test_rotation_sends_one_event_per_step(django_capture_on_commit_callbacks):
    """A composite write announces each of its facts once: the key it activates, the one it makes."""
    with catching() as sent, django_capture_on_commit_callbacks(execute=True):
        services.rotate_signing_keys(actor=OPERATOR, algs=["RS256"])
    assert [kind for kind, _ in sent] == ["signing_key_created"]
    with catching() as sent, django_capture_on_commit_callbacks(execute=True):
        steps = services.rotate_signing_keys(actor=OPERATOR, algs=["RS256"], force=True)
    assert [step.action for step in steps] == ["activated", "created"]
    assert [kind for kind, _ in sent] == ["signing_key_activated", "signing_key_created"]
