"""Seed many tokens quickly, for checking the console at scale (not for production data).

    python manage.py seed_tokens --count 1000000 --clients 20 --users 200

Clients are created through `services.create_client` (source "command"); tokens are written with
`bulk_create` in batches, because no operation of the server issues a million tokens at once.
Every token is a real credential's digest, spread over the last `--days` days; the first client
gets `--first-client-share` of them so that "revoke all tokens of a client" can be timed on a
big client.
"""

import random
import time
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from server import credentials, services
from server.actors import Actor
from server.management.arguments import BoundedOptionsCommand, Fraction, WholeNumber
from server.models import Client, Token

GRANTS = [("authorization_code", 0.45), ("refresh_token", 0.35), ("client_credentials", 0.20)]


class Command(BoundedOptionsCommand):
    help = "Seed N tokens (and a few clients and users) to measure the console at scale."

    def add_arguments(self, parser):
        # Bounded (server.management.arguments): ten times the largest scale measured so far;
        # --count 10**23 ran for ever and --days 10**23 overflowed a timedelta.
        parser.add_argument(
            "--count",
            type=WholeNumber(0, 100_000_000),
            default=100_000,
            help="Tokens to create (default 100000).",
        )
        parser.add_argument(
            "--clients", type=WholeNumber(1, 10_000), default=20, help="Clients to create (default 20)."
        )
        parser.add_argument(
            "--users", type=WholeNumber(0, 1_000_000), default=200, help="Users to create (default 200)."
        )
        parser.add_argument(
            "--days", type=WholeNumber(1, 3_650), default=30, help="Spread issue times over this many days."
        )
        parser.add_argument(
            "--first-client-share",
            type=Fraction(),
            default=0.5,
            help="Fraction of the tokens that go to the first client (default 0.5).",
        )
        parser.add_argument(
            "--long-lived-share",
            type=Fraction(),
            default=0.02,
            help="Fraction of access tokens that live 30 days instead of 1 hour (default 0.02).",
        )
        parser.add_argument(
            "--batch-size",
            type=WholeNumber(1, 100_000),
            default=5_000,
            help="Rows per INSERT (default 5000).",
        )
        parser.add_argument(
            "--seed", type=WholeNumber(0, 2**63 - 1), default=None, help="Random seed, for repeatable data."
        )

    def handle(self, *args, **options):
        count, n_clients, n_users = options["count"], options["clients"], options["users"]
        share, batch_size, days = options["first_client_share"], options["batch_size"], options["days"]
        long_lived = options["long_lived_share"]
        rng = random.Random(options["seed"])  # noqa: S311 - test data, not secrets
        run = uuid.uuid4().hex[:6]

        clients = self._clients(n_clients, run)
        users = self._users(n_users, run)
        started = time.monotonic()
        created = 0
        now = timezone.now()
        span = timedelta(days=days).total_seconds()
        grant_names = [name for name, _ in GRANTS]
        grant_weights = [weight for _, weight in GRANTS]
        while created < count:
            size = min(batch_size, count - created)
            rows = []
            # A live server appends tokens in issue order, so the table is laid out by time;
            # seed the same way (oldest first), or every "today" query reads scattered pages.
            offsets = sorted((rng.random() for _ in range(size)), reverse=True)
            for index in range(size):
                client = clients[0] if rng.random() < share else rng.choice(clients)
                grant = rng.choices(grant_names, grant_weights)[0]
                user = None if grant == "client_credentials" or not users else rng.choice(users)
                # This batch covers its own slice of the span, oldest batch first.
                slice_start = 1 - created / count if count else 1
                slice_length = size / count if count else 0
                age = (slice_start - slice_length * (1 - offsets[index])) * span
                issued_at = now - timedelta(seconds=age)
                # Access tokens live an hour (the server's default); a few long-lived ones stand for
                # clients configured otherwise, and make "active tokens" more than the last hour.
                lifetime = timedelta(days=30) if rng.random() < long_lived else timedelta(hours=1)
                access = credentials.generate("access_token")
                refresh = credentials.generate("refresh_token") if user is not None else None
                revoked = rng.random() < 0.03
                rows.append(
                    Token(
                        access_token_digest=credentials.digest(access),
                        access_token_prefix=credentials.display_prefix(access),
                        refresh_token_digest=credentials.digest(refresh) if refresh else None,
                        refresh_token_prefix=credentials.display_prefix(refresh) if refresh else "",
                        client_id=client,
                        user_id=user,
                        grant_type=grant,
                        scope="profile read",
                        issued_at=issued_at,
                        expires_at=issued_at + lifetime,
                        refresh_expires_at=issued_at + timedelta(days=30) if refresh else None,
                        revoked_at=issued_at + timedelta(minutes=5) if revoked else None,
                        revoked_by="system:seed" if revoked else "",
                        revoked_reason="seeded" if revoked else "",
                    )
                )
            with transaction.atomic():
                Token.objects.bulk_create(rows, batch_size=batch_size)
            created += size
            elapsed = time.monotonic() - started
            if created == count or created % (batch_size * 20) == 0:
                self.stdout.write(f"{created:,}/{count:,} tokens ({created / elapsed:,.0f}/s)")
        if connection.vendor == "postgresql":
            # Fresh statistics, so the planner (and the console's estimated count) know the table.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Token._meta.db_table}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {created} tokens for {len(clients)} clients and {len(users)} users "
                f"in {elapsed:.1f}s; the busiest client is {Client.objects.get(pk=clients[0]).client_id}."
            )
        )

    def _clients(self, n: int, run: str) -> list[int]:
        actor = Actor.system("seed_tokens")
        pks = []
        for index in range(n):
            client, _secret = services.create_client(
                name=f"Seed client {run}-{index}",
                actor=actor,
                source=Client.Source.COMMAND,
                redirect_uris=[f"https://seed-{index}.example.com/callback"],
                grant_types=["authorization_code", "refresh_token", "client_credentials"],
                scope=["profile", "read"],
            )
            pks.append(client.pk)
        return pks

    def _users(self, n: int, run: str) -> list[int]:
        user_model = get_user_model()
        password = make_password(None)  # unusable: these people never sign in
        users = [
            user_model(
                username=f"seed-{run}-{index}", email=f"seed-{run}-{index}@example.com", password=password
            )
            for index in range(n)
        ]
        user_model.objects.bulk_create(users, batch_size=1000)
        return list(
            user_model.objects.filter(username__startswith=f"seed-{run}-").values_list("pk", flat=True)
        )
