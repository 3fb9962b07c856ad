"""Provisional clients: a client the server remembers, confirmed by the statement that stores the token.

A token request authenticates its client from the client's row, then stores the token: two
round trips to the database, where a client_credentials grant writes nothing but the token. A
server may instead hand the grant a client it read earlier (`query_client` returns a *provisional*
client: one whose `provisional_version` is set) and have the statement that stores the token
confirm that the row, and the secret the request presented, are still exactly as they were read
(`server.hotpath.known_clients`). What a provisional client may not do is decide anything on its
own; this module is the rule that keeps it so:

- it may only be used where nothing is spent before the token is written (`eligible`: a
  client_credentials grant, a client authenticated by a secret); an authorization code, a refresh
  token or a client assertion's `jti` would be spent before the token's statement could find the
  client changed, and the request could not be answered again;
- it never refuses a request: a wrong secret, an unknown scope or grant, any error the grant
  raises with it, is answered again with the client read from the database (`Unconfirmed`,
  `refuse_unconfirmed`), so a stale copy cannot refuse what the stored client allows;
- its authentication is announced (`client_authenticated`) only once the statement confirmed it
  (`announce`), so no receiver hears of an authentication the database then refuses;
- when the statement finds the row changed, it writes nothing, and the request is answered again
  from the database (`Unconfirmed`), before anything was written or announced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_allowed: ContextVar[bool] = ContextVar("provisional_clients_allowed", default=False)


class Unconfirmed(Exception):
    """A provisional client could not be confirmed (or would have refused the request): answer
    the request again with the client read from the database."""


def is_provisional(client: Any) -> bool:
    return getattr(client, "provisional_version", None) is not None


def allowed() -> bool:
    """May `query_client` return a provisional client now?"""
    return _allowed.get()


@contextmanager
def allowing(enabled: bool = True) -> Iterator[None]:
    token = _allowed.set(enabled)
    try:
        yield
    finally:
        _allowed.reset(token)


def answered(respond: Callable[[bool], Any]) -> Any:
    """`respond(True)`: provisional clients may be used where the caller allows them
    (`allowing`); if one could not be confirmed, `respond(False)`: the request answered again,
    with the client read from the database."""
    try:
        return respond(True)
    except Unconfirmed:
        return respond(False)


def eligible(grant: Any, request: Any) -> bool:
    """May this token request use a provisional client? A client_credentials grant (the token is
    its only write) whose client authenticates with a secret: a client assertion's `jti` would
    be spent by the first answer, and refused as a replay by the second."""
    form = request.form
    return (
        grant.GRANT_TYPE == "client_credentials"
        and "client_assertion" not in form
        and "client_assertion_type" not in form
    )


def refuse_unconfirmed(client: Any) -> None:
    """Before a request is refused: a provisional client does not refuse, the database does."""
    if is_provisional(client):
        raise Unconfirmed


def announce(client: Any, send: Callable[[], Any]) -> None:
    """Send the client's authentication now, or, for a provisional client, once the statement
    that stores its token has confirmed it (`client.when_confirmed`)."""
    if is_provisional(client):
        client.when_confirmed(send)
    else:
        send()
