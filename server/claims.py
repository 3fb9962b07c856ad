"""The claims an ID token and UserInfo carry about a user: one hook for both (OAUTH2_OIDC_CLAIMS).

The hook is `callable(user, scopes, client) -> dict`, given the granted scopes as a list; it
returns the claims those scopes allow. `sub` is not the hook's: `subject_for` sets it: public
subject identifiers are the user's primary key as text (stable, never reassigned); a pairwise
client (OIDC Core §8.1) gets a keyed hash of its sector identifier and that key, so two clients
in different sectors cannot tell they share a user.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from server.conf import server_settings
from server.oauth2.claims_request import consentable_claims
from server.oidc_policy import PAIRWISE_SUBJECT

# OIDC Core §5.1.1: the members of the `address` claim.
ADDRESS_MEMBERS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


def _address_of(user) -> dict:
    """The user's `address` attribute as OIDC's address claim: a dict (its known members kept)
    or a text (the formatted address); {} when the user model has none."""
    value = getattr(user, "address", None)
    if isinstance(value, str):
        return {"formatted": value} if value.strip() else {}
    if isinstance(value, dict):
        return {k: str(value[k]) for k in ADDRESS_MEMBERS if value.get(k) not in (None, "")}
    return {}


def standard_claims(user, scopes: list[str], client) -> dict:
    """Django's user model, and the attributes a custom one may add (OIDC Core §5.4):
    `profile` -> name, given_name, family_name, preferred_username; `email` -> email,
    email_verified (False unless the user model has a true `email_verified`: Django does not
    verify addresses); `address` -> address (from a `address` attribute: a dict of
    ADDRESS_MEMBERS or a formatted text); `phone` -> phone_number, phone_number_verified (from
    `phone_number` and `phone_number_verified` attributes). Empty values are left out."""
    claims: dict = {}
    if "profile" in scopes:
        first, last = getattr(user, "first_name", ""), getattr(user, "last_name", "")
        claims.update(
            name=f"{first} {last}".strip(),
            given_name=first,
            family_name=last,
            preferred_username=user.get_username(),
        )
    if "email" in scopes and getattr(user, "email", ""):
        claims.update(email=user.email, email_verified=bool(getattr(user, "email_verified", False)))
    if "address" in scopes:
        claims["address"] = _address_of(user) or None
    if "phone" in scopes and getattr(user, "phone_number", ""):
        claims.update(
            phone_number=str(user.phone_number),
            phone_number_verified=bool(getattr(user, "phone_number_verified", False)),
        )
    return {name: value for name, value in claims.items() if value not in ("", None)}


# What standard_claims can return, for the discovery document's claims_supported.
STANDARD_CLAIM_NAMES = (
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
    "address",
    "phone_number",
    "phone_number_verified",
)


def consentable_claims_for(claims_request: dict | None, scope: str, client) -> list[str]:
    """The claims a request names one by one that the consent page asks about and a code then
    carries: the claims_supported ones (STANDARD_CLAIM_NAMES, as discovery says) of a scope the
    client may have that the requested `scope` does not hold. One function for the page
    (`server.consent_page`) and the code (`server.bindings.grants`)."""
    return consentable_claims(claims_request, scope, client.scope_list, STANDARD_CLAIM_NAMES)


@lru_cache(maxsize=4)
def _hook(path: str):
    return import_string(path)


def claims_for(user, scopes: list[str], client) -> dict:
    """The claims of the configured hook (OAUTH2_OIDC_CLAIMS) for `user` and `scopes`."""
    return dict(_hook(server_settings.OAUTH2_OIDC_CLAIMS)(user, list(scopes), client))


@lru_cache(maxsize=4)
def _pairwise_key(configured: str, secret_key: str) -> bytes:
    # Derived like the credential digests' key, under its own label: the same settings keep
    # every pairwise sub stable (changing OAUTH2_CREDENTIAL_KEY, or SECRET_KEY without it,
    # changes them all, as it voids every stored credential).
    material = configured or secret_key
    return hashlib.sha256(b"oauth-console pairwise subject v1\x00" + material.encode()).digest()


def pairwise_subject(sector: str, local_id: str) -> str:
    """OIDC Core §8.1: HMAC-SHA256 of the sector identifier and the user's local id, under a key
    derived from the settings; 43 URL-safe characters. Not reversible without the key, the same
    for every client of one sector."""
    key = _pairwise_key(server_settings.OAUTH2_CREDENTIAL_KEY, settings.SECRET_KEY)
    mac = hmac.new(key, f"{sector}\x00{local_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def subject_for(user, client) -> str:
    """The `sub` of `user` for `client`: public (the user's primary key, the same for every
    client), or pairwise for a client registered so (`Client.sector_identifier`; a row set to
    pairwise around the policy, without a sector, uses its client_id as its own sector)."""
    if client is not None and getattr(client, "subject_type", "") == PAIRWISE_SUBJECT:
        return pairwise_subject(client.sector_identifier or f"client:{client.client_id}", str(user.pk))
    return str(user.pk)
