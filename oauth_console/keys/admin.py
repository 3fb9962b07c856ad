"""The OpenID Connect signing keys in the admin: see them; rotate now and revoke, each confirmed.

Read-only otherwise: no key is added, changed, deleted or exported here (keys are made by
`server.services.signing_keys`), and the private half is never read into the page (deferred,
and in no field list).
"""

import json

from django.contrib import admin
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from oauth_console import admin_cells as cells
from oauth_console.admin_lookups import RefusedValuesAdminMixin
from oauth_console.admin_read_only import ReadOnlyAdminMixin
from oauth_console.audit import selectors as audit_selectors
from oauth_console.keys import views
from server import selectors
from server.models import SigningKey
from server.oauth2.keys import public_key_fingerprint

State = SigningKey.State
# Current first: active, next, retired, then revoked; newest first within a state.
STATE_ORDER = Case(
    When(state=State.ACTIVE, then=Value(0)),
    When(state=State.NEXT, then=Value(1)),
    When(state=State.RETIRED, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
STATE_WORDS = {
    State.ACTIVE: "active (signing)",
    State.NEXT: "next (published)",
    State.RETIRED: "retired",
    State.REVOKED: "revoked",
}


@admin.register(SigningKey)
class SigningKeyAdmin(RefusedValuesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Current, next, retired and revoked keys with their dates and fingerprints."""

    change_list_template = "console/keys/change_list.html"
    change_form_template = "console/keys/change_form.html"
    list_display = (
        "list_kid",
        "list_alg",
        "state_badge",
        "list_created_at",
        "list_activated_at",
        "list_retired_at",
        "list_revoked_at",
        "published",
        "short_fingerprint",
        "revoke_link",
    )
    list_display_links = ("list_kid",)
    list_filter = ("state", "alg")
    search_fields = ("=kid",)
    search_help_text = "The whole key id (kid), as a JWS header names it."
    show_facets = admin.ShowFacets.NEVER
    ordering = (STATE_ORDER.asc(), "alg", "-created_at")
    actions = None
    fields = (
        "kid",
        "alg",
        "state_badge",
        "created_at",
        "activated_at",
        "retired_at",
        "revoked_at",
        "published",
        "fingerprint",
        "public_jwk_pretty",
    )
    readonly_fields = fields

    class Media:
        css = {"all": [cells.LIST_CSS, "console/keys/keys.css"]}

    # --- permissions: see the keys / rotate and revoke them; never add, change or delete -------

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("server.view_signingkey") or request.user.has_perm(
            views.MANAGE_PERMISSION
        )

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .defer("private_key_encrypted")
            .annotate(
                state_order=STATE_ORDER,
                # The selector that decides what the JWKS serves, so the column cannot disagree.
                in_jwks=Exists(selectors.published_signing_keys().filter(pk=OuterRef("pk"))),
            )
        )

    def get_list_display(self, request: HttpRequest):
        if request.user.has_perm(views.MANAGE_PERMISSION):
            return self.list_display
        return tuple(name for name in self.list_display if name != "revoke_link")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": "Signing keys",
            "can_manage": request.user.has_perm(views.MANAGE_PERMISSION),
            "rotate_url": reverse("admin:server_signingkey_rotate", current_app=self.admin_site.name),
            "key_events": audit_selectors.signing_key_history(limit=10),
            "audit_url": audit_selectors.log_url_for_signing_keys(
                request.user, current_app=self.admin_site.name
            ),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_manage": request.user.has_perm(views.MANAGE_PERMISSION),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request: HttpRequest, object_id, extra_context=None):
        # Keys change only through services (audit log), never through a ModelAdmin save.
        url = audit_selectors.log_url_for_signing_keys(request.user, current_app=self.admin_site.name)
        return HttpResponseRedirect(url or reverse("admin:server_signingkey_changelist"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path(
                "rotate/",
                wrap(lambda request: views.rotate_now(request, self)),
                name="server_signingkey_rotate",
            ),
            path(
                "<path:object_id>/revoke/",
                wrap(lambda request, object_id: views.revoke_key(request, self, object_id)),
                name="server_signingkey_revoke",
            ),
        ]
        return custom + super().get_urls()

    # --- columns ------------------------------------------------------------------------------

    @admin.display(description="key id (kid)", ordering="kid")
    def list_kid(self, key: SigningKey) -> str:
        return cells.shortened(key.kid, kind="identifier")

    @admin.display(description="alg", ordering="alg")
    def list_alg(self, key: SigningKey) -> str:
        return key.alg

    @admin.display(description="state", ordering="state_order")
    def state_badge(self, key: SigningKey) -> str:
        return format_html(
            '<span class="key-state key-state-{}">{}</span>', key.state, STATE_WORDS[key.state]
        )

    @admin.display(description="created", ordering="created_at")
    def list_created_at(self, key: SigningKey) -> str:
        return cells.moment(key.created_at)

    @admin.display(description="activated", ordering="activated_at")
    def list_activated_at(self, key: SigningKey) -> str:
        return cells.moment(key.activated_at)

    @admin.display(description="retired", ordering="retired_at")
    def list_retired_at(self, key: SigningKey) -> str:
        return cells.moment(key.retired_at)

    @admin.display(description="revoked", ordering="revoked_at")
    def list_revoked_at(self, key: SigningKey) -> str:
        return cells.moment(key.revoked_at)

    @admin.display(description="in the JWKS", boolean=True)
    def published(self, key: SigningKey) -> bool:
        return bool(getattr(key, "in_jwks", False))

    @admin.display(description="public key SHA-256")
    def fingerprint(self, key: SigningKey) -> str:
        return format_html('<code class="key-fingerprint">{}</code>', public_key_fingerprint(key.public_jwk))

    @admin.display(description="fingerprint (SHA-256)")
    def short_fingerprint(self, key: SigningKey) -> str:
        whole = public_key_fingerprint(key.public_jwk)
        return format_html('<code title="{}">{}…</code>', whole, whole[:11])

    @admin.display(description="public key (as the JWKS publishes it)")
    def public_jwk_pretty(self, key: SigningKey) -> str:
        return format_html('<pre class="key-jwk">{}</pre>', json.dumps(key.published_jwk(), indent=2))

    @admin.display(description="")
    def revoke_link(self, key: SigningKey) -> str:
        if key.state == State.REVOKED:
            return ""
        url = reverse("admin:server_signingkey_revoke", args=[key.pk], current_app=self.admin_site.name)
        return format_html('<a class="button revoke-key" href="{}">Revoke…</a>', url)
