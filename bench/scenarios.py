"""What is measured: each scenario puts our endpoint beside its bare-Django floor and its
django-oauth-toolkit counterpart, with the exact requests wrk sends to each (bench/targets.py).

Pure data: `build` turns the credentials each seed step printed into targets; nothing here
starts a server or runs wrk.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

from bench.targets import (
    BARE,
    CLIENT_CREDENTIALS_BODY,
    DOT,
    OURS,
    OURS_LOCAL,
    PATHS,
    PRODUCTION,
    PRODUCTION_LABEL,
    Target,
    authorization_flow,
    basic_auth,
    fixed_request,
    ours_bearer,
    ours_client_credentials,
    ours_introspection,
    token_list,
)


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
    bare_select = fixed_request(
        "bare-select",
        BARE,
        "bare Django: one indexed SELECT",
        hb,
        "GET",
        f"{PATHS[BARE]['select']}?{urlencode({'key': bare['select_key']})}",
    )
    bare_insert = fixed_request(
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
                fixed_request(
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
                fixed_request(
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
                fixed_request(
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
                fixed_request(
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
                token_list(
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
                token_list(
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
                token_list(
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
                token_list(
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
                authorization_flow("ours", OURS, PRODUCTION_LABEL, ho, ours),
                authorization_flow(
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
                authorization_flow("ours", OURS, PRODUCTION_LABEL, ho, ours, openid=True),
                authorization_flow(
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
