"""The audit commands record themselves: exporting, pruning, sealing or verifying the security
log is itself a security event (who ran it, over what range, how many events)."""

import getpass

from oauth_console.audit import recorder, writer
from oauth_console.audit.models import ActorKind, Outcome


def _os_user() -> str:
    # Management commands run outside any request: the account that ran them is the "who".
    try:
        return getpass.getuser()
    except Exception:  # no login name in a bare container: still record the command
        return ""


def record_command(event_type: str, command: str, *, outcome: str = Outcome.SUCCESS, **detail) -> None:
    """Record one run of `command`, and store it before the process exits."""
    recorder.record(
        event_type,
        outcome=outcome,
        actor_kind=ActorKind.SYSTEM,
        actor_label=f"system:{command}",
        detail={"os_user": _os_user(), **detail},
    )
    writer.flush()
