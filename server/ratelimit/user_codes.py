"""User-code guessing at /device (RFC 8628 §5.1, §5.2): attempts counted per address and per
signed-in user before the code is looked up (so parallel guesses cannot slip past the limit),
and taken back when the code finds a waiting device: people who type their code right never use
up a limit. 20^8 codes and a code that lives minutes leave a guesser at these rates no chance;
the throttle and every refused code reach the audit log."""

from __future__ import annotations

from django.http import HttpRequest

from .counters import Throttle, count, uncount
from .identity import client_ip

SCOPE = "device"


def check(request: HttpRequest, now: float) -> tuple[Throttle | None, list[str]]:
    """Count one attempt of the signed-in `request.user`; (the Throttle if over a limit, the
    counters to take back if the code turns out right)."""
    ip = client_ip(request)
    counted: list[str] = []
    for name, identity in (("user_code_ip", ip), ("user_code_user", str(request.user.pk))):
        wait = count(name, identity, now, counted=counted)
        if wait:
            return Throttle(SCOPE, name, wait, "", ip), counted
    return None, counted


def take_back(counted: list[str]) -> None:
    """The attempt found a waiting device: it does not count."""
    uncount(counted)
