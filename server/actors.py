"""Who did something: the actor that every service call and signal names."""

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
