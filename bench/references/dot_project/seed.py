"""Fill a migrated database for the django-oauth-toolkit scenarios; print their credentials.

`--tokens` background access tokens make the token table big enough for indexes to matter;
`--consumables` access tokens (revocation) and refresh tokens (rotation) are written one a line
to files that the wrk scripts walk, so every request spends a different one.
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

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application, RefreshToken  # noqa: E402

REDIRECT_URI = "https://client.example/callback"
BATCH = 5000


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_tokens(count: int, *, application, user, scope: str) -> list[AccessToken]:
    expires = timezone.now() + timedelta(hours=10)
    made = []
    for start in range(0, count, BATCH):
        rows = []
        for _ in range(min(BATCH, count - start)):
            token = secrets.token_urlsafe(30)
            rows.append(
                AccessToken(
                    token=token,
                    token_checksum=checksum(token),
                    application=application,
                    user=user,
                    expires=expires,
                    scope=scope,
                )
            )
        made.extend(AccessToken.objects.bulk_create(rows))
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--consumables", type=int, default=30_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    work = Path(args.out).resolve().parent

    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    hashed_secret, plain_secret, app_secret = (secrets.token_urlsafe(40) for _ in range(3))
    cc_hashed = Application.objects.create(
        name="bench cc hashed",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=hashed_secret,
    )
    cc_plain = Application.objects.create(
        name="bench cc plain",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=plain_secret,
        hash_client_secret=False,
    )
    app = Application.objects.create(
        name="bench web app",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        client_secret=app_secret,
        hash_client_secret=False,
        # The reference's form of "consent remembered": no approval page.
        skip_authorization=True,
    )

    openid_secret = secrets.token_urlsafe(40)
    openid_app = Application.objects.create(
        name="bench OpenID Connect app",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        client_secret=openid_secret,
        hash_client_secret=False,
        skip_authorization=True,
        algorithm=Application.RS256_ALGORITHM,
    )

    half = args.tokens // 2
    access_tokens(half, application=cc_plain, user=None, scope="read")
    access_tokens(args.tokens - half, application=app, user=user, scope="profile read")

    bearer = access_tokens(1, application=app, user=user, scope="profile")[0]
    revocable = access_tokens(args.consumables, application=app, user=user, scope="profile")
    (work / "dot-revoke.txt").write_text("\n".join(t.token for t in revocable) + "\n")

    pairs = access_tokens(args.consumables, application=app, user=user, scope="profile")
    refresh_values = []
    for start in range(0, len(pairs), BATCH):
        rows = []
        for access in pairs[start : start + BATCH]:
            value = secrets.token_urlsafe(30)
            refresh_values.append(value)
            rows.append(
                RefreshToken(
                    token=value,
                    token_checksum=checksum(value),
                    application=app,
                    user=user,
                    access_token=access,
                    token_family=uuid.uuid4(),
                )
            )
        RefreshToken.objects.bulk_create(rows)
    (work / "dot-refresh.txt").write_text("\n".join(refresh_values) + "\n")

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    output = {
        "cc_hashed": {"client_id": cc_hashed.client_id, "client_secret": hashed_secret},
        "cc_plain": {"client_id": cc_plain.client_id, "client_secret": plain_secret},
        "app": {"client_id": app.client_id, "client_secret": app_secret, "redirect_uri": REDIRECT_URI},
        "openid_app": {
            "client_id": openid_app.client_id,
            "client_secret": openid_secret,
            "redirect_uri": REDIRECT_URI,
        },
        "bearer_token": bearer.token,
        "revoke_file": str(work / "dot-revoke.txt"),
        "refresh_file": str(work / "dot-refresh.txt"),
        "session_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        "code_verifier": verifier,
        "code_challenge": challenge,
        "tokens": AccessToken.objects.count(),
    }
    Path(args.out).write_text(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
