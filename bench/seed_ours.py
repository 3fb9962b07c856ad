"""Fill a migrated oauth-console database for the bench; write the credentials as JSON.

Run by `bench.run` with the bench server's environment (the same SECRET_KEY, so the digests
written here are the ones the server computes):
    python -m bench.seed_ours --out bench/work/ours.json --tokens 100000 --consumables 30000

Clients and the consent go through `server.services` (the one write path). The bulk rows are
bench fixtures written with bulk_create, the way a data migration would: going through
`store_token` a hundred thousand times would only measure the seeding.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

REDIRECT_URI = "https://client.example/callback"
BATCH = 5000


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636 §4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _tokens(count: int, *, client, user, scope: str, grant_type: str, with_refresh: bool = False):
    """Bulk-create `count` active tokens; return the plain (access, refresh) values."""
    from django.utils import timezone

    from server import credentials
    from server.models import Token

    now = timezone.now()
    plain = []
    for start in range(0, count, BATCH):
        rows = []
        for _ in range(min(BATCH, count - start)):
            access = credentials.generate("access_token")
            refresh = credentials.generate("refresh_token") if with_refresh else None
            plain.append((access, refresh))
            rows.append(
                Token(
                    access_token_digest=credentials.digest(access),
                    access_token_prefix=credentials.display_prefix(access),
                    refresh_token_digest=credentials.digest(refresh) if refresh else None,
                    refresh_token_prefix=credentials.display_prefix(refresh) if refresh else "",
                    client=client,
                    user=user,
                    grant_type=grant_type,
                    scope=scope,
                    issued_at=now,
                    expires_at=now + timedelta(hours=10),
                    refresh_expires_at=now + timedelta(days=30) if refresh else None,
                    family_id=uuid.uuid4(),
                )
            )
        Token.objects.bulk_create(rows)
    return plain


def _session_cookie(user) -> str:
    """A signed-in session for `user`, stored like a real sign-in stores it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def seed(*, tokens: int, consumables: int, work: Path) -> dict:
    """Create the bench's user, clients, consent, session and tokens; return what wrk needs."""
    from django.contrib.auth import get_user_model

    from server import services
    from server.actors import Actor
    from server.models import Token

    actor = Actor.system("bench")
    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    cc, cc_secret = services.create_client(
        name="bench client_credentials",
        actor=actor,
        grant_types=["client_credentials"],
        scope=["read", "profile"],
    )
    app, app_secret = services.create_client(
        name="bench web app",
        actor=actor,
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        scope=["profile", "read"],
    )
    services.record_consent(user=user, client=app, scope="profile")
    openid_app, openid_secret = services.create_client(
        name="bench OpenID Connect app",
        actor=actor,
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        scope=["openid", "profile"],
    )
    services.record_consent(user=user, client=openid_app, scope="openid profile")
    # The first ID token would make the signing key; made now, as a deployment's first run does.
    services.signing_key_for("RS256")

    half = tokens // 2
    _tokens(half, client=cc, user=None, scope="read", grant_type="client_credentials")
    _tokens(tokens - half, client=app, user=user, scope="profile read", grant_type="authorization_code")
    bearer = _tokens(1, client=app, user=user, scope="profile", grant_type="authorization_code")[0][0]
    revocable = _tokens(consumables, client=app, user=user, scope="profile", grant_type="authorization_code")
    refreshable = _tokens(
        consumables,
        client=app,
        user=user,
        scope="profile",
        grant_type="authorization_code",
        with_refresh=True,
    )
    (work / "ours-revoke.txt").write_text("\n".join(access for access, _ in revocable) + "\n")
    (work / "ours-refresh.txt").write_text("\n".join(refresh for _, refresh in refreshable) + "\n")

    verifier, challenge = pkce_pair()
    return {
        "cc": {"client_id": cc.client_id, "client_secret": cc_secret},
        "app": {"client_id": app.client_id, "client_secret": app_secret, "redirect_uri": REDIRECT_URI},
        "openid_app": {
            "client_id": openid_app.client_id,
            "client_secret": openid_secret,
            "redirect_uri": REDIRECT_URI,
        },
        "bearer_token": bearer,
        "revoke_file": str(work / "ours-revoke.txt"),
        "refresh_file": str(work / "ours-refresh.txt"),
        "session_cookie": _session_cookie(user),
        "code_verifier": verifier,
        "code_challenge": challenge,
        "tokens": Token.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--consumables", type=int, default=30_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    _setup_django()
    out = Path(args.out).resolve()
    data = seed(tokens=args.tokens, consumables=args.consumables, work=out.parent)
    out.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
