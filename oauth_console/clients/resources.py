"""Client configuration to and from CSV, JSON and XLSX (django-import-export).

An export carries settings only: never a secret, a digest or a registration token. An import
only creates clients, each through `services.create_client` (source "import"), so it is
validated by the same policies as every other client; a confidential client gets a new secret,
which the import collects for the one-time result page and stores nowhere. A row that names an
existing client_id is refused, not merged.
"""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from oauth_console.clients.forms import OIDC_FIELDS
from oauth_console.clients.import_diff import StyleFreeDiff
from oauth_console.spreadsheets import from_spreadsheet
from server import policies, services
from server.actors import Actor
from server.models import MAX_CLIENT_ID_LENGTH, Client, is_well_formed_client_id
from server.oauth2.digits import whole_number

LIST_FIELDS = ("redirect_uris", "grant_types", "scope", "contacts", "post_logout_redirect_uris")
# Resource column -> the create_client keyword it feeds (the same name, except the owner).
IMPORT_COLUMNS = (
    "client_id",
    "name",
    "description",
    "client_type",
    "status",
    "redirect_uris",
    "grant_types",
    "scope",
    "token_endpoint_auth_method",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "contacts",
    "jwks",
    "jwks_uri",
    "require_consent",
    "can_introspect_any_token",
    "owner",
    # OpenID Connect (optional columns: a file without them gets the defaults).
    *OIDC_FIELDS,
)


class ListWidget(widgets.Widget):
    """A list as one space-separated cell (URIs, grant types and scopes never contain spaces)."""

    def clean(self, value, row=None, **kwargs) -> list[str]:
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return [str(item).strip() for item in value if str(item).strip()]
        return str(value).replace(",", " ").split()

    def render(self, value, obj=None, **kwargs) -> str:
        if isinstance(value, list | tuple):
            return " ".join(str(item) for item in value)
        return " ".join(str(value or "").split())


class UsernameWidget(widgets.Widget):
    """An owner by user name; an unknown name is a row error, not a crash."""

    def clean(self, value, row=None, **kwargs):
        username = str(value or "").strip()
        if not username:
            return None
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise ValueError(f"No user is called {username!r}.")
        return user

    def render(self, value, obj=None, **kwargs) -> str:
        return value.get_username() if value is not None else ""


class FlagWidget(widgets.BooleanWidget):
    """A yes/no cell where empty means no."""

    def clean(self, value, row=None, **kwargs) -> bool:
        return bool(super().clean(value, row, **kwargs))


