"""The user admin, as Django ships it, naming the operator behind what a user change triggers.

Deactivating or deleting a user revokes their OAuth tokens (`server.receivers`); a model
signal does not know who saved, so the admin says it (`server.actors.acting_as`) and the
revocation and its audit event name the operator, not "system".
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from oauth_console.admin_lookups import RefusedValuesAdminMixin
from server.actors import Actor, acting_as

User = get_user_model()


class OperatorNamedUserAdmin(RefusedValuesAdminMixin, UserAdmin):
    def save_model(self, request, obj, form, change):
        with acting_as(Actor.operator(request.user)):
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with acting_as(Actor.operator(request.user)):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with acting_as(Actor.operator(request.user)):
            super().delete_queryset(request, queryset)


if admin.site.is_registered(User) and type(admin.site.get_model_admin(User)) is UserAdmin:
    # Only Django's own: a project that brought its own user admin keeps it.
    admin.site.unregister(User)
    admin.site.register(User, OperatorNamedUserAdmin)
