"""The clients this worker has read, handed out again as provisional clients (PostgreSQL).

A client_credentials request costs a SELECT of its client and then the token's INSERT: two
round trips, and the first one only to learn what the worker learnt on the client's previous
request. This module remembers each client `sql.active_client` read (with its row's version,
`xmin`), and `query_client` hands a token request a copy of it, marked provisional, instead of
reading it again, where `server.oauth2.provisional` allows one. The token's INSERT then confirms
it in the same statement (`server.hotpath.token_insert`): nothing is trusted that the database
has not confirmed by the time the token exists, and nothing is announced before.

Nothing here can make a request succeed that the stored client would refuse, or refuse one it
would allow: every refusal, and every statement that finds the row or the secret changed, is
answered again from the database (`provisional.Unconfirmed`). An entry older than MAX_AGE is
read again; a client whose row changed is read again on its next request (the confirmation
fails once, then the entry is the new row).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from server.hotpath.instances import copied_instance
from server.models import Client

# Seconds an entry is handed out before the client is read again. Correctness does not depend
# on it (every use is confirmed); it bounds how long a worker keeps a client nobody asks for.
MAX_AGE = 60.0
# Entries per worker at most; past it all are forgotten (they only cost a SELECT each).
MAX_REMEMBERED = 1_000

_remembered: dict[str, tuple[Client, float]] = {}


def remember(client: Client | None) -> None:
    """Keep a copy of a client `sql.active_client` has just read (one with a `row_version`)."""
    version = getattr(client, "row_version", None)
    if version is None:
        return
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    _remembered[client.client_id] = (copied_instance(client), time.monotonic() + MAX_AGE)


def provisional_client(client_id: str) -> Client | None:
    """A provisional copy of the client this worker read last with this client_id (a copy per
    request: nothing a request sets on it reaches another), or None."""
    entry = _remembered.get(client_id)
    if entry is None or entry[1] < time.monotonic():
        return None
    client = copied_instance(entry[0])  # copy.copy's __dict__, without pickling's detour
    client.provisional_version = client.row_version
    confirmations: list[Callable[[], Any]] = []
    client.when_confirmed = confirmations.append

    def confirmed() -> None:
        for send in confirmations:
            send()

    client.confirmed = confirmed
    return client


def forget(client_id: str | None = None) -> None:
    """Forget one client, or every one (tests)."""
    if client_id is None:
        _remembered.clear()
    else:
        _remembered.pop(client_id, None)
