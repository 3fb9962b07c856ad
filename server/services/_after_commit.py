"""How every service announces its write: a signal sent once the transaction commits, so a
receiver never sees a change that was rolled back."""

from functools import partial

from django.db import transaction

from server.models import Client


def send_after_commit(signal, **kwargs) -> None:
    transaction.on_commit(partial(signal.send, sender=Client, **kwargs))
