"""The claims an ID token and UserInfo carry about a user: one hook for both (OAUTH2_OIDC_CLAIMS).

The hook is `callable(user, scopes, client) -> dict`, given the granted scopes as a list; it
returns the claims those scopes allow. `sub` is not the hook's: `subject_for` sets it (public
subject identifiers: the user's primary key as text, stable and never reassigned).
"""

from functools import lru_cache

from django.utils.module_loading import import_string

from server.conf import server_settings


def standard_claims(user, scopes: list[str], client) -> dict:
    """Django's user model: `profile` -> name, given_name, family_name, preferred_username;
    `email` -> email, email_verified (False unless the user model says otherwise: Django does
    not verify addresses). Empty values are left out."""
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
    return {name: value for name, value in claims.items() if value not in ("", None)}


# What standard_claims can return, for the discovery document's claims_supported.
STANDARD_CLAIM_NAMES = ("name", "given_name", "family_name", "preferred_username", "email", "email_verified")


@lru_cache(maxsize=4)
def _hook(path: str):
    return import_string(path)


def claims_for(user, scopes: list[str], client) -> dict:
    """The claims of the configured hook (OAUTH2_OIDC_CLAIMS) for `user` and `scopes`."""
    return dict(_hook(server_settings.OAUTH2_OIDC_CLAIMS)(user, list(scopes), client))


def subject_for(user, client) -> str:
    """The `sub` of `user` for `client`: public (the same for every client)."""
    return str(user.pk)
