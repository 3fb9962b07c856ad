"""An API (a resource server) the operator registers, re-exported by `server.models`.

Its identifier is the RFC 8707 `resource` a client names and the audience (`aud`) of the tokens
issued for it. The *default API* is this server's own (`/api/me`, UserInfo, the operator API):
its identifier is derived from the issuer (`server.apis.identifier_of`), its scopes are the
OAUTH2_SCOPES setting, and every client may have tokens for it; a token that names no resource
is for it. Every other API names its scopes here and the clients that may ask for it.
"""

from django.db import models
from django.utils import timezone

# The column's length; RFC 8707 sets none, a database column does.
MAX_API_IDENTIFIER_LENGTH = 255
MAX_API_NAME_LENGTH = 100


class Api(models.Model):
    """A resource server: its identifier (audience), name, scopes, token format and lifetime."""

    class TokenFormat(models.TextChoices):
        OPAQUE = "opaque", "Opaque (checked against this server)"
        JWT = "jwt", "JWT (RFC 9068, checked offline)"

    # Blank only for the default API: its identifier is derived from the issuer.
    identifier = models.CharField(max_length=MAX_API_IDENTIFIER_LENGTH, blank=True, default="")
    name = models.CharField(max_length=MAX_API_NAME_LENGTH)
    # {scope: what the consent page says it allows}; the default API's come from OAUTH2_SCOPES.
    scopes = models.JSONField(blank=True, default=dict)
    token_format = models.CharField(max_length=8, choices=TokenFormat.choices, default=TokenFormat.OPAQUE)
    # Seconds an access token for this API lives; null: OAUTH2_ACCESS_TOKEN_LIFETIME.
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    allowed_clients = models.ManyToManyField("server.Client", blank=True, related_name="apis")
    # Every client may ask for it (agents that register themselves, RFC 7591); the person still
    # consents to its scopes. Off: only `allowed_clients`.
    allow_any_client = models.BooleanField(default=False)
    # The clients that serve this API and introspect its tokens (RFC 7662): such a client sees a
    # token as active only when the token's audience names one of the APIs it serves, so a token
    # for API A is inactive to API B's resource server. A client named by no API introspects as
    # before (its own tokens, or every token with `can_introspect_any_token`).
    resource_servers = models.ManyToManyField("server.Client", blank=True, related_name="served_apis")
    is_default = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API"
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["identifier"], condition=~models.Q(identifier=""), name="api_identifier_unique"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="api_one_default"
            ),
        ]
        permissions = [("manage_apis", "Can create, change and delete APIs")]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier or 'this server'})"

    @property
    def scope_list(self) -> list[str]:
        return list(self.scopes)
