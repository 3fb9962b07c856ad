"""Work a protocol request does once, or not at all, pinned like its statements
(tests/server/test_query_counts.py): what `bench.request_cost --instructions` found repeated.

Each request is sent once first, so that first-use work is not what is counted.
"""

import pytest
from django.db import connection
from django.http import request as django_request
from django.test.utils import CaptureQueriesContext

from server import credentials
from server.oauth2 import client_auth
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(make_client):
    return make_client("Hot path app")


def counting(monkeypatch, owner, name: str) -> list:
    """Calls of `owner.name` from now on (each call's arguments)."""
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def issue(http, app) -> str:
    client, secret = app
    auth = basic_auth(client.client_id, secret)
    response = form(http, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_the_basic_header_is_decoded_once_per_request(client, app, monkeypatch, path):
    # The rate limiter's claimed client_id, the endpoint's check of the header and its claimed
    # client_id read the same header: decoded three times before, once now.
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)

    def body() -> dict:
        if path == "/oauth/token":
            return {"grant_type": "client_credentials"}
        return {"token": issue(client, app)}

    assert form(client, path, body(), HTTP_AUTHORIZATION=auth).status_code == 200
    data = body()
    calls = counting(monkeypatch, client_auth, "read_basic_credentials")
    response = form(client, path, data, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    assert calls == [(auth,)]


def test_a_malformed_basic_header_is_refused_as_before_from_the_kept_reading(client, app):
    # The reading kept on the request is an error for a malformed header: every reader still
    # refuses it (401 invalid_client, nothing claimed).
    data = {"grant_type": "client_credentials"}
    response = form(client, "/oauth/token", data, HTTP_AUTHORIZATION="Basic !!!")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_bearer_check_does_not_build_request_headers(client, app, monkeypatch):
    # `request.headers` is built from the whole of META on first read; the bearer check reads
    # the one header it needs from META.
    token = issue(client, app)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    built = counting(monkeypatch, django_request.HttpHeaders, "__init__")
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert built == []


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_a_client_authenticated_request_does_not_build_request_headers(client, app, monkeypatch, path):
    # The rate limiter, the endpoint's checks and client_secret_basic read the Authorization
    # header from META (before: `request.headers`, built from the whole of META, and the header
    # decoded again by authlib's client_secret_basic).
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)

    def body() -> dict:
        if path == "/oauth/token":
            return {"grant_type": "client_credentials"}
        return {"token": issue(client, app)}

    assert form(client, path, body(), HTTP_AUTHORIZATION=auth).status_code == 200
    data = body()
    built = counting(monkeypatch, django_request.HttpHeaders, "__init__")
    response = form(client, path, data, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    assert built == []


def test_client_secret_basic_still_refuses_a_wrong_secret_and_an_unknown_client(client, app):
    app_, secret = app
    for auth in (basic_auth(app_.client_id, secret + "x"), basic_auth("nobody", secret)):
        response = form(client, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
        assert response.status_code == 401, response.content
        assert response.json()["error"] == "invalid_client"
        assert response["WWW-Authenticate"].startswith("Basic ")


def test_a_bearer_check_runs_no_model_init_for_the_rows_it_reads(client, app, monkeypatch):
    # The token, its client and its user are built as `from_db` builds them, without its
    # per-field `Model.__init__` (server/hotpath/instances.py).
    from django.db.models import Model

    token = issue(client, app)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    inits = counting(monkeypatch, Model, "__init__")
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert [type(args[0]).__name__ for args in inits] == []


@pytest.mark.parametrize("model_name", ["server.Token", "server.Client", "auth.User"])
def test_a_saved_instance_is_what_from_db_makes(model_name):
    from django.apps import apps
    from django.db.models.signals import post_init

    from server.hotpath.instances import saved_instances

    model = apps.get_model(model_name)
    names = [field.attname for field in model._meta.concrete_fields]
    values = [f"value {i}" for i in range(len(names))]
    made, expected = saved_instances(model, names)("default", values), model.from_db("default", names, values)
    assert type(made) is model
    assert list(made.__dict__)[1:] == list(expected.__dict__)[1:] == names
    assert [made.__dict__[n] for n in names] == values
    assert (made._state.adding, made._state.db, made._state.fields_cache) == (False, "default", {})
    assert made.pk == expected.pk and made == expected

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver)  # a receiver connected: Django's own from_db, receivers called
    try:
        again = saved_instances(model, names)("default", values)
    finally:
        post_init.disconnect(receiver)
    assert seen == [again]


def test_an_instance_of_some_columns_is_what_from_db_makes_and_reads_the_rest_on_use():
    # A token's client is read with the columns the hot paths use (sql.TOKEN_CLIENT_FIELDS);
    # the instance must be Django's `.only()` instance: the others deferred, read on first use.
    from server.hotpath import sql
    from server.hotpath.instances import saved_instances
    from server.models import Client

    selections = sql._selections(connection.vendor)
    asking = selections["asking_client"].attnames
    assert asking[0] == "id" and set(asking) == {"id", *sql.ASKING_CLIENT_FIELDS}  # every name a field
    names = selections["token_client"].attnames
    assert names[0] == "id" and set(names) == {"id", *sql.TOKEN_CLIENT_FIELDS}
    assert len(names) < len(asking) < len(Client._meta.concrete_fields)
    # The user of the token introspection and revocation name: its username and whether active.
    assert selections["named_token_user"].attnames == ["id", "username", "is_active"]
    values = [1, *(f"value {i}" for i in range(1, len(names)))]
    made = saved_instances(Client, names)("default", values)
    expected = Client.from_db("default", names, values)
    assert list(made.__dict__)[1:] == list(expected.__dict__)[1:] == names
    assert made.get_deferred_fields() == expected.get_deferred_fields() != set()
    assert "redirect_uris" in made.get_deferred_fields()


def test_a_deferred_column_of_a_tokens_client_is_read_when_used(client, app):
    from server.hotpath import sql

    token = issue(client, app)
    found = sql.token_by_digest(credentials.digest(token))
    assert "redirect_uris" in found.client.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        assert found.client.redirect_uris == app[0].redirect_uris
    assert len(queries) == 1


def test_a_token_request_reads_nothing_through_the_connection_proxy(client, app, monkeypatch):
    # `django.db.connection` finds the thread's wrapper again on every attribute read; the
    # INSERTs' values (the token's, its audit event's) are prepared on the wrapper itself.
    from django.utils.connection import ConnectionProxy

    issue(client, app)
    reads = counting(monkeypatch, ConnectionProxy, "__getattr__")
    issue(client, app)
    assert [name for _proxy, name in reads] == []


def test_a_token_request_builds_no_absolute_uri(client, app, monkeypatch):
    # The transport check judges the request's origin; the absolute URI is made only when
    # something reads `uri` (nothing on the token endpoints).
    issue(client, app)
    built = counting(monkeypatch, django_request.HttpRequest, "build_absolute_uri")
    issue(client, app)
    assert built == []


@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8443", "example.com", "10.0.0.1:80"])
@pytest.mark.parametrize("path", ["/oauth/token", "//example.org/x", "/oauth/token?next=//a@b/"])
def test_the_transport_check_judges_the_origin_as_the_whole_uri(settings, secure, host, path):
    # authlib's is_secure_transport on the absolute URI (the check before) and on the origin
    # (the check now) agree for every scheme, loopback or not, and odd paths.
    from authlib.common.security import is_secure_transport
    from django.test import RequestFactory

    from server.oauth2.errors import InsecureTransportError
    from server.oauth2.requests import _check_transport

    settings.ALLOWED_HOSTS = ["*"]
    request = RequestFactory().get(path, HTTP_HOST=host, secure=secure)
    before = is_secure_transport(request.build_absolute_uri())
    try:
        _check_transport(request)
        now = True
    except InsecureTransportError:
        now = False
    assert now == before


def test_the_audit_context_parses_a_known_address_once(client, app, monkeypatch):
    # Every request's audit context normalises its client's address; the answers are kept.
    import ipaddress

    from oauth_console.audit import context

    token = issue(client, app)
    parsed = counting(monkeypatch, ipaddress, "ip_address")
    for _ in range(2):
        assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert parsed == []
    # The same answers as before, for odd values too.
    assert context.normalise_ip(" 10.0.0.1 ") == "10.0.0.1"
    assert context.normalise_ip("::FFFF:1.2.3.4") == "::ffff:1.2.3.4"
    assert context.normalise_ip("not an address") is None
    assert context.normalise_ip(None) is None


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_the_named_token_is_digested_once(client, app, monkeypatch, path):
    # The lookahead's digest (the token fetched with the client) is the endpoint's lookup's too.
    from server import credentials

    app_, secret = app
    auth = basic_auth(app_.client_id, secret)
    assert form(client, path, {"token": issue(client, app)}, HTTP_AUTHORIZATION=auth).status_code == 200
    token = issue(client, app)
    digests = counting(monkeypatch, credentials, "digest")
    response = form(client, path, {"token": token}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    assert [args for args in digests if args == (token,)] == [(token,)]
    if path == "/oauth/introspect":
        assert response.json()["active"] is True


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement: PostgreSQL")
def test_a_token_and_its_event_statement_is_built_once(client, app, monkeypatch):
    # The token's INSERT with its audit event's (server/hotpath/riders.py) has the same text on
    # every request: built once, not quoted again per request.
    issue(client, app)
    quoted = counting(monkeypatch, type(connection.ops), "quote_name")
    issue(client, app)
    assert quoted == []


def test_a_token_request_runs_no_model_init(client, app, monkeypatch):
    # The client and the token (saved_instances) and the token's audit event (unsaved_instances).
    from django.db.models import Model

    issue(client, app)
    inits = counting(monkeypatch, Model, "__init__")
    issue(client, app)
    assert [type(args[0]).__name__ for args in inits] == []


def test_an_unsaved_instance_is_what_the_model_makes():
    from django.db.models.signals import pre_init
    from django.utils import timezone

    from oauth_console.audit.models import AuditEvent
    from server.hotpath.instances import unsaved_instances
    from server.models import Token

    values = {"occurred_at": timezone.now(), "event_type": "token_issued", "client_id": "c", "token_id": 5}
    made, expected = unsaved_instances(AuditEvent)(**values), AuditEvent(**values)
    assert type(made) is AuditEvent and made.pk is None
    assert list(made.__dict__)[1:] == list(expected.__dict__)[1:]
    fields = [name for name in made.__dict__ if name != "_state"]
    assert [getattr(made, n) for n in fields] == [getattr(expected, n) for n in fields]
    assert (made._state.adding, made._state.db) == (True, None)
    assert made.detail == {} and made.detail is not unsaved_instances(AuditEvent)(**values).detail
    # A model with relations is built by the model itself; so is anything while a receiver
    # listens, or a keyword that is no column.
    assert unsaved_instances(Token) is Token
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    pre_init.connect(receiver)
    try:
        unsaved_instances(AuditEvent)(**values)
    finally:
        pre_init.disconnect(receiver)
    assert AuditEvent in seen
    with pytest.raises(TypeError):
        unsaved_instances(AuditEvent)(no_such_field=1)


def test_an_empty_query_is_not_parsed(client, app, monkeypatch):
    # Every machine endpoint reads its URL query (credentials or tokens there are refused); an
    # empty one is {} without the parser. A query is still parsed, and refused as before.
    from server.oauth2 import bodies

    token = issue(client, app)
    parsed = counting(monkeypatch, bodies, "parse_qsl")
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert parsed == []
    response = client.get(f"/api/me?access_token={token}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert len(parsed) == 1


def test_the_openid_sign_in_compiles_no_queryset_for_its_reads(client, end_user, make_client, monkeypatch):
    # The remembered consent (authorization endpoint), the code with its user and the active
    # signing key (token endpoint) are statements written once (`server.hotpath.sign_in`): their
    # querysets' compiling cost more than PostgreSQL's answers (bench.request_cost --endpoints
    # openid: 11.48M -> 9.87M instructions at the authorization endpoint, 16.89M -> 13.35M at the
    # token endpoint). Django's own reads (the session, its user) stay the ORM's.
    # The code's claim (the token endpoint) and the token's first use (UserInfo) are UPDATEs
    # written once too.
    from django.db.models.sql.compiler import SQLCompiler, SQLUpdateCompiler

    from server.models import AuthorizationCode, Consent, SigningKey, Token
    from tests.server.helpers import exchange_code, get_code

    rp, secret = make_client("Hot path RP", scope=["openid", "profile"])
    client.force_login(end_user)
    code, verifier = get_code(client, rp.client_id, scope="openid profile")  # the consent page
    assert "id_token" in exchange_code(client, rp.client_id, secret, code, verifier).json()
    compiled = counting(monkeypatch, SQLCompiler, "as_sql")
    updates = counting(monkeypatch, SQLUpdateCompiler, "as_sql")
    code, verifier = get_code(client, rp.client_id, scope="openid profile")  # consent remembered
    answer = exchange_code(client, rp.client_id, secret, code, verifier).json()
    assert "id_token" in answer
    userinfo = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {answer['access_token']}")
    assert userinfo.status_code == 200 and userinfo.json()["sub"]
    read = {args[0].query.model for args in compiled + updates}
    assert read & {Consent, AuthorizationCode, SigningKey, Token} == set()
    assert Token.objects.get(authorization_code__isnull=False, last_used_at__isnull=False)


def test_a_copied_instance_is_what_copy_makes(app):
    # known_clients copies the client on every client_credentials request; copy.copy went
    # through Model.__reduce__ (pickling's getstate, the model found again, setstate).
    import copy

    from server.hotpath.instances import copied_instance
    from server.models import Client

    original = Client.objects.get(pk=app[0].pk)
    original._state.fields_cache["owner"] = "cached"
    original.blob = memoryview(b"bytes")
    made, expected = copied_instance(original), copy.copy(original)
    assert type(made) is Client
    expected.__dict__.pop("_django_version")  # pickling's stamp, nothing a copy needs
    assert made.__dict__.keys() == expected.__dict__.keys()
    for name, value in made.__dict__.items():
        if name not in ("_state", "blob"):
            assert value is expected.__dict__[name], name
    assert made.blob == expected.blob and made.blob is not original.blob
    assert made._state is not original._state and made._state.__dict__ == expected._state.__dict__
    assert made._state.fields_cache is not original._state.fields_cache
    made._state.fields_cache["owner"] = "changed"
    assert original._state.fields_cache["owner"] == "cached"


def test_a_token_request_copies_its_client_without_pickling(client, app, monkeypatch):
    # The worker's copy of the client (PostgreSQL: `known_clients`) and the request's copy of it.
    import copy

    issue(client, app)
    copied = counting(monkeypatch, copy, "copy")
    issue(client, app)
    assert copied == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="provisional clients: PostgreSQL")
def test_a_confirmed_client_s_authentication_gathers_no_event(client, app, monkeypatch):
    # A provisional client's `client_authenticated` comes after its token_issued event, which
    # says how it authenticated: the audit receiver returns before gathering an event it drops.
    from oauth_console.audit.receivers import protocol

    issue(client, app)
    actors = counting(monkeypatch, protocol, "client_actor")
    issue(client, app)
    assert len(actors) == 1  # token_issued's


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement: PostgreSQL")
def test_the_token_s_unit_looks_the_connection_up_once(client, app, monkeypatch):
    # The token, its audit event's ids and its row use the wrapper the issuance unit holds
    # (`riders.unit_database`), not `connections["default"]` again through asgiref's Local.
    from django.db import connections

    from server.hotpath import riders

    issue(client, app)
    looked_up = counting(monkeypatch, type(connections), "__getitem__")
    unit = counting(monkeypatch, riders, "one_statement")
    issue(client, app)
    assert len(unit) == 1
    # Django's own (request_started and _finished's receivers, the view's atomic check) and the
    # unit's one: 8 before, when the token and its event's ids and row looked it up again.
    assert len(looked_up) <= 5


def test_a_token_request_makes_no_json_encoder(client, app, monkeypatch):
    # The audit event's canonical JSON is written by one kept encoder (its arguments are not
    # json.dumps' defaults, which made a new encoder per event); the same text
    # (tests/console/audit/test_known_answers.py).
    import json

    issue(client, app)
    made = counting(monkeypatch, json.JSONEncoder, "__init__")
    issue(client, app)
    assert made == []


def test_a_token_request_derives_no_key(client, app, monkeypatch, settings):
    # The credential digest's key (the secret's and the token's digests) and the audit chain's
    # (the event's two hashes) are derived once, not read from the settings per use; a changed
    # setting is a new key (`setting_changed`).
    from oauth_console.audit import chain
    from server import credentials

    issue(client, app)
    digests, hashes = counting(monkeypatch, credentials, "_key"), counting(monkeypatch, chain, "_key")
    issue(client, app)
    assert digests == [] and hashes == []
    before = (credentials.digest("a value"), chain.hash_key())
    settings.SECRET_KEY = settings.SECRET_KEY + "-rotated"
    settings.OAUTH2_CREDENTIAL_KEY = ""
    settings.AUDIT_HASH_KEY = ""
    assert credentials.digest("a value") != before[0] and chain.hash_key() != before[1]


def _settings_read(monkeypatch) -> list[str]:
    """Names read through `django.conf.settings` from now on."""
    from django.conf import LazySettings
    from django.utils.functional import LazyObject

    names, original = [], LazyObject.__getattribute__

    def read(self, name):
        if type(self) is LazySettings and name != "_wrapped":
            names.append(name)
        return original(self, name)

    monkeypatch.setattr(LazyObject, "__getattribute__", read)
    return names


def test_a_bearer_check_reads_our_per_request_settings_once_per_process(client, app, monkeypatch):
    # The browser layers ask whether a request is a machine endpoint's three times (ROOT_URLCONF
    # each) and the session layer read CSRF_USE_SESSIONS; the audit context AUDIT_PROXY_COUNT and
    # the database backend DB_HEALTH_CHECK_AFTER_IDLE, both unset (an AttributeError each).
    # Left: Django's own (its get_response and resolver read ROOT_URLCONF, its CSRF middleware
    # CSRF_USE_SESSIONS). bench.request_cost --instructions: see the commit.
    token = issue(client, app)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    names = _settings_read(monkeypatch)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert names.count("ROOT_URLCONF") == 3
    assert names.count("CSRF_USE_SESSIONS") == 1
    assert "AUDIT_PROXY_COUNT" not in names and "DB_HEALTH_CHECK_AFTER_IDLE" not in names


def test_kept_settings_follow_a_settings_change(settings):
    from django.test import override_settings

    from oauth_console.hot_settings import setting

    assert setting("AUDIT_PROXY_COUNT", 0) == 0
    with override_settings(AUDIT_PROXY_COUNT=1):
        assert setting("AUDIT_PROXY_COUNT", 0) == 1
    assert setting("AUDIT_PROXY_COUNT", 0) == 0
    settings.AUDIT_PROXY_COUNT = 2
    assert setting("AUDIT_PROXY_COUNT", 0) == 2


def test_a_bearer_check_looks_up_no_metric_child(client, app, monkeypatch):
    # The latency histogram's and the bearer checks' children are kept (`labels()` validates its
    # values and takes a lock on each call).
    from prometheus_client.metrics import MetricWrapperBase

    token = issue(client, app)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    looked_up = counting(monkeypatch, MetricWrapperBase, "labels")
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert looked_up == []


def test_the_machine_endpoints_are_the_first_patterns_tried(monkeypatch):
    # Django tries URL patterns in order (server/urls.py): the machine endpoints come first, and
    # every named path still resolves to its own name.
    from django.urls import URLPattern, get_resolver, resolve, reverse

    resolver = get_resolver()
    for name, possibilities in list(resolver.reverse_dict.lists()):
        if isinstance(name, str) and all(not params for *_, params in [p[0][0] for p in possibilities]):
            assert resolve(reverse(name)).url_name == name, name
    tried = counting(monkeypatch, URLPattern, "resolve")
    for path, limit in (("/oauth/token", 4), ("/api/me", 5), ("/oauth/introspect", 6), ("/oauth/revoke", 7)):
        tried.clear()
        resolve(path)
        assert len(tried) <= limit, (path, len(tried))
