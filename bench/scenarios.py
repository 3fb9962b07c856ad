"""What is measured: each scenario puts our endpoint beside its bare-Django floor and its
django-oauth-toolkit counterpart, with the exact requests wrk sends to each.

Pure data: `build` turns the credentials each seed step printed into targets; nothing here
starts a server or runs wrk.
"""

import base64
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Scenario:
    """A comparison: our target, its bare floor, and its django-oauth-toolkit references."""

    key: str
    title: str
    ours: str
    bare: str
    references: tuple[str, ...]
    targets: tuple[Target, ...]
    unit: str = "req/s"
    note: str = ""
    secondary: tuple[str, ...] = ()  # more targets of ours, shown under it, in no goal

    def target(self, name: str) -> Target:
        return next(t for t in self.targets if t.name == name)


def _rehosted(value, host: str):
    """`value` (a target's parameters) with every Host header set to `host`."""
    if isinstance(value, dict):
        return {k: host if k == "Host" else _rehosted(v, host) for k, v in value.items()}
    return value


def with_local_memory(scenario: Scenario, host: str, label: str | None = None) -> Scenario:
    """The scenario with ours' target repeated against the secondary instance at `host` (the
    local-memory cache, or `label`: an earlier checkout of ours)."""
    ours = scenario.target(scenario.ours)
    local = replace(
        ours,
        name=OURS_LOCAL,
        server=OURS_LOCAL,
        label=label or ours.label.replace(PRODUCTION, "local-memory cache"),
        params=_rehosted(ours.params, host),
    )
    return replace(scenario, targets=(*scenario.targets, local), secondary=(OURS_LOCAL,))


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


def _fixed(name, server, label, host, method, path, *, body=None, expected=200, **headers) -> Target:
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


def _token_list(name, server, label, host, path, token_file: Path, *, field_name, extra, auth) -> Target:
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


