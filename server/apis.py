"""Reading the APIs (resource servers): identifiers, audiences, scopes, who may ask for which.

The default API is this server's own (`/api/me`, UserInfo, the operator API at `/api/v1/`): its
identifier is the issuer followed by DEFAULT_API_PATH, so it follows OAUTH2_ISSUER (or, in
development, the request's host), and a token stored with an empty audience is for it.
"""

from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest

from server import policies
from server.issuer import issuer_for
from server.models import Api, Client

DEFAULT_API_PATH = "/api"
DEFAULT_API_NAME = "This server's API"


def default_identifier(request: HttpRequest | None) -> str:
    """The default API's identifier: the issuer + DEFAULT_API_PATH."""
    return issuer_for(request) + DEFAULT_API_PATH


def identifier_of(api: Api, request: HttpRequest | None) -> str:
    return default_identifier(request) if api.is_default else api.identifier


def default_api() -> Api:
    """The default API's row (unsaved stand-in when the data migration has not made it)."""
    found = Api.objects.filter(is_default=True).first()
    return found if found is not None else Api(is_default=True, name=DEFAULT_API_NAME)


def scopes_of(api: Api) -> dict[str, str]:
    """{scope: description} an API defines; the default API's are OAUTH2_SCOPES."""
    return policies.configured_scopes() if api.is_default else dict(api.scopes)


def audience_of(stored: str | list[str], request: HttpRequest | None) -> list[str]:
    """A code's or token's audience as identifiers; an empty one is the default API's."""
    values = stored.split() if isinstance(stored, str) else list(stored)
    return values or [default_identifier(request)]


def apis_for(
    client: Client, identifiers: list[str], request: HttpRequest | None
) -> dict[str, tuple[Api, bool]]:
    """{identifier: (api, whether `client` may ask for it)} for the known ones of `identifiers`:
    one query. Every client may ask for the default API; another API names its clients, or
    lets any client ask (`allow_any_client`)."""
    default = default_identifier(request)
    permitted = Api.allowed_clients.through.objects.filter(api_id=OuterRef("pk"), client_id=client.pk)
    rows = Api.objects.filter(Q(identifier__in=identifiers) | Q(is_default=True)).annotate(
        permitted=Exists(permitted)
    )
    found: dict[str, tuple[Api, bool]] = {}
    for api in rows:
        identifier = default if api.is_default else api.identifier
        if identifier in identifiers:
            found[identifier] = (api, api.is_default or api.allow_any_client or api.permitted)
    if default in identifiers and default not in found:
        found[default] = (default_api(), True)
    return found


def scopes_by_api(scope: str, audience: list[str], request: HttpRequest | None) -> list[dict]:
    """The consent page's groups: [{"name", "identifier", "scopes": [(scope, description)]}].

    The named APIs of `audience` first, each with the requested scopes it defines; then the
    default API (this server) with the rest (its own scopes, OpenID Connect's `openid`).
    """
    left = scope.split()
    default = default_identifier(request)
    named = [identifier for identifier in audience if identifier != default]
    rows = {api.identifier: api for api in Api.objects.filter(identifier__in=named, is_default=False)}
    groups: list[dict] = []
    for identifier, api in [*((i, rows[i]) for i in named if i in rows), (default, default_api())]:
        defined = scopes_of(api)
        mine = left if api.is_default else [s for s in left if s in defined]
        left = [s for s in left if s not in mine]
        if mine:
            groups.append(
                {
                    "name": api.name,
                    "identifier": identifier,
                    "scopes": [(s, defined.get(s, "")) for s in mine],
                }
            )
    return groups
