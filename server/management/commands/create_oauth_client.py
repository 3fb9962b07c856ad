"""`manage.py create_oauth_client`: the spec's command, on our one write path."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from server import policies, services
from server.actors import Actor
from server.management.arguments import split_values
from server.models import Client

SECRET_WARNING = "Store the client secret now: it is kept only as a digest and will not be shown again."


class Command(BaseCommand):
    help = (
        "Create an OAuth 2.0 client and print its client_id and (once) its secret. Lists may be "
        "given space- or comma-separated, or by repeating the option."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The client's name, as shown on the consent page.")
        parser.add_argument(
            "--redirect-uris",
            nargs="+",
            action="extend",
            default=[],
            metavar="URI",
            help="Registered redirect URIs (needed for authorization_code).",
        )
        parser.add_argument(
            "--scopes",
            nargs="+",
            action="extend",
            metavar="SCOPE",
            help="Scopes the client may request (default: profile).",
        )
        parser.add_argument(
            "--grant-types",
            nargs="+",
            action="extend",
            metavar="GRANT",
            help="Grant types (default: authorization_code refresh_token).",
        )
        parser.add_argument(
            "--public",
            action="store_true",
            help="A public client (SPA or native app): no secret, PKCE required.",
        )
        parser.add_argument("--description", default="", help="A longer description for operators.")
        parser.add_argument(
            "--can-introspect-any-token",
            action="store_true",
            help="Let this client introspect tokens issued to other clients (a resource server).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print exactly one JSON object (RFC 7591 field names)."
        )

    def handle(self, *args, **options) -> None:
        public = options["public"]
        try:
            client, secret = services.create_client(
                name=options["name"],
                actor=Actor.system("create_oauth_client"),
                client_type=Client.Type.PUBLIC if public else Client.Type.CONFIDENTIAL,
                redirect_uris=split_values(options["redirect_uris"]),
                grant_types=split_values(options["grant_types"]) or ["authorization_code", "refresh_token"],
                scope=split_values(options["scopes"]) or ["profile"],
                source=Client.Source.COMMAND,
                description=options["description"],
                can_introspect_any_token=options["can_introspect_any_token"],
                # Whoever runs manage.py is an operator: the operator API's scopes may be given.
                operator_scopes_allowed=policies.operator_scopes(),
            )
        except policies.PolicyError as exc:
            raise CommandError(str(exc)) from exc

        if options["json"]:
            self.stdout.write(json.dumps(client_document(client, secret)))
            if secret:
                self.stderr.write(SECRET_WARNING)
            return
        self.stdout.write(self.style.SUCCESS(f"Created {client.client_type} client {client.name!r}."))
        self.stdout.write(f"client_id:     {client.client_id}")
        if client.client_id.startswith("-"):
            # argparse would take it for an option in the other commands.
            self.stdout.write("(It starts with '-': pass it to other commands after '--' or as --client=ID.)")
        if secret:
            self.stdout.write(f"client_secret: {secret}")
            self.stdout.write(self.style.WARNING(SECRET_WARNING))
        else:
            self.stdout.write("No secret: a public client proves itself with PKCE (S256).")


def client_document(client: Client, secret: str | None) -> dict:
    """The client's registration as RFC 7591 names it, with the one-time secret (None if public)."""
    return {
        "client_id": client.client_id,
        "client_secret": secret,
        "name": client.name,
        "client_type": client.client_type,
        "redirect_uris": client.redirect_uri_list,
        "grant_types": client.grant_type_list,
        "response_types": client.response_type_list,
        "scope": client.scope,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "client_id_issued_at": client.client_id_issued_at,
        # RFC 7591 §3.2.1: 0 means the secret does not expire.
        "client_secret_expires_at": 0 if secret else None,
    }
