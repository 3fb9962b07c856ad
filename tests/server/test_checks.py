"""The server's system checks (server/checks.py), in process and as `manage.py check` runs them."""

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from server import checks_tasks
from tests.server.test_settings import _manage


def server_messages():
    return [message for message in run_checks() if message.id.startswith("server.")]


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SILENCED_SYSTEM_CHECKS = []
    return settings


def test_production_without_an_issuer_fails_the_checks_with_a_hint(production):
    production.OAUTH2_ISSUER = ""
    [error] = server_messages()
    assert error.id == "server.E001" and error.is_serious()
    assert "Host header" in error.msg
    assert "OAUTH2_ISSUER=https://" in error.hint
    with pytest.raises(SystemCheckError, match=r"server\.E001"):
        call_command("check")


def test_production_with_an_issuer_passes(production):
    production.OAUTH2_ISSUER = "https://auth.example.com"
    assert server_messages() == []


@pytest.mark.parametrize(
    "issuer",
    [
        "http://auth.example.com",
        "https://auth.example.com/?tenant=a",
        "https://auth.example.com/#x",
        "auth.example.com",
    ],
)
def test_a_malformed_issuer_fails_the_checks(production, issuer):
    production.OAUTH2_ISSUER = issuer
    assert [message.id for message in server_messages()] == ["server.E002"]


def test_development_needs_no_issuer(settings):
    settings.DEBUG = True
    settings.OAUTH2_ISSUER = ""
    settings.SILENCED_SYSTEM_CHECKS = []
    assert server_messages() == []


def test_the_test_settings_pass_the_checks():
    call_command("check")


def test_manage_check_in_production_names_the_missing_issuer():
    result = _manage("check", DEBUG="0", SECRET_KEY="x" * 64)
    assert result.returncode == 1, result.stderr
    assert "server.E001" in result.stderr and "OAUTH2_ISSUER" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_run_settings_pass_manage_check():
    result = _manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


# --- the settings' checks (server/checks.py), each at the level `manage.py check` reports it ----


def deploy_messages():
    return [m for m in run_checks(include_deployment_checks=True) if m.id.startswith("server.")]


@pytest.fixture
def deployed(production):
    """The documented production configuration (docs/deployment.md), in process."""
    production.OAUTH2_ISSUER = "https://auth.example.com"
    production.OAUTH2_REQUIRE_HTTPS = True
    production.OAUTH2_CREDENTIAL_KEY = "c" * 64
    production.OAUTH2_RATE_LIMIT_CACHE = "default"
    production.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    }
    return production


def test_the_documented_production_configuration_passes_the_deploy_checks(deployed):
    assert deploy_messages() == []


@pytest.mark.parametrize("rate", ["lots", "thirty/60", "/60", "30/0", "-1/60", 30])
def test_an_unparseable_rate_is_an_error(deployed, rate):
    deployed.OAUTH2_RATE_LIMITS = {"token_ip": rate}
    [error] = server_messages()
    assert error.id == "server.E003" and error.is_serious()
    assert "token_ip" in error.msg and "OAUTH2_RATE_LIMIT_TOKEN_IP" in error.hint
    with pytest.raises(SystemCheckError, match=r"server\.E003"):
        call_command("check")


@pytest.mark.parametrize("rate", ["30/60", "30/", "OFF", "", "0", None])
def test_a_rate_or_off_passes(deployed, rate):
    deployed.OAUTH2_RATE_LIMITS = {"token_ip": rate}
    assert server_messages() == []


def test_a_rate_limit_cache_that_does_not_exist_is_an_error(deployed):
    deployed.OAUTH2_RATE_LIMIT_CACHE = "ratelimits"
    [error] = server_messages()
    assert error.id == "server.E005" and "default" in error.hint


def test_default_scopes_must_be_configured_scopes(deployed):
    deployed.OAUTH2_DEFAULT_SCOPES = ["profile", "admin"]
    [error] = server_messages()
    assert error.id == "server.E004" and "admin" in error.msg and "OAUTH2_SCOPES" in error.hint


def test_openid_among_the_default_scopes_is_a_warning(deployed):
    deployed.OAUTH2_DEFAULT_SCOPES = ["openid", "profile"]
    [warning] = server_messages()
    assert warning.id == "server.W011" and not warning.is_serious() and "openid" in warning.msg


def test_plain_http_in_production_is_a_deploy_warning(deployed):
    deployed.OAUTH2_REQUIRE_HTTPS = False
    assert server_messages() == []  # not in a plain `check`
    [warning] = deploy_messages()
    assert warning.id == "server.W001" and not warning.is_serious()
    assert "SECURE_PROXY_SSL_HEADER" in warning.hint


