"""`manage.py rotate_client_secret`: give a client a new secret, the old ones a grace period."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from server import policies, services
from server.actors import Actor
from server.management.arguments import looked_up, parse_grace
from server.models import MAX_CLIENT_ID_LENGTH, Client

SECRET_WARNING = "Store the new secret now: it is kept only as a digest and will not be shown again."


class Command(BaseCommand):
    help = (
        "Issue a new secret for a confidential client. Its current secrets keep working for the "
        "grace period (default 24h) so deployed apps can switch over, then expire."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "client_id",
            help="The client's client_id (one that starts with '-' goes after '--': ... -- -abc).",
        )
        parser.add_argument(
            "--grace",
            default="24h",
            help="How long the old secrets stay valid: immediately, 1h, 24h, 7d, or <N>s/<N>m/<N>h/<N>d.",
        )
        parser.add_argument("--json", action="store_true", help="Print exactly one JSON object.")

    def handle(self, *args, **options) -> None:
        grace = parse_grace(options["grace"])
        client_id = looked_up(options["client_id"], "client with client_id", max_length=MAX_CLIENT_ID_LENGTH)
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise CommandError(f"No client with client_id {options['client_id']!r}.")
        try:
            secret, _row, previous_expire_at = services.rotate_client_secret(
                client,
                actor=Actor.system("rotate_client_secret"),
                grace=grace,
                # Whoever runs manage.py holds the server: every operator scope.
                operator_scopes_allowed=policies.operator_scopes(),
            )
        except policies.PolicyError as exc:
            raise CommandError(str(exc)) from exc

        if options["json"]:
            document = {
                "client_id": client.client_id,
                "client_secret": secret,
                "previous_secrets_expire_at": previous_expire_at.isoformat(),
            }
            self.stdout.write(json.dumps(document))
            self.stderr.write(SECRET_WARNING)
            return
        self.stdout.write(self.style.SUCCESS(f"Rotated the secret of {client.name!r}."))
        self.stdout.write(f"client_id:     {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        if grace:
            until = f"{previous_expire_at:%Y-%m-%d %H:%M:%S %Z}"
            self.stdout.write(f"The previous secrets stay valid until {until}.")
        else:
            self.stdout.write("The previous secrets no longer work.")
        self.stdout.write(self.style.WARNING(SECRET_WARNING))
