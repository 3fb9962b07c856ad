"""`manage.py seed_demo`: the demo users and clients for `make run`, with their credentials."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from server import demo, policies


class Command(BaseCommand):
    help = (
        "Create (or reset) demo data: an operator 'admin', an end user 'alice', a developer 'dev', "
        "a security analyst 'security', a confidential and a public demo client; print their "
        "credentials. Uses public demo passwords, so it runs only with DEBUG on unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (sets well-known passwords!)."
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server runs, for the printed URLs (default http://127.0.0.1:8000).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo gives accounts publicly known passwords (admin-demo-password, "
                "alice-demo-password, ...), so it runs only with DEBUG on (make run sets DEBUG=1). "
                "Pass --force if you really want demo accounts on this server."
            )
        if not settings.DEBUG:
            self.stderr.write(
                self.style.WARNING("DEBUG is off: demo accounts with public passwords on this server!")
            )
        try:
            data = demo.seed_demo()
        except policies.PolicyError as exc:
            raise CommandError(str(exc)) from exc
        self.print_summary(data, options["base_url"].rstrip("/"))

    def print_summary(self, data: demo.DemoData, base: str) -> None:
        """Print the block a person needs to try the server: URLs, accounts, clients, curl."""
        out = self.stdout.write
        heading = self.style.MIGRATE_HEADING
        confidential, public = data.confidential, data.public

        out(heading("\n== oauth-console demo data =="))
        out(heading("URLs"))
        for label, path in (
            ("Home", "/"),
            ("Operator console (admin)", "/admin/"),
            ("Operator dashboard", "/console/"),
            ("Developer portal", "/developers/"),
            ("Your authorized apps", "/account/apps/"),
            ("Server metadata", "/.well-known/oauth-authorization-server"),
        ):
            out(f"  {label + ':':28} {base}{path}")

        out(heading("Users (demo passwords: never use them on a real server)"))
        for role, account in (
            ("operator, superuser: /admin/, /console/", data.operator),
            ("end user: consent, /account/apps/", data.end_user),
            ("developer: /developers/ (owns the demo clients)", data.developer),
            ("security analyst: the audit log in /admin/", data.security),
        ):
            state = "created" if account.created else "password reset"
            out(f"  {account.user.get_username():8} / {account.password:24} {role} ({state})")

        out(heading("Clients"))
        out(f"  {confidential.client.name} (confidential, {'created' if confidential.created else 'reset'})")
        out(f"    client_id:     {confidential.client.client_id}")
        out(f"    client_secret: {confidential.secret}")
        if not confidential.created:
            out(
                self.style.WARNING(
                    "    Secrets are stored only as digests, so this run issued a NEW secret; "
                    "the previous one no longer works."
                )
            )
        out(f"    redirect URIs: {' '.join(confidential.client.redirect_uri_list)}")
        out(f"    scopes:        {confidential.client.scope}")
        out(f"  {public.client.name} (public, PKCE S256, {'created' if public.created else 'reset'})")
        out(f"    client_id:     {public.client.client_id}")
        out(f"    redirect URIs: {' '.join(public.client.redirect_uri_list)}")
        out(f"    scopes:        {public.client.scope}")

        out(heading("Try it: client credentials"))
        out(
            f"  curl -s -u '{confidential.client.client_id}:{confidential.secret}' "
            f"-d grant_type=client_credentials -d 'scope=read write' {base}/oauth/token"
        )
        out(heading("Try it: authorization code with PKCE (sign in as alice)"))
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect_uri = public.client.redirect_uri_list[0]
        query = urlencode(
            {
                "response_type": "code",
                "client_id": public.client.client_id,
                "redirect_uri": redirect_uri,
                "scope": "profile",
                "state": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        out(f"  1. Open {base}/oauth/authorize?{query}")
        out("  2. Approve, copy the code from the redirect, then:")
        out(
            f"  curl -s -d grant_type=authorization_code -d client_id={public.client.client_id} "
            f"-d redirect_uri={redirect_uri} -d code_verifier={verifier} -d code=PASTE_THE_CODE "
            f"{base}/oauth/token"
        )
        out("")
