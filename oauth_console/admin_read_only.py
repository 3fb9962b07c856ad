"""Admin pages that only show what the services wrote: tokens, device authorizations, signing keys,
the audit log, a client's secrets (the inline on its page). Nobody adds, edits or deletes those
rows through a form, superusers included: each leaves by its own operation (revocation, expiry,
rotation, retention), which keeps who and why. Their pages offer those operations as actions, with
permissions of their own."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
