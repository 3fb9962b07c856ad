"""Which format an access token takes: "opaque" (a random `oat_` string only our database can
check) or "jwt" (an RFC 9068 JWT that resource servers validate offline against our JWKS).

A placeholder policy until APIs (resource servers) carry their own token format: the
OAUTH2_ACCESS_TOKEN_FORMAT setting decides for every token. The APIs' model will decide here
from the resources a token is for; the one caller (`server.bindings.authorization_server`,
`generate_access_token`) does not change.
"""

from collections.abc import Iterable
from typing import Literal

from server.conf import server_settings

TokenFormat = Literal["opaque", "jwt"]
FORMATS: tuple[str, ...] = ("opaque", "jwt")


def format_for(client, resources: Iterable[str] = ()) -> TokenFormat:
    """The format of an access token issued to `client` for `resources` (RFC 8707 `resource`
    values; none yet). An unknown setting value (check `server.E015`) issues opaque tokens."""
    return "jwt" if server_settings.OAUTH2_ACCESS_TOKEN_FORMAT == "jwt" else "opaque"
