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
from server.models import AuthorizationCode, Client, InitialAccessToken, Token
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
        module = __import__(f"server.services.{module_info.name}", fromlist=["_"])
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


def _held(w) -> Client:
    return services.propose_client_changes(w.client, actor=w.developer, name="Renamed app")


def _iat(w) -> InitialAccessToken:
    return services.create_initial_access_token(actor=OPERATOR, max_registrations=2)[0]


def _expired(w):
    token = _token(w, refresh=False)
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))


SENDS: dict[str, tuple[str, Callable, dict]] = {
    # name: (event, recipe(w) -> write, payload the event must carry besides actor and at)
    "create_client": (
        "client_created",
        lambda w: (
            lambda: services.create_client(name="New", actor=OPERATOR, grant_types=["client_credentials"])
        ),
        {},
    ),
    "update_client": (
        "client_changed",
        lambda w: lambda: services.update_client(w.client, actor=OPERATOR, description="Now described"),
        {"changes": {"description": ["", "Now described"]}},
    ),
    "set_client_status": (
        "client_status_changed",
        lambda w: lambda: services.set_client_status(w.client, "disabled", actor=OPERATOR, reason="abuse"),
        {"old_status": "active", "new_status": "disabled", "reason": "abuse"},
    ),
    "delete_client": (
        "client_deleted",
        lambda w: lambda: services.delete_client(w.client, actor=OPERATOR),
        {},
    ),
    "propose_client_changes": (
        "client_changed",
        lambda w: lambda: services.propose_client_changes(w.client, actor=w.developer, name="Renamed app"),
        {"review": "held"},
    ),
    "approve_client_changes": (
        "client_changed",
        lambda w: _held(w) and (lambda: services.approve_client_changes(w.client, actor=OPERATOR)),
        {"review": "approved", "changes": {"name": ["Test app", "Renamed app"]}},
    ),
    "reject_client_changes": (
        "client_changed",
        lambda w: _held(w) and (lambda: services.reject_client_changes(w.client, actor=OPERATOR)),
        {"review": "rejected"},
    ),
    "rotate_client_secret": (
        "client_secret_rotated",
        lambda w: lambda: services.rotate_client_secret(w.client, actor=OPERATOR),
        {},
    ),
    "expire_client_secret": (
        "client_secret_expired",
        lambda w: lambda: services.expire_client_secret(w.client.secrets.get(), actor=OPERATOR),
        {},
    ),
    "revoke_tokens": (
        "tokens_revoked",
        lambda w: (
            _token(w) and (lambda: services.revoke_tokens(Token.objects.all(), actor=OPERATOR, reason="bulk"))
        ),
        {"count": 1, "reason": "bulk"},
    ),
    "revoke_token_family": (
        "tokens_revoked",
        lambda w: (lambda token: lambda: services.revoke_token_family(token))(_token(w)),
        {"count": 1},
    ),
    "revoke_tokens_from_code": (
        "tokens_revoked",
        lambda w: (lambda code: lambda: services.revoke_tokens_from_code(code))(_code(w)),
        {"count": 0},
    ),
    "clear_expired_tokens": (
        "expired_tokens_cleared",
        lambda w: _expired(w) or (lambda: services.clear_expired_tokens(actor=OPERATOR)),
        {"tokens_deleted": 1},
    ),
    "expire_unredeemed_codes": (
        "authorization_codes_expired",
        lambda w: (
            _code(w)
            and (
                lambda: services.expire_unredeemed_codes(
                    AuthorizationCode.objects.filter(client=w.client), actor=OPERATOR, reason="incident"
                )
            )
        ),
        {"count": 1, "reason": "incident"},
    ),
    "revoke_consent": (
        "consent_revoked",
        lambda w: lambda: services.revoke_consent(user=w.user, client=w.client, actor=Actor.user(w.user)),
        {},
    ),
    "create_initial_access_token": (
        "initial_access_token_created",
        lambda w: lambda: services.create_initial_access_token(actor=OPERATOR),
        {},
    ),
    "revoke_initial_access_tokens": (
        "initial_access_token_revoked",
        lambda w: (
            _iat(w)
            and (
                lambda: services.revoke_initial_access_tokens(
                    InitialAccessToken.objects.all(), actor=OPERATOR
                )
            )
        ),
        {"count": 1},
    ),
    "register_dynamic_client": (
        "client_created",
        lambda w: (
            lambda iat: (
                lambda: services.register_dynamic_client(
                    initial_access_token=iat,
                    actor=Actor.system("registration"),
                    name="Registered",
                    redirect_uris=["https://registered.example.com/cb"],
                )
            )
        )(_iat(w)),
        {},
    ),
    "issue_registration_access_token": (
        "registration_access_token_issued",
        lambda w: lambda: services.issue_registration_access_token(w.client, actor=OPERATOR),
        {"replaced": False},
    ),
    "revoke_user_access": (
        "user_access_revoked",
        lambda w: lambda: services.revoke_user_access(w.user, actor=OPERATOR, reason="deactivated"),
        {"reason": "deactivated"},
    ),
    "sign_up_developer": (
        "developer_signed_up",
        lambda w: (
            lambda: services.sign_up_developer(
                username="newdev", email="newdev@example.com", password="a-long-password-1"
            )
        ),
        {},
    ),
}