def _authorization_flow(name, server, label, host, creds: dict, *, openid: bool = False) -> Target:
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
    return _fixed(
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
    return _fixed(
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
    return _fixed(
        "ours",
        OURS,
        f"oauth-console /api/me, {PRODUCTION}",
        host,
        "GET",
        PATHS[OURS]["resource"],
        Authorization=f"Bearer {creds['bearer_token']}",
    )


def build(
    creds: dict[str, dict], hosts: dict[str, str], secondary_label: str | None = None
) -> list[Scenario]:
    """The scenarios, from each server's seed output (`creds[server]`) and `hosts[server]`
    ("127.0.0.1:port"); with a host for OURS_LOCAL, each scenario measures it too."""
    found = _build(creds, hosts)
    if OURS_LOCAL in hosts:
        found = [with_local_memory(scenario, hosts[OURS_LOCAL], secondary_label) for scenario in found]
    return found


def _build(creds: dict[str, dict], hosts: dict[str, str]) -> list[Scenario]:
    ours, dot, bare = creds[OURS], creds[DOT], creds[BARE]
    ho, hd, hb = hosts[OURS], hosts[DOT], hosts[BARE]
    po, pd = PATHS[OURS], PATHS[DOT]
    cc_body = CLIENT_CREDENTIALS_BODY
    bare_select = _fixed(
        "bare-select",
        BARE,
        "bare Django: one indexed SELECT",
        hb,
        "GET",
        f"{PATHS[BARE]['select']}?{urlencode({'key': bare['select_key']})}",
    )
    bare_insert = _fixed(
        "bare-insert",
        BARE,
        "bare Django: one INSERT",
        hb,
        "POST",
        PATHS[BARE]["insert"],
        body="",
        expected=201,
    )
    ours_app = basic_auth(ours["app"]["client_id"], ours["app"]["client_secret"])
    dot_app = basic_auth(dot["app"]["client_id"], dot["app"]["client_secret"])
    dot_plain = basic_auth(dot["cc_plain"]["client_id"], dot["cc_plain"]["client_secret"])

    return [
        Scenario(
            "client_credentials",
            "client_credentials token (client_secret_basic)",
            ours="ours",
            bare="bare-insert",
            references=("dot-hashed", "dot-plain"),
            targets=(
                ours_client_credentials(ours, ho),
                _fixed(
                    "dot-hashed",
                    DOT,
                    "django-oauth-toolkit, default hashed secret",
                    hd,
                    "POST",
                    pd["token"],
                    body=cc_body,
                    Authorization=basic_auth(
                        dot["cc_hashed"]["client_id"], dot["cc_hashed"]["client_secret"]
                    ),
                ),
                _fixed(
                    "dot-plain",
                    DOT,
                    "django-oauth-toolkit, hash_client_secret=False",
                    hd,
                    "POST",
                    pd["token"],
                    body=cc_body,
                    Authorization=dot_plain,
                ),
                bare_insert,
            ),
        ),
        Scenario(
            "bearer",
            "bearer-protected GET (scope profile)",
            ours="ours",
            bare="bare-select",
            references=("dot",),
            targets=(
                ours_bearer(ours, ho),
                _fixed(
                    "dot",
                    DOT,
                    "django-oauth-toolkit protected_resource",
                    hd,
                    "GET",
                    pd["resource"],
                    Authorization=f"Bearer {dot['bearer_token']}",
                ),
                bare_select,
            ),
        ),
        Scenario(
            "introspection",
            "introspection (RFC 7662, client_secret_basic)",
            ours="ours",
            bare="bare-select",
            references=("dot",),
            targets=(
                ours_introspection(ours, ho),
                _fixed(
                    "dot",
                    DOT,
                    "django-oauth-toolkit (plain secret)",
                    hd,
                    "POST",
                    pd["introspect"],
                    body=urlencode({"token": dot["bearer_token"]}),
                    Authorization=dot_app,
                ),
                bare_select,
            ),
        ),
        Scenario(
            "revocation",
            "revocation (RFC 7009), a distinct token per request",
            ours="ours",
            bare="bare-insert",
            references=("dot",),
            targets=(
                _token_list(
                    "ours",
                    OURS,
                    PRODUCTION_LABEL,
                    ho,
                    po["revoke"],
                    Path(ours["revoke_file"]),
                    field_name="token",
                    extra={"token_type_hint": "access_token"},
                    auth=ours_app,
                ),
                _token_list(
                    "dot",
                    DOT,
                    "django-oauth-toolkit (plain secret)",
                    hd,
                    pd["revoke"],
                    Path(dot["revoke_file"]),
                    field_name="token",
                    extra={"token_type_hint": "access_token"},
                    auth=dot_app,
                ),
                bare_insert,
            ),
        ),
        Scenario(
            "refresh",
            "refresh-token rotation, a distinct refresh token per request",
            ours="ours",
            bare="bare-insert",
            references=("dot",),
            targets=(
                _token_list(
                    "ours",
                    OURS,
                    PRODUCTION_LABEL,
                    ho,
                    po["token"],
                    Path(ours["refresh_file"]),
                    field_name="refresh_token",
                    extra={"grant_type": "refresh_token"},
                    auth=ours_app,
                ),
                _token_list(
                    "dot",
                    DOT,
                    "django-oauth-toolkit (plain secret)",
                    hd,
                    pd["token"],
                    Path(dot["refresh_file"]),
                    field_name="refresh_token",
                    extra={"grant_type": "refresh_token"},
                    auth=dot_app,
                ),
                bare_insert,
            ),
        ),
        Scenario(
            "authorization_code",
            "authorization code + PKCE, signed-in user, consent remembered",
            ours="ours",
            bare="bare-insert",
            references=("dot",),
            targets=(
                _authorization_flow("ours", OURS, PRODUCTION_LABEL, ho, ours),
                _authorization_flow(
                    "dot", DOT, "django-oauth-toolkit (plain secret, skip_authorization)", hd, dot
                ),
                bare_insert,
            ),
            unit="flows/s",
            note=(
                "One flow = GET /authorize (302 with a code) + POST /token, chained in one wrk script; "
                "latencies are per HTTP request. bare-insert is one request per operation."
            ),
        ),
        Scenario(
            "openid",
            "OpenID Connect sign-in: code + PKCE with openid, ID token (RS256), UserInfo",
            ours="ours",
            bare="bare-insert",
            references=("dot",),
            targets=(
                _authorization_flow("ours", OURS, PRODUCTION_LABEL, ho, ours, openid=True),
                _authorization_flow(
                    "dot",
                    DOT,
                    "django-oauth-toolkit OIDC (plain secret, skip_authorization, RS256)",
                    hd,
                    dot,
                    openid=True,
                ),
                bare_insert,
            ),
            unit="sign-ins/s",
            note=(
                "One sign-in = GET /authorize (scope openid profile, 302 with a code) + POST /token "
                "(an answer with an RS256 ID token) + GET UserInfo, chained in one wrk script. Ours' "
                "ID token and UserInfo carry the profile claims; django-oauth-toolkit's only sub (its "
                "default validator adds no claims)."
            ),
        ),
    ]
