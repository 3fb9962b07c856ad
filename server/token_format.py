"""Which format an access token takes: "opaque" (a random `oat_` string only our database can
check) or "jwt" (an RFC 9068 JWT that resource servers validate offline against our JWKS).

The API (resource server) the token is for decides (`Api.token_format`); this server's own API,
the default one, is configured by settings like its scopes: OAUTH2_ACCESS_TOKEN_FORMAT. A token
for several APIs is a JWT only when every one of them chose JWTs: an API that checks tokens
against this server keeps getting one it can check. The one caller is
`server.bindings.authorization_server.generate_access_token`.
"""

from collections.abc import Iterable
from typing import Literal

from server.conf import server_settings
from server.models import Api, Client

TokenFormat = Literal["opaque", "jwt"]
FORMATS: tuple[str, ...] = ("opaque", "jwt")
OPAQUE = Api.TokenFormat.OPAQUE.value
JWT = Api.TokenFormat.JWT.value


def default_api_format() -> TokenFormat:
    """The default API's format (an unknown setting value, check `server.E015`: opaque)."""
    return JWT if server_settings.OAUTH2_ACCESS_TOKEN_FORMAT == JWT else OPAQUE


def format_for(client: Client, resources: Iterable[str] = ()) -> TokenFormat:
    """The format of an access token issued to `client` for `resources` (its RFC 8707 audience,
    `request.resources` of the grant; none, or an identifier matching no API row: the default
    API)."""
    del client  # the API decides; a per-client override would go here
    identifiers = [value for value in resources if value]
    if not identifiers:
        return default_api_format()
    named = Api.objects.filter(identifier__in=identifiers, is_default=False)
    rows = dict(named.values_list("identifier", "token_format"))
    formats = {rows.get(identifier) or default_api_format() for identifier in identifiers}
    return JWT if formats == {JWT} else OPAQUE