@pytest.mark.parametrize(
    "backend",
    ["django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"],
)
def test_a_per_process_rate_limit_cache_in_production_is_a_deploy_warning(deployed, backend):
    deployed.CACHES = {"default": {"BACKEND": backend}}
    assert server_messages() == []
    # The same cache also remembers used client-assertion jtis (OAUTH2_REPLAY_CACHE).
    warning, replay = sorted(deploy_messages(), key=lambda message: message.id)
    assert warning.id == "server.W002" and "per process" in warning.msg and "REDIS_URL" in warning.hint
    assert replay.id == "server.W005" and "replayed" in replay.msg and "OAUTH2_REPLAY_CACHE" in replay.hint


def test_a_replay_cache_that_does_not_exist_is_an_error(deployed):
    deployed.OAUTH2_REPLAY_CACHE = "replays"
    [error] = server_messages()
    assert error.id == "server.E008" and "default" in error.hint


@pytest.mark.parametrize("networks", [["10.0.0.0/33"], ["not a network"], [None]])
def test_an_allowed_outbound_network_that_is_not_one_is_an_error(deployed, networks):
    deployed.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = networks
    [error] = server_messages()
    assert error.id == "server.E009" and "CIDR" in error.hint


def test_allowed_outbound_networks_pass(deployed):
    deployed.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = ["10.1.2.0/24", "fd00::/8", "127.0.0.1"]
    assert server_messages() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OAUTH2_WEBHOOK_MAX_ATTEMPTS", 0),
        ("OAUTH2_WEBHOOK_TIMEOUT", 0),
        ("OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES", -1),
        ("OAUTH2_WEBHOOK_RETRY_DELAY", -5),
        ("OAUTH2_WEBHOOK_SECRET_OVERLAP", "1 day"),
    ],
)
def test_a_webhook_setting_that_would_never_deliver_is_an_error(deployed, name, value):
    setattr(deployed, name, value)
    [error] = server_messages()
    assert error.id == "server.E013" and name in error.msg


def test_a_retry_at_once_and_no_overlap_are_allowed(deployed):
    deployed.OAUTH2_WEBHOOK_RETRY_DELAY = 0
    deployed.OAUTH2_WEBHOOK_SECRET_OVERLAP = 0
    assert server_messages() == []


def test_a_credential_key_derived_from_the_secret_key_is_a_deploy_warning(deployed):
    deployed.OAUTH2_CREDENTIAL_KEY = ""
    # Both the digests' key and the signing keys' encryption key then come from SECRET_KEY.
    warning, encryption = sorted(deploy_messages(), key=lambda message: message.id)
    assert warning.id == "server.W003" and "SECRET_KEY" in warning.msg
    assert "OAUTH2_CREDENTIAL_KEY" in warning.hint
    assert encryption.id == "server.W004" and "OAUTH2_KEY_ENCRYPTION_KEY" in encryption.hint


def test_a_key_encryption_key_of_its_own_silences_the_signing_key_warning(deployed):
    deployed.OAUTH2_CREDENTIAL_KEY = ""
    deployed.OAUTH2_KEY_ENCRYPTION_KEY = "k" * 64
    assert [m.id for m in deploy_messages()] == ["server.W003"]


def test_development_gets_no_deploy_warnings(deployed):
    deployed.DEBUG = True
    deployed.OAUTH2_REQUIRE_HTTPS = False
    deployed.OAUTH2_CREDENTIAL_KEY = ""
    deployed.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert deploy_messages() == []


def test_unset_settings_are_checked_at_their_defaults(production):
    """With none of the OAUTH2_* settings, the checks see server/conf.py's defaults: HTTPS
    required (DEBUG off), so only the issuer, the credential key (and so the signing keys'
    encryption key) and the cache (of rate limits and of replays) remain."""
    from server.conf import SETTINGS

    for name in SETTINGS:
        if hasattr(production, name):
            delattr(production, name)
    assert sorted(m.id for m in deploy_messages()) == [
        "server.E001",
        "server.W002",
        "server.W003",
        "server.W004",
        "server.W005",
    ]