class SecondsWidget(widgets.Widget):
    """A number of seconds from 0 to `maximum`; empty means none. Anything else ("²", "1e3",
    "-5", a NUL, 5000 digits) is a row error that says what the cell must be, before any write."""

    def __init__(self, maximum: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.maximum = maximum

    def clean(self, value, row=None, **kwargs) -> int | None:
        text = str(value if value is not None else "").strip()
        if not text:
            return None
        if isinstance(value, float) and value.is_integer():  # XLSX and JSON numbers arrive as floats
            text = str(int(value))
        elif isinstance(value, bool):  # an XLSX TRUE is no number of seconds
            text = repr(value)
        # ASCII digits only, any length (server.oauth2.digits): "²".isdigit() is true and int()
        # refused it with "invalid literal for int() with base 10".
        seconds = whole_number(text, maximum=self.maximum)
        if seconds is None:
            shown = repr(text) if len(text) <= 24 else repr(text[:21]) + "..."
            raise ValueError(
                f"The cell must be a whole number of seconds between 0 and {self.maximum} "
                f"(digits 0-9 only), or empty; {shown} is not."
            )
        return seconds

    def render(self, value, obj=None, **kwargs) -> str:
        return "" if value is None else str(value)


class ClientResource(resources.ModelResource):
    """Clients' settings, keyed by client_id."""

    client_id = fields.Field(attribute="client_id", column_name="client_id", widget=widgets.CharWidget())
    redirect_uris = fields.Field(attribute="redirect_uris", column_name="redirect_uris", widget=ListWidget())
    grant_types = fields.Field(attribute="grant_types", column_name="grant_types", widget=ListWidget())
    scope = fields.Field(attribute="scope", column_name="scope", widget=ListWidget())
    contacts = fields.Field(attribute="contacts", column_name="contacts", widget=ListWidget())
    owner = fields.Field(attribute="owner", column_name="owner", widget=UsernameWidget())
    # A JWK Set as its JSON text (public keys only: the policy refuses private members).
    jwks = fields.Field(attribute="jwks", column_name="jwks", widget=widgets.CharWidget())
    require_consent = fields.Field(
        attribute="require_consent", column_name="require_consent", widget=FlagWidget()
    )
    can_introspect_any_token = fields.Field(
        attribute="can_introspect_any_token", column_name="can_introspect_any_token", widget=FlagWidget()
    )
    require_auth_time = fields.Field(
        attribute="require_auth_time", column_name="require_auth_time", widget=FlagWidget()
    )
    default_max_age = fields.Field(
        attribute="default_max_age",
        column_name="default_max_age",
        widget=SecondsWidget(maximum=policies.MAX_DEFAULT_MAX_AGE),
    )
    post_logout_redirect_uris = fields.Field(
        attribute="post_logout_redirect_uris", column_name="post_logout_redirect_uris", widget=ListWidget()
    )
    backchannel_logout_session_required = fields.Field(
        attribute="backchannel_logout_session_required",
        column_name="backchannel_logout_session_required",
        widget=FlagWidget(),
    )
    frontchannel_logout_session_required = fields.Field(
        attribute="frontchannel_logout_session_required",
        column_name="frontchannel_logout_session_required",
        widget=FlagWidget(),
    )
    # Export-only facts: an import ignores them (the server sets them).
    source = fields.Field(attribute="source", column_name="source", readonly=True)
    created_at = fields.Field(attribute="created_at", column_name="created_at", readonly=True)

    class Meta:
        model = Client
        # An explicit list: a field added to Client later is not exported until someone decides to.
        fields = (*IMPORT_COLUMNS, "source", "created_at")
        export_order = fields
        import_id_fields = ("client_id",)
        skip_unchanged = False
        clean_model_instances = False
        skip_diff = False

    @classmethod
    def get_diff_class(cls):
        # The preview marks new values with classes: an inline style breaks the page's policy.
        return StyleFreeDiff

    def __init__(self, actor: Actor | None = None, **kwargs):
        super().__init__(**kwargs)
        self.actor = actor or Actor.system("import")
        # (client_id, name, plain secret) of the confidential clients this import created.
        self.issued_secrets: list[tuple[str, str, str]] = []

    # --- export -------------------------------------------------------------------------------

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("owner")

    def dehydrate_redirect_uris(self, client: Client) -> str:
        return " ".join(client.redirect_uri_list)

    def dehydrate_jwks(self, client: Client) -> str:
        return json.dumps(client.jwks, separators=(",", ":")) if client.jwks else ""

    # --- import -------------------------------------------------------------------------------

    def import_data(self, dataset, **kwargs):
        # All rows or none. import-export rolls back a dry run and a row that raised, but keeps
        # the rows around a refused one (a validation error) unless told otherwise; the admin's
        # confirmation imports the file again, not as a dry run, and a row valid at the preview
        # can be refused there (its client_id taken meanwhile).
        kwargs.update(use_transactions=True, rollback_on_validation_errors=True)
        return super().import_data(dataset, **kwargs)

    def before_import_row(self, row, **kwargs) -> None:
        # A file this console exported has "'" before cells a spreadsheet would evaluate.
        for column, value in row.items():
            row[column] = from_spreadsheet(value)

    def get_instance(self, instance_loader, row):
        # An id no client can have is not looked up: PostgreSQL refuses a NUL in the query, and
        # the row was "an unexpected problem" (logged with a traceback) instead of this message.
        client_id = str(row.get("client_id") or "").strip()
        if client_id and not is_well_formed_client_id(client_id):
            rule = f"A client_id is 1 to {MAX_CLIENT_ID_LENGTH} printable characters without spaces."
            raise ValidationError({"client_id": [rule]})
        return super().get_instance(instance_loader, row)

    def after_init_instance(self, instance: Client, new: bool, row, **kwargs) -> None:
        instance._imported_new = new

    def import_instance(self, instance: Client, row, **kwargs) -> None:
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        # The list columns are kept as lists until create_client joins them.
        values = {}
        for name in LIST_FIELDS:
            if name in errors:
                continue
            values[name] = ListWidget().clean(row.get(name))
        instance._import_lists = values
        instance._import_columns = set(row.keys())
        # The instance itself holds the stored (joined) form, which the preview's diff reads.
        instance.redirect_uris = "\n".join(values.get("redirect_uris", []))
        instance.grant_types = " ".join(values.get("grant_types", []))
        instance.scope = " ".join(values.get("scope", []))
        instance.contacts = values.get("contacts", [])
        instance.post_logout_redirect_uris = "\n".join(values.get("post_logout_redirect_uris", []))
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance: Client, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        if not getattr(instance, "_imported_new", True):
            errors.setdefault(
                "client_id",
                [
                    f"A client with client_id {instance.client_id!r} already exists; "
                    "an import only adds clients."
                ],
            )
        if not errors:
            try:
                self._check(instance)
            except policies.PolicyError as error:
                errors[error.field if error.field in self.fields else "__all__"] = [str(error)]
        if errors:
            raise ValidationError(errors)

    def _check(self, instance: Client) -> None:
        """Raise the PolicyError that create_client would, before anything is written."""
        kwargs = self._create_kwargs(instance)
        policies.validate_client_name(kwargs["name"])
        if kwargs["status"] not in Client.Status.values:
            raise policies.PolicyError(
                f"Unknown status {kwargs['status']!r}: use {', '.join(Client.Status.values)}.", field="status"
            )
        policies.validate_client_settings(
            client_type=kwargs["client_type"],
            redirect_uris=kwargs["redirect_uris"],
            grant_types=kwargs["grant_types"],
            scope=kwargs["scope"],
            token_endpoint_auth_method=kwargs["token_endpoint_auth_method"],
            **{field: kwargs[field] for field in policies.CLIENT_WEB_URI_FIELDS},
            **{name: kwargs[name] for name in OIDC_FIELDS},
            jwks=kwargs["jwks"],
            jwks_uri=kwargs["jwks_uri"],
        )

    def _create_kwargs(self, instance: Client) -> dict:
        lists = instance._import_lists
        return {
            "client_id": (instance.client_id or "").strip() or None,
            "name": instance.name or "",
            "description": instance.description or "",
            "client_type": (instance.client_type or Client.Type.CONFIDENTIAL).strip(),
            "status": (instance.status or Client.Status.ACTIVE).strip(),
            "redirect_uris": lists["redirect_uris"],
            "grant_types": lists["grant_types"] or ["authorization_code", "refresh_token"],
            "scope": lists["scope"],
            # Without the column, the model's default would suit only confidential clients;
            # None lets the service derive the method from the client type.
            "token_endpoint_auth_method": (
                (instance.token_endpoint_auth_method or "").strip() or None
                if "token_endpoint_auth_method" in instance._import_columns
                else None
            ),
            **{field: getattr(instance, field) or "" for field in policies.CLIENT_WEB_URI_FIELDS},
            "contacts": lists["contacts"],
            "jwks": (instance.jwks or "").strip() if isinstance(instance.jwks, str) else instance.jwks,
            "jwks_uri": (instance.jwks_uri or "").strip(),
            "require_consent": bool(instance.require_consent),
            "can_introspect_any_token": bool(instance.can_introspect_any_token),
            "owner": instance.owner,
            "id_token_signed_response_alg": (instance.id_token_signed_response_alg or "").strip() or None,
            "subject_type": (instance.subject_type or "").strip() or None,
            "default_max_age": instance.default_max_age,
            "require_auth_time": bool(instance.require_auth_time),
            "post_logout_redirect_uris": lists.get("post_logout_redirect_uris", []),
            "backchannel_logout_uri": (instance.backchannel_logout_uri or "").strip(),
            "backchannel_logout_session_required": bool(instance.backchannel_logout_session_required),
            "frontchannel_logout_uri": (instance.frontchannel_logout_uri or "").strip(),
            "frontchannel_logout_session_required": bool(instance.frontchannel_logout_session_required),
            "userinfo_signed_response_alg": (instance.userinfo_signed_response_alg or "").strip(),
            "token_endpoint_auth_signing_alg": (instance.token_endpoint_auth_signing_alg or "").strip(),
            "sector_identifier_uri": (instance.sector_identifier_uri or "").strip(),
        }

    def do_instance_save(self, instance: Client, is_create: bool) -> None:
        # The one write path, instead of instance.save(). A dry run runs this too, inside a
        # transaction that is rolled back; its secrets are dropped in after_import.
        try:
            client, secret = services.create_client(
                actor=self.actor, source=Client.Source.IMPORT, **self._create_kwargs(instance)
            )
        except policies.PolicyError as error:
            field = error.field if error.field in self.fields else "__all__"
            raise ValidationError({field: [str(error)]}) from None
        # The preview's diff reads `instance`: make it what was saved (the auth method derived
        # from the client type, the normalised lists...), not what the row said.
        for field in Client._meta.concrete_fields:
            setattr(instance, field.attname, getattr(client, field.attname))
        if secret:
            self.issued_secrets.append((client.client_id, client.name, secret))

    def after_import(self, dataset, result, **kwargs) -> None:
        super().after_import(dataset, result, **kwargs)
        committed = (
            not kwargs.get("dry_run") and not result.has_errors() and not result.has_validation_errors()
        )
        # The admin reads this to show the new secrets once; nothing else keeps them.
        result.issued_secrets = list(self.issued_secrets) if committed else []
        self.issued_secrets.clear()
