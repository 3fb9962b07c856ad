"""Token metadata export: who holds what, since when, in what state. Never a token value or digest."""

from import_export import fields, resources

from server.models import Token


class TokenMetadataResource(resources.ModelResource):
    """Export-only description of tokens: prefixes, client, user, scopes, times, status."""

    client_id = fields.Field(attribute="client__client_id", column_name="client_id", readonly=True)
    client_name = fields.Field(attribute="client__name", column_name="client_name", readonly=True)
    username = fields.Field(column_name="username", readonly=True)
    status = fields.Field(column_name="status", readonly=True)
    # The id, not the row: following the foreign key would cost a query per token.
    parent_id = fields.Field(attribute="parent_id", column_name="parent_id", readonly=True)

    class Meta:
        model = Token
        # An explicit list: a field added to Token later is not exported until someone decides to.
        fields = (
            "id",
            "access_token_prefix",
            "refresh_token_prefix",
            "client_id",
            "client_name",
            "username",
            "grant_type",
            "scope",
            "issued_at",
            "expires_at",
            "refresh_expires_at",
            "status",
            "revoked_at",
            "revoked_by",
            "revoked_reason",
            "rotated_at",
            "family_id",
            "parent_id",
            "last_used_at",
        )
        export_order = fields

    def dehydrate_username(self, token: Token) -> str:
        return token.user.get_username() if token.user_id else ""

    def dehydrate_status(self, token: Token) -> str:
        return str(token.status)

    def filter_export(self, queryset, **kwargs):
        # One query for the whole export, not one per row for client and user.
        return queryset.select_related("client", "user")
