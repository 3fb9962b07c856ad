"""A request's cache round trip, sent before its database lookup and waited for after it.

The rate limiter sends a token, introspection or revocation request's round trip
(`server.cache_round_trip`) and lets the view run (`server.ratelimit.overlap` says when); the
client lookup calls `settle()` once the client is back from the database and before any
credential found there is checked, and the request's end closes what nothing settled. Kept here,
apart from what the round trip sends, so that the binding's lookup and the limiter meet in one
small module.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar

__all__ = ["Outstanding", "Refused", "outstanding", "settle"]

# The request's round trip, started before its database lookup and not yet waited for: the
# function that settles it (`settle`). A context variable: a gthread worker's threads each
# have their own request.
_unsettled: ContextVar[list[Callable[[], None]] | None] = ContextVar("unsettled_round_trip", default=None)


class Refused(Exception):
    """Raised by `settle()` when the outstanding round trip refuses the request (a rate limit,
    a lockout); whoever started the round trip answers the request (a 429)."""


class Outstanding:
    """A request's round trip left outstanding (`outstanding`): the first `settle()` in the same
    context (which the client lookup calls, after reading the client from the database and
    before checking any credential found there) runs the function given, which raises Refused
    to refuse the request. `close()`, at the end of the request, runs it if nothing did (a
    Refused then is the caller's to read off what the function recorded), so the reply is
    always read and the connection kept clean."""

    def __init__(self, settle_: Callable[[], None]) -> None:
        self._pending = [settle_]
        self._token = _unsettled.set(self._pending)

    def close(self) -> None:
        _unsettled.reset(self._token)
        if self._pending:
            with suppress(Refused):
                self._pending.pop()()


def outstanding(settle_: Callable[[], None]) -> Outstanding:
    """Leave the request's round trip outstanding until `settle()` or the returned object's
    `close()`, whichever comes first; close it when the request ends, in the same context."""
    return Outstanding(settle_)


def settle() -> None:
    """Wait for the request's outstanding round trip, if any, and act on it: Refused when it
    refuses the request. Call before checking a credential; after the first call, a no-op."""
    pending = _unsettled.get()
    if pending:
        pending.pop()()