# name: (protocol event, recipe calling it directly, reason)
ANNOUNCED_BY_PROTOCOL: dict[str, tuple[str, Callable, str]] = {
    "store_authorization_code": (
        "consent_granted",
        lambda w: lambda: _code(w),
        "the code is the authorization response; the authorize endpoint announces the consent it carries",
    ),
    "record_consent": (
        "consent_granted",
        lambda w: lambda: services.record_consent(user=w.user, client=w.client, scope="profile"),
        "remembered inside the request the authorize endpoint announces (remembered=False)",
    ),
    "redeem_authorization_code": (
        "token_issued",
        lambda w: (lambda code: lambda: services.redeem_authorization_code(code))(_code(w)),
        "claiming the code is a step of the token response; a lost race is authorization_code_replayed",
    ),
    "store_token": (
        "token_issued",
        lambda w: lambda: _token(w),
        "the token endpoint announces the token it issued (with the client's authentication)",
    ),
    "rotate_refresh_token": (
        "token_issued",
        lambda w: (lambda token: lambda: services.rotate_refresh_token(token))(_token(w)),
        "a step of the refresh response; reuse is refresh_token_reused",
    ),
    "revoke_single_token": (
        "token_revoked",
        lambda w: (lambda token: lambda: services.revoke_single_token(token, actor=OPERATOR, reason="x"))(
            _token(w)
        ),
        "the RFC 7009 endpoint sends the spec's token_revoked with this token",
    ),
    "revoke_refresh_token_family": (
        "token_revoked",
        lambda w: (
            lambda token: lambda: services.revoke_refresh_token_family(token, actor=OPERATOR, reason="x")
        )(_token(w)),
        "the RFC 7009 endpoint sends the spec's token_revoked, with the family's count",
    ),
}

NO_EVENT: dict[str, str] = {
    "changed_settings": "a read: validates proposed settings and returns the difference, writes nothing",
    "touch_token": "bookkeeping of token_authenticated, written by that event's own listener (audit)",
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
    for event, _recipe, reason in ANNOUNCED_BY_PROTOCOL.values():
        assert event in events.CATALOGUE and event not in SERVICE_EVENTS and reason.strip()


@pytest.mark.parametrize("name", sorted(SENDS))
def test_each_write_sends_one_event_of_its_kind_after_commit(name, w, django_capture_on_commit_callbacks):
    event, recipe, payload = SENDS[name]
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
    _event, recipe, _reason = ANNOUNCED_BY_PROTOCOL[name]
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

    steps = [
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
