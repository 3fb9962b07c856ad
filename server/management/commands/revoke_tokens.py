"""`manage.py revoke_tokens`: revoke a client's, a user's or every token, after a confirmation."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from server import services
from server.actors import Actor
from server.management.arguments import looked_up, parse_moment
from server.models import MAX_CLIENT_ID_LENGTH, Client, Token


class Command(BaseCommand):
    help = (
        "Revoke the tokens of one client, of one user, or all of them (optionally only those issued "
        "before a date). Shows how many and asks first unless --yes."
    )
    # Tests hand in their own stdin; like createsuperuser, not a command-line option.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--client",
            metavar="CLIENT_ID",
            help="Tokens issued to this client (write --client=-abc for an id that starts with '-').",
        )
        which.add_argument("--user", metavar="USERNAME", help="Tokens issued for this user.")
        which.add_argument("--all", action="store_true", help="Every token.")
        parser.add_argument(
            "--before", metavar="DATE", help="Only tokens issued before this date (YYYY-MM-DD or ISO 8601)."
        )
        parser.add_argument(
            "--reason", default="revoked with manage.py revoke_tokens", help="Recorded on each token."
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options) -> None:
        tokens, criteria, described = self._select(options)
        reason = (options["reason"] or "").strip()
        if not reason:
            raise CommandError("The reason cannot be empty.")
        pending = tokens.filter(revoked_at__isnull=True).count()
        if not pending:
            self.stdout.write(f"No unrevoked tokens {described}: nothing to do.")
            return
        self.stdout.write(f"{pending} token(s) {described} will be revoked.")
        if not options["yes"]:
            self._confirm(options.get("stdin") or sys.stdin)
        count = services.revoke_tokens(
            tokens, actor=Actor.system("revoke_tokens"), reason=reason, criteria=criteria
        )
        self.stdout.write(self.style.SUCCESS(f"Revoked {count} token(s)."))

    def _select(self, options) -> tuple:
        """The tokens the options name, the criteria recorded with the revocation, and a phrase."""
        tokens = Token.objects.all()
        if options["client"]:
            client_id = looked_up(options["client"], "client with client_id", max_length=MAX_CLIENT_ID_LENGTH)
            client = Client.objects.filter(client_id=client_id).first()
            if client is None:
                raise CommandError(f"No client with client_id {options['client']!r}.")
            tokens, criteria = tokens.filter(client=client), {"client_id": client.client_id}
            described = f"of client {client.name!r} ({client.client_id})"
        elif options["user"]:
            user_model = get_user_model()
            name_length = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length or 150
            username = looked_up(options["user"], "user named", max_length=name_length)
            user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
            tokens, criteria = tokens.filter(user=user), {"user": user.get_username()}
            described = f"of user {user.get_username()!r}"
        else:
            criteria, described = {"all": True}, "of every client and user"
        if options["before"]:
            before = parse_moment(options["before"])
            tokens = tokens.filter(issued_at__lt=before)
            criteria["issued_before"] = before.isoformat()
            described += f" issued before {before.isoformat()}"
        return tokens, criteria, described

    def _confirm(self, stdin) -> None:
        # Never sit waiting on a pipe or a cron job: without a terminal the answer must be --yes.
        if not stdin.isatty():
            raise CommandError("Not asking for confirmation without a terminal: pass --yes to revoke.")
        self.stdout.write("Type 'yes' to revoke them: ", ending="")
        self.stdout.flush()
        try:
            answer = stdin.readline().strip().lower()
        except KeyboardInterrupt:
            answer = ""
        if answer not in {"yes", "y"}:
            raise CommandError("Cancelled: nothing was revoked.")
