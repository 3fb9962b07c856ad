"""How the OpenAPI schema (drf-spectacular) describes the API's two ways in."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from server import policies


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oauth_console.api.auth.BearerTokenAuthentication"
    name = "operatorToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "An access token of a client_credentials client holding operator scopes.",
            "flows": {
                "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": policies.operator_scopes()}
            },
        }


class OperatorSessionScheme(OpenApiAuthenticationExtension):
    target_class = "oauth_console.api.auth.OperatorSessionAuthentication"
    name = "operatorSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A signed-in staff member's session (with the X-CSRFToken header on writes).",
        }
