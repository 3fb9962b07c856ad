"""A new secret is shown once, by a GET that follows the POST which made it.

The POST that creates a client or rotates a secret keeps the plain secret in the server-side
session and redirects; the page it redirects to takes it out of the session as it renders it.
So a reload of that page shows "already shown" instead of creating a second client or rotating
again, the secret is never in a URL or a cookie, and it stays in the session only between the
redirect and the first GET (at most `MAX_AGE`, in case the browser never follows the redirect).
"""

import time

from django.http import HttpRequest, HttpResponse

SESSION_KEY = "secrets_shown_once"
MAX_AGE = 10 * 60  # seconds a secret waits in the session for its one showing


def keep(request: HttpRequest, slot: str, secret: str | list | None, kind: str = "") -> None:
    """Keep `secret` for the next `take` of `slot` in this session (None: a client without one;
    a list: an import's [client_id, name, secret] rows).

    `kind` says what made it ("created", "rotated"), for the page's wording.
    """
    pending = {
        name: entry
        for name, entry in request.session.get(SESSION_KEY, {}).items()
        if entry["at"] > time.time() - MAX_AGE
    }
    pending[slot] = {"secret": secret, "kind": kind, "at": time.time()}
    request.session[SESSION_KEY] = pending


def take(request: HttpRequest, slot: str) -> dict | None:
    """What `keep` left for `slot` ({"secret", "kind"}), forgotten as it is returned; else None."""
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(slot, None)
    if entry is None:
        return None
    # Reassigning marks the session modified, so the pop is saved with this response.
    request.session[SESSION_KEY] = pending
    if entry["at"] <= time.time() - MAX_AGE:
        return None
    return entry


def client_slot(client_pk: int) -> str:
    return f"client:{client_pk}"


def never_store(response: HttpResponse) -> HttpResponse:
    """A page that carries a plain secret must not be kept by any cache or the browser."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
