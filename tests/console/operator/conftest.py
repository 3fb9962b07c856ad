"""Fixtures for the operator console's tests: operators by group, tokens in any state."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client as HttpClient
from django.utils import timezone

from server import credentials
from server.models import Token


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The dashboard caches its charts; every test starts from what its own rows say.
    cache.clear()
    yield
    cache.clear()


def _staff(django_user_model, username: str, group: str | None):
    user = django_user_model.objects.create_user(
        username, f"{username}@example.com", f"{username}-pw-123456", is_staff=True
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def ops_user(django_user_model):
    """A staff member of the "operators" group (every console permission)."""
    return _staff(django_user_model, "olga", "operators")


@pytest.fixture
def readonly_user(django_user_model):
    """A staff member of the "read-only operators" group."""
    return _staff(django_user_model, "rita", "read-only operators")


@pytest.fixture
def staff_without_permissions(django_user_model):
    return _staff(django_user_model, "sam", None)


def _logged_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def ops(ops_user) -> HttpClient:
    return _logged_in(ops_user)


@pytest.fixture
def readonly(readonly_user) -> HttpClient:
    return _logged_in(readonly_user)


@pytest.fixture
def make_token(db):
    """Store a token row directly (tests need past issue times); returns (row, plain access token)."""

    def make(
        client,
        user=None,
        *,
        grant_type="client_credentials",
        issued_ago=timedelta(0),
        lifetime=timedelta(hours=1),
        revoked=False,
        parent=None,
        scope="profile",
        refresh=False,
    ):
        now = timezone.now()
        access = credentials.generate("access_token")
        refresh_value = credentials.generate("refresh_token") if refresh else None
        issued_at = now - issued_ago
        token = Token.objects.create(
            access_token_digest=credentials.digest(access),
            access_token_prefix=credentials.display_prefix(access),
            refresh_token_digest=credentials.digest(refresh_value) if refresh_value else None,
            refresh_token_prefix=credentials.display_prefix(refresh_value) if refresh_value else "",
            client=client,
            user=user,
            grant_type=grant_type,
            scope=scope,
            issued_at=issued_at,
            expires_at=issued_at + lifetime,
            revoked_at=now if revoked else None,
            revoked_by="operator:earlier" if revoked else "",
            revoked_reason="earlier" if revoked else "",
            family_id=parent.family_id if parent else uuid.uuid4(),
            parent=parent,
        )
        return token, access

    return make
