"""Fixtures for the audit log's tests."""

import pytest
from django.contrib.auth.models import Group, Permission

from oauth_console.audit.models import AuditEvent


@pytest.fixture
def security_group(db):
    """The `security` group as the data migration makes it (transactional tests flush it)."""
    group, _ = Group.objects.get_or_create(name="security")
    group.permissions.set(
        [Permission.objects.get(codename="view_auditevent", content_type__app_label="audit")]
    )
    return group


@pytest.fixture
def security_user(django_user_model, security_group):
    user = django_user_model.objects.create_user("sec", "sec@example.com", "sec-password-123", is_staff=True)
    user.groups.add(security_group)
    return user


@pytest.fixture
def events():
    """The stored events, oldest first, as a list (re-read on each call)."""

    def read(**filters):
        return list(AuditEvent.objects.filter(**filters).order_by("id"))

    return read
