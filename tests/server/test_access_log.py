"""gunicorn's access log (gunicorn.conf.py + oauth_console/access_log.py) holds no credential."""

import datetime
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn import util
from gunicorn.config import Config
from gunicorn.glogging import Logger

from oauth_console.access_log import CredentialSafeLogger

ROOT = Path(__file__).resolve().parents[2]
SECRET = "ocs_SuperSecretValue123"
# gunicorn's default format plus the atoms someone might add while debugging.
VERBOSE_FORMAT = (
    '%(h)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" q=%(q)s raw=%({raw_uri}e)s '
    "auth=%({authorization}i)s cookie=%({cookie}i)s"
)


def access_line(logger_class, path: str, query: str, *, referer: str = "-", access_format=None) -> str:
    config = Config()
    if access_format:
        config.set("access_log_format", access_format)
    logger = logger_class(config)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"{path}?{query}" if query else path,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "curl/8",
    }
    headers = [("AUTHORIZATION", f"Basic {SECRET}"), ("COOKIE", f"sessionid={SECRET}"), ("REFERER", referer)]
    request = SimpleNamespace(headers=headers)
    response = SimpleNamespace(status="400 Bad Request", sent=120, headers=[])
    atoms = logger.atoms_wrapper_class(
        logger.atoms(response, request, environ, datetime.timedelta(seconds=0))
    )
    return config.access_log_format % atoms


def test_gunicorn_conf_selects_the_credential_safe_logger():
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert util.load_class(conf["logger_class"], section="gunicorn.loggers") is CredentialSafeLogger


def test_gunicorns_own_logger_writes_the_secret_this_one_does_not():
    query = f"grant_type=client_credentials&client_id=app&client_secret={SECRET}"
    assert SECRET in access_line(Logger, "/oauth/token", query)  # the problem
    line = access_line(CredentialSafeLogger, "/oauth/token", query)
    assert SECRET not in line
    assert '"POST /oauth/token?[redacted] HTTP/1.1" 400' in line


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/authorize", "/api/me", "/oauth/register/abc"])
def test_no_credential_in_any_atom_of_a_verbose_format(path):
    line = access_line(
        CredentialSafeLogger,
        path,
        f"access_token={SECRET}",
        referer=f"https://app.example.com/callback?code={SECRET}&state=x",
        access_format=VERBOSE_FORMAT,
    )
    assert SECRET not in line, line
    assert '"https://app.example.com/callback"' in line


def test_console_queries_are_kept_for_debugging():
    line = access_line(CredentialSafeLogger, "/console/tokens/", "status=active&page=2")
    assert "/console/tokens/?status=active&page=2" in line


def test_the_logger_writes_through_gunicorns_access_log(tmp_path):
    log_file = tmp_path / "access.log"
    config = Config()
    config.set("accesslog", str(log_file))
    logger = CredentialSafeLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/me?access_token={SECRET}",
        "PATH_INFO": "/api/me",
        "QUERY_STRING": f"access_token={SECRET}",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(status="401 Unauthorized", sent=0, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, datetime.timedelta(seconds=0))
    for handler in logging.getLogger("gunicorn.access").handlers:
        handler.flush()
    text = log_file.read_text()
    assert "/api/me?[redacted]" in text and SECRET not in text
