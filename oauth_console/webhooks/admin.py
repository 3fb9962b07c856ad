"""Webhook subscriptions in the console, at the admin's URLs (`admin:webhooks_subscription_*`).

The admin's own list, add, change and delete views are replaced by the pages of `views`, which
write only through `oauth_console.webhooks.services`; nothing here edits a row directly.
"""

from django.contrib import admin
from django.urls import path

from oauth_console.webhooks import views
from oauth_console.webhooks.models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        return views.may_view(request)

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(views.MANAGE_PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # changes go through the services, on the subscription's page

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(views.MANAGE_PERMISSION)

    def get_actions(self, request):
        return {}

    def changelist_view(self, request, extra_context=None):
        return views.subscription_list(request, self)

    def add_view(self, request, form_url="", extra_context=None):
        return views.subscribe(request, self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.subscription_detail(request, self, object_id)

    def delete_view(self, request, object_id, extra_context=None):
        return views.delete(request, self, object_id)

    def history_view(self, request, object_id, extra_context=None):
        return views.subscription_detail(request, self, object_id)

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def page(name, view, route):
            return path(
                route,
                wrap(lambda request, **kw: view(request, self, **kw)),
                name=f"webhooks_subscription_{name}",
            )

        custom = [
            page("secret", views.show_secret_once, "<int:object_id>/secret/"),
            page("edit", views.edit, "<int:object_id>/edit/"),
            page("rotate", views.rotate_secret, "<int:object_id>/rotate/"),
            page("test", views.send_test_event, "<int:object_id>/test/"),
            page("replay", views.replay, "<int:object_id>/deliveries/<int:delivery_id>/replay/"),
        ]
        return custom + super().get_urls()
