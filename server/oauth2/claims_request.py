"""The `claims` request parameter (OpenID Connect Core §5.5): read, checked, and applied.

A relying party may ask for individual claims, for the ID token or for UserInfo, each null (asked
for) or an object with `essential` (a boolean), `value` or `values`:

    claims={"id_token": {"auth_time": {"essential": true}},
            "userinfo": {"email": {"essential": true}, "name": null}}

`parse_claims_request` checks it at the authorization endpoint (anything malformed is
`invalid_request`, redirected to the client) and returns the normalised form to store with the
code; `requested_claims` then says what a ID token or UserInfo answer was asked for.

What is delivered is what the person approved: the claims of the approved scopes (in the ID token
and UserInfo), and the claims requested one by one that no requested scope covers, when the
consent page listed them and the person allowed it (`consentable_claims`: only the standard
claims of a scope the client may have, OIDC Core §5.4). Those are delivered exactly where they
were requested (`granted_claims`, `add_granted_claims`); a claim the person was not asked about
is not delivered, essential or not (§5.5.1 lets a provider decline).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError

__all__ = [
    "MAX_CLAIMS_REQUEST_LENGTH",
    "SCOPE_CLAIMS",
    "TARGETS",
    "add_granted_claims",
    "consentable_claims",
    "essential_acr_unmet",
    "granted_claims",
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
# OIDC Core §5.4: the standard claims each scope value asks for.
SCOPE_CLAIMS = {
    "profile": (
        *("name", "family_name", "given_name", "middle_name", "nickname", "preferred_username"),
        *("profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"),
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}
_SCOPE_OF = {claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims}


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


def essential_acr_unmet(claims_request: dict | None, supported: Iterable[str] = ()) -> bool:
    """Whether the ID token's `acr` is requested as essential with a `value` or `values` of
    which none is `supported` (OIDC Core §5.5.1.1: "MUST treat that outcome as a failed
    authentication attempt"). This provider defines no authentication context classes and
    claims no `acr`, so by default any such request is unmet; a voluntary `acr`, or an
    essential one without values, asks for nothing that could fail."""
    spec = requested_claims(claims_request, "id_token").get("acr")
    if not isinstance(spec, dict) or spec.get("essential") is not True:
        return False
    wanted = [spec["value"]] if "value" in spec else []
    wanted += spec.get("values") or []
    return bool(wanted) and not set(map(str, wanted)) & set(supported)


def requested_value(claims_request: dict | None, name: str) -> Any:
    """The `value` requested for claim `name` in either target (None when none was)."""
    for target in TARGETS:
        spec = requested_claims(claims_request, target).get(name)
        if isinstance(spec, dict) and "value" in spec:
            return spec["value"]
    return None


def consentable_claims(
    claims_request: dict | None, scope: str, allowed_scopes: list[str], supported=None
) -> list[str]:
    """The claims requested one by one (either target, in the request's order) that the consent
    page must ask about: standard claims (SCOPE_CLAIMS; of those, only the `supported` ones when
    given: what the server can deliver) whose scope the client may have (`allowed_scopes`) but
    `scope`, the requested scope, does not hold. Others are not asked about and never delivered
    (protocol claims such as auth_time, and unknown ones)."""
    requested = scope.split()
    names = [name for target in TARGETS for name in requested_claims(claims_request, target)]
    return [
        name
        for name in dict.fromkeys(names)
        if name in _SCOPE_OF
        and (supported is None or name in supported)
        and _SCOPE_OF[name] in allowed_scopes
        and _SCOPE_OF[name] not in requested
    ]


def granted_claims(claims_request: dict | None, consented: list[str]) -> dict[str, list[str]]:
    """{target: the `consented` claims requested for it}; targets with none left out."""
    granted = {
        target: [name for name in requested_claims(claims_request, target) if name in consented]
        for target in TARGETS
    }
    return {target: names for target, names in granted.items() if names}


def add_granted_claims(claims: dict, user_claims, user: Any, scopes: list[str], client: Any, names) -> dict:
    """`claims` (the approved scopes' claims) plus exactly the individually approved `names`,
    read through the same hook (`user_claims`) with the scopes that hold them: never the rest
    of those scopes' claims."""
    names = [name for name in names if name in _SCOPE_OF]
    if not names:
        return claims
    wider = list(dict.fromkeys([*scopes, *(_SCOPE_OF[name] for name in names)]))
    more = user_claims(user, wider, client)
    return {**claims, **{name: more[name] for name in names if name in more}}
