"""Which format an access token takes: opaque (checked against this server) or a JWT (RFC 9068).

The token endpoint asks once per issued token; the API (resource server) the token is for
decides (`Api.token_format`). A token for several APIs is a JWT only when every one of them
chose JWTs: an API that checks tokens against this server keeps getting one it can check.
"""

from typing import Literal

from server.models import Api, Client

OPAQUE = Api.TokenFormat.OPAQUE.value
JWT = Api.TokenFormat.JWT.value


def format_for(client: Client, resources: list[str]) -> Literal["opaque", "jwt"]:
    """The format of an access token issued to `client` for `resources` (its RFC 8707 audience,
    `request.resources` of the grant; [] or an identifier matching no API row: the default API)."""
    del client  # the API decides; a per-client override would go here
    identifiers = [value for value in resources if value]
    rows = {
        api.identifier: api.token_format
        for api in Api.objects.filter(identifier__in=identifiers, is_default=False)
    }
    default = None
    formats = []
    for identifier in identifiers or [""]:
        if identifier in rows:
            formats.append(rows[identifier])
        else:
            if default is None:
                default = (
                    Api.objects.filter(is_default=True).values_list("token_format", flat=True).first()
                    or OPAQUE
                )
            formats.append(default)
    return JWT if all(value == JWT for value in formats) else OPAQUE
