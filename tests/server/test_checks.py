"""The server's system checks (server/checks.py), in process and as `manage.py check` runs them."""

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

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
