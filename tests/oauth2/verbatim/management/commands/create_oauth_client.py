# The spec's "Management Commands" create_oauth_client.py, verbatim but for the import path
# (myapp.models -> tests.oauth2.verbatim.models). Its token_urlsafe(32) client_id has 43
# characters and token_urlsafe(48) secret 64, for columns of 40 and 55: SQLite stores them,
# PostgreSQL refuses them (see docs/spec-compatibility.md). The project's own `server` app has a
# command of the same name that wins by INSTALLED_APPS order; the tests call this Command class.
# added: the next line (ruff: keep the spec's import order).
# ruff: noqa: I001
from django.core.management.base import BaseCommand
from tests.oauth2.verbatim.models import Client
import secrets


class Command(BaseCommand):
    help = "Create OAuth 2.0 client"

    def add_arguments(self, parser):
        parser.add_argument("name", type=str, help="Client name")
        parser.add_argument("--redirect-uris", required=True, help="Redirect URIs (space-separated)")
        parser.add_argument("--scopes", default="read write", help="Allowed scopes")

    def handle(self, *args, **options):
        client = Client.objects.create(
            client_id=secrets.token_urlsafe(32),
            client_secret=secrets.token_urlsafe(48),
            name=options["name"],
            redirect_uris=options["redirect_uris"],
            allowed_scopes=options["scopes"],
        )

        self.stdout.write(self.style.SUCCESS(f"Created client: {client.client_id}"))
        self.stdout.write(f"Client Secret: {client.client_secret}")