def test_manage_check_deploy_names_each_production_warning():
    result = _manage(
        "check",
        "--deploy",
        DEBUG="0",
        SECRET_KEY="x" * 64,
        OAUTH2_ISSUER="https://auth.example.com",
        OAUTH2_REQUIRE_HTTPS="0",
    )
    for id_ in ("server.W001", "server.W002", "server.W003"):
        assert id_ in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def _queues(*queues):
    return {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", *queues]}}


def test_a_task_backend_without_the_logout_queue_is_an_error(deployed):
    deployed.TASKS = _queues("webhooks")
    [error] = server_messages()
    assert error.id == "server.E011" and "'logout'" in error.msg and "QUEUES" in error.hint


def test_a_task_backend_without_any_needed_queue_names_each(deployed):
    deployed.AUDIT_CHECKPOINT_EVERY = 1000
    deployed.TASKS = _queues()
    errors = server_messages()
    assert {error.id for error in errors} == {"server.E011"}
    assert sorted(error.msg.split()[0] for error in errors) == ["'audit'", "'logout'", "'webhooks'"]


def test_the_logout_queue_setting_names_the_queue_checked(deployed):
    deployed.TASKS = _queues("bcl", "webhooks")
    deployed.OAUTH2_LOGOUT_QUEUE = "bcl"
    assert server_messages() == []


def test_a_task_backend_without_the_webhooks_queue_is_an_error(deployed):
    """Every webhook delivery is queued on "webhooks", by the outbox, in the event's transaction:
    required while the webhooks app is installed, with or without a subscription yet (operators
    add them at run time, and a check cannot wait for the first one)."""
    deployed.TASKS = _queues("logout")
    [error] = server_messages()
    assert error.id == "server.E011" and "'webhooks'" in error.msg and "webhook deliveries" in error.msg
    assert "Add 'webhooks' to TASKS['default']['QUEUES']." in error.hint


def test_the_webhooks_queue_checked_is_the_delivery_task_s():
    from oauth_console.webhooks import tasks

    assert tasks.delivery_queue_needed in checks_tasks._DECLARED  # declared by the webhooks app
    queue, _ = tasks.delivery_queue_needed()
    assert queue == tasks.QUEUE == tasks.deliver_webhooks.queue_name
    assert tasks.QUEUE in django_settings.TASKS["default"]["QUEUES"]


def test_a_task_backend_without_the_audit_queue_is_an_error(deployed):
    """The write path queues the audit log's periodic seal on "audit" (AUDIT_CHECKPOINT_EVERY)."""
    deployed.AUDIT_CHECKPOINT_EVERY = 1000
    deployed.TASKS = _queues("logout", "webhooks")
    [error] = server_messages()
    assert error.id == "server.E011" and "'audit'" in error.msg and "periodic seal" in error.msg
    deployed.AUDIT_CHECKPOINT_EVERY = 0  # only seal_audit_log seals: nothing is queued
    assert server_messages() == []


def test_the_audit_queue_checked_is_the_seal_task_s(settings):
    from oauth_console.audit import tasks

    settings.AUDIT_CHECKPOINT_EVERY = 1000
    assert tasks.seal_queue_needed in checks_tasks._DECLARED  # declared by the audit app
    queue, _ = tasks.seal_queue_needed()
    assert queue == tasks.QUEUE == tasks.seal_audit_log.queue_name
    assert tasks.QUEUE in django_settings.TASKS["default"]["QUEUES"]


def test_tasks_run_in_the_request_is_a_deploy_warning(deployed):
    """No TASKS (django-tasks' immediate backend): logout tokens are sent by the request, once."""
    deployed.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    [warning] = deploy_messages()
    assert warning.id == "server.W006" and "never retried" in warning.msg and "db_worker" in warning.hint
    assert "back-channel logout" in warning.msg and "webhook" in warning.msg
    deployed.DEBUG = True
    assert deploy_messages() == []


@pytest.mark.parametrize(
    "scopes",
    [{"bad scope": "x"}, {'quo"te': "x"}, {"read": "bell\x07"}, {"read": "x" * 201}],
)
def test_default_api_scopes_that_are_not_scope_tokens_fail_the_checks(settings, scopes):
    settings.OAUTH2_SCOPES = scopes
    settings.OAUTH2_DEFAULT_SCOPES = []
    assert "server.E014" in [message.id for message in server_messages()]


def test_the_configured_scopes_pass_as_the_default_api(settings):
    assert "server.E014" not in [message.id for message in server_messages()]


@pytest.mark.django_db
def test_an_api_no_client_may_ask_for_is_a_database_warning(make_client):
    from server import services
    from server.actors import Actor

    api = services.create_api(
        actor=Actor.system("tests"), identifier="https://lonely.example.com/", name="Lonely"
    )
    found = [m for m in run_checks(databases=["default"]) if m.id == "server.W009"]
    assert len(found) == 1 and "https://lonely.example.com/" in found[0].msg
    assert not [m for m in run_checks() if m.id == "server.W009"], "only with --database"
    client, _secret = make_client()
    services.change_api(api, actor=Actor.system("tests"), allowed_clients=[client.client_id])
    assert not [m for m in run_checks(databases=["default"]) if m.id == "server.W009"]
