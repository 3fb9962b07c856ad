"""The spec's "Management Commands" example, with the import path changed and one fix: the spec's
`token_urlsafe(32)` client_id (43 characters) and `token_urlsafe(48)` secret (64) do not fit the
model's 40- and 55-character columns; SQLite stores them anyway, PostgreSQL refuses them.
`token_urlsafe(30)` gives 40 characters (240 bits), `token_urlsafe(41)` 55 (328 bits).
"""

import secrets

from django.core.management.base import BaseCommand

from tests.oauth2.exampleapp.models import Client


class Command(BaseCommand):
    help = "Create OAuth 2.0 client"

    def add_arguments(self, parser):
        parser.add_argument("name", type=str, help="Client name")
        parser.add_argument("--redirect-uris", required=True, help="Redirect URIs (space-separated)")
        parser.add_argument("--scopes", default="read write", help="Allowed scopes")

    def handle(self, *args, **options):
        client = Client.objects.create(
            client_id=secrets.token_urlsafe(30),
            client_secret=secrets.token_urlsafe(41),
            name=options["name"],
            redirect_uris=options["redirect_uris"],
            allowed_scopes=options["scopes"],
        )
        self.stdout.write(self.style.SUCCESS(f"Created client: {client.client_id}"))
        self.stdout.write(f"Client Secret: {client.client_secret}")
