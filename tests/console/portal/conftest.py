"""Fixtures of the developer portal tests: two developers, each with an app of their own."""

import pytest

from server import services
from server.actors import Actor
from server.models import Client


@pytest.fixture
def developer(django_user_model):
    return django_user_model.objects.create_user("dana", "dana@example.com", "dana-password-123")


@pytest.fixture
def other_developer(django_user_model):
    return django_user_model.objects.create_user("olga", "olga@example.com", "olga-password-123")


def make_app(owner, name="My app", **kwargs):
    kwargs.setdefault("redirect_uris", ["https://app.example.com/callback"])
    kwargs.setdefault("scope", ["profile", "read"])
    kwargs.setdefault("status", Client.Status.PENDING)
    return services.create_client(
        name=name, owner=owner, source=Client.Source.PORTAL, actor=Actor.developer(owner), **kwargs
    )


@pytest.fixture
def app(developer):
    """(client, secret) owned by `developer`."""
    return make_app(developer, "Dana's app")


@pytest.fixture
def others_app(other_developer):
    """(client, secret) owned by `other_developer`."""
    return make_app(other_developer, "Olga's app")


@pytest.fixture
def dev_client(client, developer):
    client.force_login(developer)
    return client
