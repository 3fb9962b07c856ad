"""The OpenID Connect sign-in's three requests, one endpoint each, for `bench.request_cost`:
exactly what `make bench`'s `openid` scenario sends (`bench.targets.authorization_flow` with
`openid`: the wrk script's paths, headers and bodies), on what its seed step made (the OpenID
app, its remembered consent, the signed-in session, the PKCE pair).

    openid-authorize   GET /oauth/authorize, scope openid profile -> 302 with a code
    openid-token       POST /oauth/token, the code with PKCE -> access token and RS256 ID token
    openid-userinfo    GET /oauth/userinfo with that access token -> the claims

A step's inputs (codes, access tokens) come from the steps before it, run by `supply` before the
step is measured (outside the measurement, and outside callgrind's instrumentation): a code lives
only OAUTH2_AUTHORIZATION_CODE_LIFETIME (60 s), longer than a few hundred token requests under
callgrind take, so codes are supplied in batches (`BATCH`) right before the ones that spend them.
"""

import json
from urllib.parse import parse_qs, urlsplit

from bench.targets import OURS, authorization_flow

STEPS = ("openid-authorize", "openid-token", "openid-userinfo")
# Requests measured between two supplies: their codes stay well inside a code's lifetime.
BATCH = 50


class Step:
    """One request of the sign-in: calling it gives the next request (method, path, headers,
    body); `status` is the answer expected; `supply(count)` readies inputs for `count` requests."""

    def __init__(self, name: str, status: str, make, check, supply=None):
        self.name, self.status = name, status
        self._make, self._check, self._supply = make, check, supply

    def __call__(self):
        return self._make()

    def check(self, headers: dict[str, str], body: bytes) -> str | None:
        """What is wrong with an answer, or None."""
        return self._check(headers, body)

    def supply(self, count: int) -> None:
        if self._supply is not None:
            self._supply(count)


def steps(creds: dict, host: str, call) -> dict[str, Step]:
    """The three steps; `call(request)` runs one request in the application, giving (status,
    headers, body)."""
    params = authorization_flow("ours", OURS, "", host, creds, openid=True).params
    codes: list[str] = []
    access_tokens: list[str] = []

    def authorize():
        return ("GET", params["AUTHORIZE_PATH"], params["AUTHORIZE_HEADERS"], b"")

    def code_of(headers: dict[str, str]) -> str | None:
        found = parse_qs(urlsplit(headers.get("Location", "")).query).get("code")
        return found[0] if found else None

    def token():
        body = (params["TOKEN_BODY_PREFIX"] + codes.pop()).encode()
        return ("POST", params["TOKEN_PATH"], params["TOKEN_HEADERS"], body)

    def userinfo():
        headers = params["USERINFO_HEADERS"] | {"Authorization": f"Bearer {access_tokens.pop()}"}
        return ("GET", params["USERINFO_PATH"], headers, b"")

    def supply_codes(count: int) -> None:
        codes.clear()  # older ones may have expired
        for _ in range(count):
            status, headers, body = call(authorize())
            if not status.startswith("302") or code_of(headers) is None:
                raise SystemExit(f"authorize: {status} {headers.get('Location')} {body[:300]!r}")
            codes.append(code_of(headers))

    def supply_access_tokens(count: int) -> None:
        supply_codes(count)
        access_tokens.clear()
        for _ in range(count):
            status, _headers, body = call(token())
            if not status.startswith("200"):
                raise SystemExit(f"token: {status} {body[:300]!r}")
            access_tokens.append(json.loads(body)["access_token"])

    def redirected_with_code(headers, body):
        return None if code_of(headers) else f"no code in {headers.get('Location')!r}"

    def with_id_token(headers, body):
        return None if b'"id_token"' in body else f"no id_token in {body[:300]!r}"

    def with_sub(headers, body):
        return None if b'"sub"' in body else f"no sub in {body[:300]!r}"

    return {
        "openid-authorize": Step("openid-authorize", "302", authorize, redirected_with_code),
        "openid-token": Step("openid-token", "200", token, with_id_token, supply_codes),
        "openid-userinfo": Step("openid-userinfo", "200", userinfo, with_sub, supply_access_tokens),
    }
