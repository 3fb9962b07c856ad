"""`manage.py rotate_signing_keys`: activate the next ID-token signing key, publish a new next one."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from server import selectors, services
from server.actors import Actor
from server.conf import server_settings
from server.management.arguments import looked_up
from server.models import SigningKey
from server.oauth2.keys import SIGNING_ALGORITHMS

KID_LENGTH = SigningKey._meta.get_field("kid").max_length


class Command(BaseCommand):
    help = (
        "Rotate the OpenID Connect signing keys. For each algorithm: the next key (published in the "
        "JWKS for at least OAUTH2_SIGNING_KEY_LEAD_TIME) becomes active, the active one is retired "
        "(published until its tokens expire), and a new next key is published. Run it on a schedule "
        "(e.g. monthly); --now skips the lead time (relying parties refetch the JWKS on an unknown kid)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--alg",
            action="append",
            choices=SIGNING_ALGORITHMS,
            help="Rotate only this algorithm's keys (repeatable). Default: every algorithm in use.",
        )
        parser.add_argument("--now", action="store_true", help="Activate the next key without waiting.")
        parser.add_argument(
            "--revoke",
            metavar="KID",
            help="Revoke this key instead (it is unpublished at once). A kid may start with '-' "
            "(base64url): write --revoke=KID.",
        )
        parser.add_argument("--reason", default="", help="Why a key is revoked (kept in the audit log).")
        parser.add_argument("--list", action="store_true", help="Only list the keys and their states.")
        parser.add_argument(
            "--if-due",
            action="store_true",
            help="For a periodic job (cron): rotate only the keys that have signed for "
            "OAUTH2_SIGNING_KEY_MAX_AGE, publishing their next key a lead time before. "
            "Does nothing when that setting is 0.",
        )

    def handle(self, *args, **options) -> None:
        actor = Actor.system("rotate_signing_keys")
        if options["list"]:
            self._list()
            return
        if options["revoke"]:
            kid = looked_up(options["revoke"], "signing key with kid", max_length=KID_LENGTH)
            key = SigningKey.objects.filter(kid=kid).first()
            if key is None:
                raise CommandError(f"No signing key with kid {options['revoke']!r}.")
            try:
                services.revoke_signing_key(key, actor=actor, reason=options["reason"])
            except services.SigningKeyError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                self.style.WARNING(f"Revoked {key.alg} key {key.kid}: tokens it signed no longer verify.")
            )
            return
        if options["if_due"]:
            if options["now"] or options["alg"]:
                raise CommandError("--if-due rotates what is due by age: it takes no --now or --alg.")
            if not server_settings.OAUTH2_SIGNING_KEY_MAX_AGE:
                self.stdout.write(
                    "Automatic rotation is off (OAUTH2_SIGNING_KEY_MAX_AGE = 0): nothing to do."
                )
                return
            steps = services.rotate_signing_keys_if_due(actor=Actor.system("rotate_signing_keys --if-due"))
            if not steps:
                self.stdout.write("No signing key is due for rotation.")
                return
        else:
            self.stdout.write("Rotating signing keys...")
            steps = services.rotate_signing_keys(actor=actor, algs=options["alg"], force=options["now"])
        self._report(steps)

    def _report(self, steps) -> None:
        for step in steps:
            key = step.key
            if step.action == "activated":
                self.stdout.write(
                    self.style.SUCCESS(f"  {key.alg}: activated {key.kid} (the previous key is retired)")
                )
            elif step.action == "created":
                self.stdout.write(f"  {key.alg}: published a new next key {key.kid}")
            else:
                self.stdout.write(
                    f"  {key.alg}: next key {key.kid} {step.note} (--now to activate it anyway)"
                )
        self.stdout.write(f"Done. The JWKS publishes {selectors.published_signing_keys().count()} key(s).")

    def _list(self) -> None:
        rows = SigningKey.objects.order_by("alg", "-created_at")
        if not rows:
            self.stdout.write("No signing keys yet: the first ID token makes one.")
        for key in rows:
            dates = f"created {key.created_at:%Y-%m-%d %H:%M}"
            if key.activated_at:
                dates += f", activated {key.activated_at:%Y-%m-%d %H:%M}"
            if key.retired_at:
                dates += f", retired {key.retired_at:%Y-%m-%d %H:%M}"
            if key.revoked_at:
                dates += f", revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            self.stdout.write(f"{key.alg}  {key.state:<8} {key.kid}  {dates}")
