"""How every service announces its write: `server.events.emit`, called inside the service's
transaction after the write. The event's recorders (the audit log) run there and commit with
the write; the public signal is sent once the transaction commits, so a receiver never sees a
change that was rolled back."""

from server import events
from server.models import Client


def send_after_commit(signal, **kwargs) -> None:
    events.emit(signal, sender=Client, **kwargs)
