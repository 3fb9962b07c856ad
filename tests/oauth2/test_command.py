"""The spec's create_oauth_client command, as the example app carries it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.oauth2.exampleapp.management.commands.create_oauth_client import Command
from tests.oauth2.exampleapp.models import Client


def run(*args):
    out = StringIO()
    # The command object itself: another installed app may own a command of the same name.
    call_command(Command(), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_command_creates_a_client_whose_ids_fit_their_columns():
    output = run("My app", "--redirect-uris", "https://a.example/cb https://b.example/cb")
    client = Client.objects.get()
    assert client.name == "My app"
    assert client.get_allowed_redirect_uris() == ["https://a.example/cb", "https://b.example/cb"]
    assert client.allowed_scopes == "read write"
    assert len(client.client_id) <= Client._meta.get_field("client_id").max_length
    assert len(client.client_secret) <= Client._meta.get_field("client_secret").max_length
    assert f"Created client: {client.client_id}" in output
    assert f"Client Secret: {client.client_secret}" in output


@pytest.mark.django_db
def test_command_takes_scopes_and_needs_redirect_uris():
    run("Reader", "--redirect-uris", "https://a.example/cb", "--scopes", "read")
    assert Client.objects.get().allowed_scopes == "read"
    with pytest.raises(CommandError):
        run("No URIs")
    assert Client.objects.count() == 1


@pytest.mark.django_db
def test_created_client_can_authenticate(client):
    from tests.oauth2.exampleapp.views import authorization_server

    run("App", "--redirect-uris", "https://a.example/cb")
    created = Client.objects.get()
    assert authorization_server.query_client(created.client_id) == created
    assert created.check_client_secret(created.client_secret)
    assert not created.check_client_secret(created.client_secret + "x")
