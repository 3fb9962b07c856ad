"""The settings the `server` app reads, each with its default: the app runs in a project that
sets none of them (tests/server/test_standalone.py proves it).

Read them as `server_settings.OAUTH2_ISSUER`: the project's setting, else the default here. The
first read of each is kept as a plain attribute (a later read costs less than `settings.X`; an
uncached lookup through `__getattr__` cost ~4x `settings.X` per read, on the protocol hot path),
and every `setting_changed` (sent by `override_settings` and the pytest `settings` fixture)
forgets them all. Defaults computed from other settings (OAUTH2_REQUIRE_HTTPS from DEBUG, which
the test runner changes without that signal) are never kept.

`server.oauth2` is model- and project-agnostic and imports nothing of `server`: the few
settings it reads (marked "also server.oauth2" below) it reads itself, with the same defaults.
`docs/deployment.md`'s "Settings" table is generated from SETTINGS (`python -m server.conf`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


@dataclass(frozen=True)
class Setting:
    default: Any
    meaning: str
    # Shown in the docs instead of repr(default), for defaults computed from other settings.
    shown: str = ""
    # Computes the default from django.conf.settings at read time (e.g. "on unless DEBUG").
    computed: Callable[[], Any] | None = None

    def value(self, name: str) -> Any:
        try:
            return getattr(settings, name)
        except AttributeError:
            return self.computed() if self.computed else self.default


# The rates (server/ratelimit): "count/seconds" per fixed window; "off" (or "", "0") turns one off.
DEFAULT_RATE_LIMITS = {
    # Requests per client address and per claimed client_id.
    "token_ip": "600/60",
    "token_client": "1200/60",
    "introspect_ip": "1200/60",
    "introspect_client": "2400/60",
    "revoke_ip": "300/60",
    "revoke_client": "600/60",
    "register_ip": "60/3600",
    # Failed sign-ins (/accounts/login/, /admin/login/) per address and per account; a successful
    # sign-in is not counted, and an account at its limit still lets in the browsers and addresses
    # it signed in from before (OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL).
    "login_ip": "30/300",
    "login_username": "10/300",
    # Developer self sign-up POSTs (/developers/signup/) per address.
    "signup_ip": "10/3600",
    # Failed client authentications (secret guessing): a client_id is locked at one address after
    # this many, and at every address it never authenticated from after the higher number.
    "auth_failures_client_ip": "10/900",
    "auth_failures_client": "100/900",
    # The operator API (/api/v1/, oauth_console/api): requests per address (counted before the
    # bearer token is checked, so token guessing is limited too) and per calling client.
    "api_ip": "600/60",
    "api_client": "1200/60",
    # User codes typed at /device (RFC 8628 §5.1): attempts per address and per signed-in user;
    # one that finds a waiting device is taken back. 20^8 codes, so guessing one live code at
    # these rates takes centuries.
    "user_code_ip": "30/900",
    "user_code_user": "10/900",
}

DEFAULT_SCOPES_TEXT = {
    "openid": "Sign you in to the app with your account (it learns an identifier for you)",
    "profile": "See your user name and basic profile",
    "email": "See your email address",
    "address": "See your postal address",
    "phone": "See your phone number",
    "read": "Read your data",
    "write": "Create and change your data",
}

# The operator API's scopes (docs/api.md): never in OAUTH2_SCOPES, so the consent page, the
# metadata's scopes_supported, the portal and dynamic registration never offer them and no
# client gets one by default; an operator grants them (policies.validate_scopes), only to a
# confidential client whose one grant is client_credentials.
DEFAULT_OPERATOR_SCOPES = {
    "console:clients:read": "Read clients, secrets' metadata, tokens, consents and initial access tokens",
    "console:clients:write": "Create, change, disable, approve and delete clients; rotate secrets",
    "console:tokens:revoke": "Revoke tokens and consents",
    "console:audit:read": "Read and export the audit log",
    "console:keys:write": "Read, rotate and revoke the OpenID Connect signing keys",
    "console:webhooks:write": "Read, subscribe, change and delete webhooks; rotate secrets, test, replay",
}

SETTINGS: dict[str, Setting] = {
    "OAUTH2_ISSUER": Setting(
        "",
        "The issuer identifier (RFC 8414, RFC 9207), e.g. `https://auth.example.com`. Empty: taken "
        "from each request's host, allowed only with `DEBUG` on (check `server.E001`). "
        "Also server.oauth2.",
        shown="from the request's host",
    ),
    "OAUTH2_REQUIRE_HTTPS": Setting(
        True,
        "Protocol endpoints refuse plain HTTP (check `server.W001` with `--deploy` when it is off "
        "with `DEBUG` off).",
        shown="on unless `DEBUG`",
        computed=lambda: not settings.DEBUG,
    ),
    "OAUTH2_CREDENTIAL_KEY": Setting(
        "",
        "Key of the HMAC digests of secrets and tokens. Empty: derived from `SECRET_KEY`, so rotating "
        "that invalidates every credential (check `server.W003` with `--deploy`).",
        shown="derived from `SECRET_KEY`",
    ),
    "OAUTH2_KEY_ENCRYPTION_KEY": Setting(
        "",
        "Key that encrypts the signing keys' private halves at rest (AES-GCM). Empty: derived from "
        "`OAUTH2_CREDENTIAL_KEY`, else `SECRET_KEY`; changing it makes the stored keys unreadable "
        "(check `server.W004` with `--deploy`).",
        shown="derived from `OAUTH2_CREDENTIAL_KEY`",
    ),
    "OAUTH2_ID_TOKEN_LIFETIME": Setting(3600, "Seconds an ID token is valid (its `exp`)."),
    "OAUTH2_SIGNING_KEY_LEAD_TIME": Setting(
        2 * 24 * 3600,
        "Seconds a *next* signing key is published before `rotate_signing_keys` activates it "
        "(relying parties' cached JWKS must already hold it).",
    ),
    "OAUTH2_SIGNING_KEY_MAX_AGE": Setting(
        0,
        "Seconds an active signing key signs before `rotate_signing_keys --if-due` (run it from a "
        "periodic job) rotates it; its next key is published a lead time before. 0: no automatic "
        "rotation. Must be longer than `OAUTH2_SIGNING_KEY_LEAD_TIME` (check `server.E007`).",
    ),
    "OAUTH2_JWKS_MAX_AGE": Setting(
        3600,
        "`Cache-Control: max-age` of the JWKS; must be shorter than `OAUTH2_SIGNING_KEY_LEAD_TIME` "
        "(check `server.E006`).",
    ),
    "OAUTH2_OIDC_CLAIMS": Setting(
        "server.claims.standard_claims",
        "Dotted path of `callable(user, scopes, client) -> dict`: the claims of the ID token and "
        "UserInfo for the granted scopes (`sub` is set by the server). docs/oidc.md has an example.",
    ),
    "OAUTH2_CLIENT_ASSERTION_MAX_LIFETIME": Setting(
        300,
        "Seconds ahead the `exp` of a `private_key_jwt` client assertion may be (RFC 7523); a "
        "later `exp` is refused. Also how long its `jti` is remembered at most.",
    ),
    "OAUTH2_REPLAY_CACHE": Setting(
        "default",
        "The cache alias that remembers used client-assertion `jti`s; a shared one (Redis) in "
        "production, or a replay to another worker succeeds (check `server.W005` with `--deploy`).",
    ),
    "OAUTH2_OUTBOUND_ALLOWED_NETWORKS": Setting(
        (),
        "Networks (CIDR) the SSRF guard (`server/outbound.py`) lets the server connect to although "
        'they are private, loopback or link-local, e.g. `["10.1.2.0/24"]` for an internal key server.',
        shown="none",
    ),
    "OAUTH2_OUTBOUND_CA_BUNDLE": Setting(
        "", "A CA bundle file for outbound https (e.g. an internal CA); empty: the system's."
    ),
    "OAUTH2_OUTBOUND_TIMEOUT": Setting(
        5, "Seconds an outbound request (a client's `jwks_uri`) may take to connect, per read, and in all."
    ),
    "OAUTH2_JWKS_URI_MAX_BYTES": Setting(65536, "The largest JWK Set fetched from a client's `jwks_uri`."),
    "OAUTH2_LOGOUT_QUEUE": Setting(
        "logout",
        "The task queue (`TASKS`) of back-channel logout deliveries; the task backend must list it "
        "(check `server.E011`).",
    ),
    "OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS": Setting(
        5,
        "How many times the task worker POSTs a logout token to a client's `backchannel_logout_uri` "
        "before giving up (audited as `backchannel_logout_failed`).",
    ),
    "OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY": Setting(
        30,
        "Seconds before the first retry of a failed back-channel logout; doubled for each next one "
        "(30, 60, 120, 240 s by default).",
    ),
    "OAUTH2_LOGOUT_REVOKES_TOKENS": Setting(
        True,
        "Whether ending a browser session (RP-initiated logout, the site's or the admin's sign-out) "
        "revokes the access and refresh tokens issued in it (the code flow's with `openid`, and "
        "their refreshes) and expires its unredeemed codes; tokens of no browser session (client "
        "credentials, device flow, plain "
        "OAuth codes) are never touched (docs/oidc.md, Logout).",
    ),
    "OAUTH2_WEBHOOK_TIMEOUT": Setting(
        10, "Seconds a webhook delivery may take to connect, per read, and in all (docs/webhooks.md)."
    ),
    "OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES": Setting(
        65536, "The most of a webhook receiver's answer that is read; a longer answer is a failed attempt."
    ),
    "OAUTH2_WEBHOOK_MAX_ATTEMPTS": Setting(
        10,
        "Attempts of one webhook delivery before it is dead-lettered (audited; the deliveries after "
        "it in its subscription then go on). At least 1 (check `server.E013`).",
    ),
    "OAUTH2_WEBHOOK_RETRY_DELAY": Setting(
        30,
        "Seconds before a failed webhook delivery's first retry; each further retry waits twice as "
        "long, up to `OAUTH2_WEBHOOK_MAX_RETRY_DELAY`.",
    ),
    "OAUTH2_WEBHOOK_MAX_RETRY_DELAY": Setting(
        6 * 3600, "The longest wait between two attempts of a delivery."
    ),
    "OAUTH2_WEBHOOK_SECRET_OVERLAP": Setting(
        24 * 3600,
        "Seconds a webhook subscription's previous secret keeps signing (a second signature in "
        "`webhook-signature`) after a rotation, so receivers can switch without losing a delivery.",
    ),
    "OAUTH2_ACCESS_TOKEN_LIFETIME": Setting(3600, "Seconds an access token lives. Also server.oauth2."),
    "OAUTH2_ACCESS_TOKEN_FORMAT": Setting(
        "opaque",
        '"opaque" (random `oat_` strings, checked against the database) or "jwt" (RFC 9068 JWTs '
        "signed with the managed signing keys, which resource servers can validate offline; "
        "docs/jwt-access-tokens.md). `jwt` needs `OAUTH2_ISSUER` (check `server.E015`); with "
        "`--deploy`, check `server.W010` warns when their lifetime is over an hour.",
    ),
    "OAUTH2_REFRESH_TOKEN_LIFETIME": Setting(30 * 24 * 3600, "Seconds a refresh token lives (30 days)."),
    "OAUTH2_AUTHORIZATION_CODE_LIFETIME": Setting(60, "Seconds an authorization code lives."),
    "OAUTH2_DEVICE_CODE_LIFETIME": Setting(
        600, "Seconds a device code and its user code live (RFC 8628 §3.2 `expires_in`)."
    ),
    "OAUTH2_DEVICE_POLL_INTERVAL": Setting(
        5,
        "Seconds a device must wait between polls of the token endpoint (RFC 8628 `interval`); "
        "each poll that comes sooner is `slow_down` and adds 5 s.",
    ),
    "OAUTH2_DEVICE_VERIFICATION_URI": Setting(
        "",
        "The page people type the user code into (`verification_uri`). Empty: the issuer's `/device`.",
        shown="the issuer's `/device`",
    ),
    "OAUTH2_REQUIRE_PKCE": Setting(
        True, "PKCE S256 for every code flow (always for public clients). Also server.oauth2."
    ),
    "OAUTH2_ALWAYS_ASK_CONSENT": Setting(
        False, "Ask for consent on every authorization, even when an earlier one covers the scopes."
    ),
    "OAUTH2_SCOPES": Setting(
        DEFAULT_SCOPES_TEXT,
        "The scopes this server knows, name -> the text the consent page shows.",
        shown="`openid`, `profile`, `email`, `address`, `phone`, `read`, `write`",
    ),
    "OAUTH2_OPERATOR_SCOPES": Setting(
        DEFAULT_OPERATOR_SCOPES,
        "The operator API's scopes, name -> meaning: granted only by an operator, only to a "
        "client whose one grant type is client_credentials, never on the consent page; none may "
        "be in `OAUTH2_SCOPES` (check `server.E010`).",
        shown="`console:clients:read`, `console:clients:write`, `console:tokens:revoke`, "
        "`console:audit:read`, `console:keys:write`, `console:webhooks:write`",
    ),
    "OAUTH2_DEFAULT_SCOPES": Setting(
        ("profile",),
        "What a request that names no scope gets (those of these the client may have); empty: "
        "`invalid_scope`. Each must be in `OAUTH2_SCOPES` (check `server.E004`); never `openid`, "
        "which an OpenID Connect request names itself (check `server.W011`).",
        shown="`profile`",
    ),
    "OAUTH2_OPEN_REGISTRATION": Setting(False, "RFC 7591 registration without an initial access token."),
    "OAUTH2_DCR_AUTO_APPROVE": Setting(
        True, "Clients registered with an operator's initial access token start active."
    ),
    "OAUTH2_PREPARED_STATEMENTS": Setting(
        True, "PostgreSQL: prepare the hot-path statements once per connection (off behind PgBouncer < 1.21)."
    ),
    "OAUTH2_RATE_LIMIT_ENABLED": Setting(True, "Rate limiting on the protocol endpoints and sign-in forms."),
    "OAUTH2_RATE_LIMITS": Setting(
        DEFAULT_RATE_LIMITS,
        'name -> "count/seconds" or "off"; names left out keep their default (check `server.E003`).',
        shown="see `server/conf.py`",
    ),
    "OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL": Setting(
        7 * 24 * 3600,
        "Seconds an address a client authenticated from, or a user signed in from, stays exempt "
        "from that client's or account's lockout.",
    ),
    "OAUTH2_RATE_LIMIT_CACHE": Setting(
        "default",
        "The cache alias holding the counters; a shared one (Redis) in production (check "
        "`server.W002` with `--deploy`).",
    ),
    "OAUTH2_RATE_LIMIT_PROXY_COUNT": Setting(
        0,
        "Trusted reverse proxies in front of the app (0: the client is REMOTE_ADDR); this project's "
        "settings default it to `AUDIT_PROXY_COUNT`.",
    ),
    "OAUTH2_RESOURCE_PROTECTOR": Setting(
        "", "server.oauth2 only: dotted path of the ResourceProtector `OAuthMiddleware` uses."
    ),
    "OAUTH2_TOKEN_MODEL": Setting(
        "", 'server.oauth2 only: "app_label.Model" of the tokens `OAuthMiddleware` checks.'
    ),
}


class ServerSettings:
    """`server_settings.NAME`: the project's setting NAME, else its default in SETTINGS."""

    def __getattr__(self, name: str) -> Any:
        try:
            setting = SETTINGS[name]
        except KeyError:
            raise AttributeError(f"{name} is not a setting of the server app (server/conf.py)") from None
        value = setting.value(name)
        if name == "OAUTH2_RATE_LIMITS":
            # A project that sets a few rates keeps the others.
            value = {**DEFAULT_RATE_LIMITS, **value}
        if setting.computed is None or hasattr(settings, name):
            # Kept: the next read finds the instance attribute and skips __getattr__.
            self.__dict__[name] = value
        return value

    def __dir__(self):
        return list(SETTINGS)

    def forget(self, **kwargs) -> None:
        self.__dict__.clear()


server_settings = ServerSettings()
setting_changed.connect(server_settings.forget, dispatch_uid="server.conf.forget")


def kept_until_changed(*names: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Keep what a function of no arguments computes from settings (a key derived from
    SECRET_KEY) until one of the settings `names` changes (`setting_changed`): a read through
    `django.conf.settings` costs a few thousand instructions, and the hot paths derive such keys
    on every request."""

    def decorate(compute: Callable[[], Any]) -> Callable[[], Any]:
        kept: list[Any] = []

        def read() -> Any:
            if not kept:
                kept.append(compute())
            return kept[0]

        def forget(*, setting: str, **_kwargs: Any) -> None:
            if setting in names:
                kept.clear()

        setting_changed.connect(
            forget, weak=False, dispatch_uid=f"server.conf.kept:{compute.__module__}.{compute.__qualname__}"
        )
        return read

    return decorate


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"`{default}`" if default != "" else "empty"


def settings_table() -> str:
    """The Markdown table of SETTINGS for docs/deployment.md."""
    rows = ["| Setting | Default | Meaning |", "| --- | --- | --- |"]
    for name, setting in SETTINGS.items():
        shown = setting.shown or _shown(setting.default)
        rows.append(f"| `{name}` | {shown} | {setting.meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
