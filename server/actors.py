"""Who did something: the actor that every service call and signal names."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The party behind a write: an operator, an end user, a client, or the system itself.

    `label` is what the audit log and the console show ("operator:alice", "client:abc…").
    """

    kind: str  # "operator" | "user" | "developer" | "client" | "system"
    label: str
    user_id: int | None = None
    client_id: str | None = None

    @classmethod
    def operator(cls, user) -> "Actor":
        return cls("operator", f"operator:{user.get_username()}", user_id=user.pk)

    @classmethod
    def user(cls, user) -> "Actor":
        return cls("user", f"user:{user.get_username()}", user_id=user.pk)

    @classmethod
    def developer(cls, user) -> "Actor":
        return cls("developer", f"developer:{user.get_username()}", user_id=user.pk)

    @classmethod
    def client(cls, client_id: str) -> "Actor":
        return cls("client", f"client:{client_id}", client_id=client_id)

    @classmethod
    def system(cls, what: str = "system") -> "Actor":
        return cls("system", f"system:{what}")


# Who is behind the writes that model signals trigger (a user saved or deleted): a model signal
# carries no actor, so the door that knows one (the admin) says it around the save.
_acting: ContextVar[Actor | None] = ContextVar("server_acting_actor", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Name `actor` for the writes that model-signal receivers make inside this block."""
    reset = _acting.set(actor)
    try:
        yield actor
    finally:
        _acting.reset(reset)


def current_actor(default: Actor) -> Actor:
    """The actor named by the innermost `acting_as`, else `default`."""
    return _acting.get() or default
