"""Nothing in server.oauth2 uses authlib's deprecated paths, at import or at run time."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
from django.test import RequestFactory

from server.oauth2.requests import AUTHORIZATION_STYLE, TOKEN_STYLE, build_oauth2_request

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_turns_authlib_deprecations_into_errors():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (
        "error::authlib.deprecate.AuthlibDeprecationWarning"
        in config["tool"]["pytest"]["ini_options"]["filterwarnings"]
    )


def test_importing_the_package_warns_nothing():
    code = (
        "import warnings, authlib.deprecate\n"
        "warnings.simplefilter('error')\n"
        "import django; django.setup()\n"
        "import server.oauth2, server.oauth2.grants, server.oauth2.endpoints, server.oauth2.middleware\n"
        "import server.oauth2.requests, server.oauth2.errors, server.oauth2.resource_protector\n"
        "from server.oauth2 import *\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "oauth_console.settings", "OAUTH_CONSOLE_TESTING": "1", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_request_attributes_are_plain_reads():
    request = RequestFactory().post(
        "/token/?x=1",
        "grant_type=authorization_code&client_id=c&redirect_uri=https%3A%2F%2Fa.example%2Fcb&state=s",
        content_type="application/x-www-form-urlencoded",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        oauth_request = build_oauth2_request(request, style=TOKEN_STYLE)
        assert oauth_request.grant_type == "authorization_code"
        assert oauth_request.client_id == "c"
        assert oauth_request.redirect_uri == "https://a.example/cb"
        assert oauth_request.state == "s"
        assert oauth_request.data["grant_type"] == "authorization_code"
        assert oauth_request.datalist["client_id"] == ["c"]
        assert oauth_request.form["client_id"] == "c"
        assert oauth_request.args == {"x": "1"}
        assert oauth_request.response_type is None
        assert oauth_request.credential is None
        assert oauth_request.django_request is request
        oauth_request.credential = "set by a grant"


@pytest.mark.urls("tests.oauth2.exampleapp.urls")
def test_a_whole_flow_records_no_deprecation(web, api, oauth_client):
    from authlib.deprecate import AuthlibDeprecationWarning

    from tests.oauth2.flow import exchange, get_code

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, verifier = get_code(web)
        tokens = exchange(api, code, verifier).json()
        api.post(
            "/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, **_basic()
        )
        api.post("/revoke/", {"token": tokens["access_token"]}, **_basic())
        api.post("/introspect/", {"token": tokens["access_token"]}, **_basic())
        build_oauth2_request(
            RequestFactory().get("/authorize/?response_type=code"), style=AUTHORIZATION_STYLE
        )
    assert [w for w in caught if issubclass(w.category, AuthlibDeprecationWarning)] == []


def _basic():
    from tests.oauth2.flow import basic

    return basic()
