"""Who is measured and what wrk sends each: the servers compared, where each answers, and one
target per kind of request (a template of bench/wrk/ and its Lua parameters).

Pure data, as bench/scenarios.py, which pairs these targets into comparisons; nothing here
starts a server or runs wrk.
"""

import base64
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

OURS, DOT, BARE = "ours", "dot", "bare"
# Ours again, on the same database, with the local-memory cache: the secondary line.
OURS_LOCAL = "ours-local"
PRODUCTION = "Redis (production)"
PRODUCTION_LABEL = f"oauth-console, {PRODUCTION}"
SERVER_LABELS = {
    OURS: PRODUCTION_LABEL,
    OURS_LOCAL: "oauth-console, local-memory cache",
    DOT: "django-oauth-toolkit",
    BARE: "bare Django",
}

# Where each server answers. Ours are the routes of server/urls.py.
PATHS = {
    OURS: {
        "token": "/oauth/token",
        "introspect": "/oauth/introspect",
        "revoke": "/oauth/revoke",
        "authorize": "/oauth/authorize",
        "resource": "/api/me",
        "userinfo": "/oauth/userinfo",
    },
    DOT: {
        "token": "/o/token/",
        "introspect": "/o/introspect/",
        "revoke": "/o/revoke_token/",
        "authorize": "/o/authorize/",
        "resource": "/api/me",
        "userinfo": "/o/userinfo/",
    },
    BARE: {"select": "/select", "insert": "/insert"},
}


@dataclass(frozen=True)
class Target:
    """One server answering one kind of request, as wrk will drive it."""

    name: str  # unique within its scenario: "ours", "dot-hashed", "bare-insert"
    server: str  # OURS, DOT or BARE
    label: str  # what the table calls it
    template: str  # a template of bench/wrk/
    params: dict = field(default_factory=dict)  # the template's Lua parameters
    token_file: Path | None = None  # token_list only: the credentials to spend, one a line
    url_path: str = "/"


def basic_auth(client_id: str, secret: str) -> str:
    """The Authorization header value of client_secret_basic (RFC 6749 §2.3.1 form-encodes both)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _headers(host: str, **extra: str) -> dict[str, str]:
    # X-Forwarded-Proto: every server runs with the proxy-SSL header trusted, as behind a
    # TLS-terminating proxy, so loopback HTTP counts as HTTPS.
    headers = {"Host": host, "X-Forwarded-Proto": "https", "Connection": "keep-alive"}
    headers.update({key.replace("_", "-"): value for key, value in extra.items()})
    return headers


FORM = "application/x-www-form-urlencoded"


def fixed_request(name, server, label, host, method, path, *, body=None, expected=200, **headers) -> Target:
    if body is not None:
        headers.setdefault("Content_Type", FORM)
    params = {
        "METHOD": method,
        "PATH": path,
        "HEADERS": _headers(host, **headers),
        "BODY": body,
        "EXPECTED_STATUS": expected,
    }
    return Target(name, server, label, "fixed_request", params, url_path=path)


def token_list(name, server, label, host, path, token_file: Path, *, field_name, extra, auth) -> Target:
    # The body is PREFIX + token + SUFFIX; tokens are URL-safe, written as they are.
    prefix = urlencode(extra) + "&" + field_name + "=" if extra else field_name + "="
    params = {
        "METHOD": "POST",
        "PATH": path,
        "HEADERS": _headers(host, Content_Type=FORM, Authorization=auth),
        "BODY_PREFIX": prefix,
        "BODY_SUFFIX": "",
        "EXPECTED_STATUS": 200,
        "TOKEN_FILE": str(token_file),
        # OFFSET and THREADS are set per burst (bench.run), so no credential is spent twice.
        "OFFSET": 0,
        "THREADS": 1,
    }
    return Target(name, server, label, "token_list", params, token_file=token_file, url_path=path)


def authorization_flow(name, server, label, host, creds: dict, *, openid: bool = False) -> Target:
    """The code + PKCE flow; with `openid`, the OpenID Connect sign-in (ID token, UserInfo)."""
    paths = PATHS[server]
    app = creds["openid_app"] if openid else creds["app"]
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": app["redirect_uri"],
            "scope": "openid profile" if openid else "profile",
            "state": "bench-state",
            "code_challenge": creds["code_challenge"],
            "code_challenge_method": "S256",
            **({"nonce": "bench-nonce"} if openid else {}),
        }
    )
    token_body_prefix = (
        urlencode(
            {
                "grant_type": "authorization_code",
                "redirect_uri": app["redirect_uri"],
                "code_verifier": creds["code_verifier"],
            }
        )
        + "&code="
    )
    params = {
        "AUTHORIZE_PATH": f"{paths['authorize']}?{query}",
        "AUTHORIZE_HEADERS": _headers(host, Cookie=creds["session_cookie"]),
        "TOKEN_PATH": paths["token"],
        "TOKEN_HEADERS": _headers(
            host, Content_Type=FORM, Authorization=basic_auth(app["client_id"], app["client_secret"])
        ),
        "TOKEN_BODY_PREFIX": token_body_prefix,
    }
    if openid:
        params.update(USERINFO_PATH=paths["userinfo"], USERINFO_HEADERS=_headers(host))
        return Target(name, server, label, "openid_flow", params, url_path=paths["authorize"])
    return Target(name, server, label, "authorization_code_flow", params, url_path=paths["authorize"])


CLIENT_CREDENTIALS_BODY = urlencode({"grant_type": "client_credentials", "scope": "read"})


def ours_client_credentials(creds: dict, host: str) -> Target:
    """Our token endpoint, client_credentials with client_secret_basic (also profiled)."""
    auth = basic_auth(creds["cc"]["client_id"], creds["cc"]["client_secret"])
    return fixed_request(
        "ours",
        OURS,
        PRODUCTION_LABEL,
        host,
        "POST",
        PATHS[OURS]["token"],
        body=CLIENT_CREDENTIALS_BODY,
        Authorization=auth,
    )


def ours_introspection(creds: dict, host: str) -> Target:
    """Our introspection endpoint (RFC 7662), the app client asking about a bearer token (also
    profiled)."""
    return fixed_request(
        "ours",
        OURS,
        PRODUCTION_LABEL,
        host,
        "POST",
        PATHS[OURS]["introspect"],
        body=urlencode({"token": creds["bearer_token"]}),
        Authorization=basic_auth(creds["app"]["client_id"], creds["app"]["client_secret"]),
    )


def ours_bearer(creds: dict, host: str) -> Target:
    """Our bearer-protected /api/me (also profiled)."""
    return fixed_request(
        "ours",
        OURS,
        f"oauth-console /api/me, {PRODUCTION}",
        host,
        "GET",
        PATHS[OURS]["resource"],
        Authorization=f"Bearer {creds['bearer_token']}",
    )
