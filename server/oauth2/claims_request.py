"""The `claims` request parameter (OpenID Connect Core §5.5): read, checked, and applied.

A relying party may ask for individual claims, for the ID token or for UserInfo, each null (asked
for) or an object with `essential` (a boolean), `value` or `values`:

    claims={"id_token": {"auth_time": {"essential": true}},
            "userinfo": {"email": {"essential": true}, "name": null}}

`parse_claims_request` checks it at the authorization endpoint (anything malformed is
`invalid_request`, redirected to the client) and returns the normalised form to store with the
code; `requested_claims` then says what a ID token or UserInfo answer was asked for.

What is delivered is the server's policy, not the request's: a requested claim is delivered only
when the scopes the person approved cover it (the consent page shows scopes, so an individual
claim never widens what was approved), essential or not (§5.5.1 lets a provider decline).
"""

from __future__ import annotations

import json
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError

__all__ = [
    "MAX_CLAIMS_REQUEST_LENGTH",
    "TARGETS",
    "parse_claims_request",
    "requested_claims",
    "requested_value",
]

TARGETS = ("userinfo", "id_token")
MAX_CLAIMS_REQUEST_LENGTH = 4096
MAX_CLAIM_NAME_LENGTH = 100
MAX_REQUESTED_CLAIMS = 50
MAX_VALUES = 20
_SCALARS = (str, int, float, bool)


def _refused(description: str) -> InvalidRequestError:
    return InvalidRequestError(f"The claims parameter {description} (OpenID Connect Core 5.5).")


def _checked_request(name: str, spec: Any) -> dict | None:
    """One claim's request: None (asked for) or {essential, value, values} checked."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise _refused(f"asks for {name[:40]!r} with something that is neither null nor an object")
    checked: dict = {}
    if "essential" in spec:
        if not isinstance(spec["essential"], bool):
            raise _refused(f"gives {name[:40]!r} an essential that is not true or false")
        checked["essential"] = spec["essential"]
    if "value" in spec:
        if not isinstance(spec["value"], _SCALARS):
            raise _refused(f"gives {name[:40]!r} a value that is not a string, number or boolean")
        checked["value"] = spec["value"]
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_VALUES:
            raise _refused(f"gives {name[:40]!r} values that are not an array of 1 to {MAX_VALUES} items")
        if not all(isinstance(v, _SCALARS) for v in values):
            raise _refused(f"gives {name[:40]!r} values that are not strings, numbers or booleans")
        checked["values"] = list(values)
    return checked  # other members (a claim's own extensions) are ignored, as §5.5 says


def parse_claims_request(text: str | None) -> dict | None:
    """The claims parameter as {"userinfo": {...}, "id_token": {...}} (only the members given),
    None when absent; InvalidRequestError when it is not the JSON object §5.5 describes."""
    if text is None or text == "":
        return None
    if len(text) > MAX_CLAIMS_REQUEST_LENGTH:
        raise _refused(f"is over {MAX_CLAIMS_REQUEST_LENGTH} characters")
    try:
        document = json.loads(text)
    except ValueError:
        raise _refused("is not valid JSON") from None
    if not isinstance(document, dict):
        raise _refused("must be a JSON object")
    parsed: dict = {}
    count = 0
    for target in TARGETS:
        if target not in document or document[target] is None:
            continue
        members = document[target]
        if not isinstance(members, dict):
            raise _refused(f"member {target} must be an object of claim names")
        parsed[target] = {}
        for name, spec in members.items():
            if not name or len(name) > MAX_CLAIM_NAME_LENGTH or not name.isprintable():
                raise _refused(
                    f"names a claim that is empty, over {MAX_CLAIM_NAME_LENGTH} characters or unprintable"
                )
            count += 1
            if count > MAX_REQUESTED_CLAIMS:
                raise _refused(f"asks for more than {MAX_REQUESTED_CLAIMS} claims")
            parsed[target][name] = _checked_request(name, spec)
    return parsed


def requested_claims(claims_request: dict | None, target: str) -> dict:
    """Claim name -> its request (None or {essential, value, values}) for `target`."""
    return dict((claims_request or {}).get(target) or {})


def requested_value(claims_request: dict | None, name: str) -> Any:
    """The `value` requested for claim `name` in either target (None when none was)."""
    for target in TARGETS:
        spec = requested_claims(claims_request, target).get(name)
        if isinstance(spec, dict) and "value" in spec:
            return spec["value"]
    return None
