"""The endpoints machines call with credentials of their own: a client's (token, revocation,
introspection, device authorization) or a bearer token (userinfo, `api/me`), and the public
metadata and keys. None of them reads a cookie: no session, no signed-in user, no messages, no
CSRF token (an attack on cookie-authenticated requests, which these are not). The browser
layers of MIDDLEWARE (`oauth_console.browser_layers`) skip them, so a protocol request pays
only for the layers that apply to it (security headers, CSP, request context, rate limits).

By path, because those layers run before URL resolution: the URL names' paths (`reverse`) under
the script prefix, computed once.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, reverse

MACHINE_ENDPOINTS = frozenset(
    {
        "oauth-token",
        "oauth-revoke",
        "oauth-introspect",
        "oauth-device-authorization",
        "oauth-userinfo",
        "oauth-jwks",
        "oauth-metadata",
        "oidc-configuration",
        "api-me",
    }
)


def machine_paths() -> frozenset[str]:
    """The machine endpoints' paths as `request.path_info` has them (without the script prefix,
    so the set does not depend on where the project is mounted), for the URL configuration in
    use."""
    # settings.ROOT_URLCONF, not django.urls.get_urlconf(): that one reads an asgiref Local,
    # which cost 2% of a bearer request for the three layers that ask.
    return _paths_of(settings.ROOT_URLCONF)


@lru_cache(maxsize=8)
def _paths_of(urlconf: str) -> frozenset[str]:
    # Once per URL configuration, not once per process: pytest-django's `urls` marker (and a
    # project that routes another urlconf) changes ROOT_URLCONF without a setting_changed
    # signal, and a set computed under the spec's urls.py (no machine endpoints) made every
    # later token request run through the session, user and message layers.
    prefix = get_script_prefix()
    paths = set()
    for name in MACHINE_ENDPOINTS:
        try:
            path = reverse(name, urlconf=urlconf)
        except NoReverseMatch:  # a project that does not route it
            continue
        paths.add("/" + path.removeprefix(prefix))
    return frozenset(paths)


def is_machine_request(request: HttpRequest) -> bool:
    """Whether `request` is for one of the machine endpoints."""
    return request.path_info in machine_paths()
