"""Copy and forgery detection: whether an audit row's hash is bound to its id (its position
hash), which legacy rows (written before position hashes) repeat another row, and which event a
copied row was taken from. The sealer refuses such rows; the verifier names them.
"""

from datetime import datetime

from oauth_console.audit import chain
from oauth_console.audit.models import AuditEvent


def misplaced(pk: int, entry_hash: str, position_hash: str, legacy_until: int) -> bool:
    """True when the row's hash is not bound to its id: a copy of another row, or a forgery.
    Rows up to the legacy boundary have no position hash; checkpoints bind their ids."""
    if not position_hash and pk <= legacy_until:
        return False
    return position_hash != chain.position_hash(pk, entry_hash)


def legacy_copies(rows: list[tuple]) -> set[int]:
    """Among legacy rows (no position hash), those that repeat another row of the log: same
    time and same hash. One indexed query (on occurred_at) for the whole batch."""
    times = {occurred_at for _, occurred_at, _, _ in rows}
    if not times:
        return set()
    seen: dict[tuple, int] = {}
    copies = set()
    stored = AuditEvent.objects.filter(occurred_at__in=times).order_by("pk")
    for pk, occurred_at, entry_hash in stored.values_list("pk", "occurred_at", "entry_hash"):
        key = (occurred_at, entry_hash)
        if key in seen:
            copies.add(pk)  # the later of two identical rows is the copy
        else:
            seen[key] = pk
    return copies


def copy_source(event) -> int | None:
    """The id of the event a copied row was taken from, when it is still in the log."""
    candidates = AuditEvent.objects.filter(
        occurred_at=event.occurred_at, entry_hash=event.entry_hash
    ).exclude(pk=event.pk)
    for pk, position_hash in candidates.order_by("pk").values_list("pk", "position_hash"):
        if event.position_hash and event.position_hash == position_hash:
            return pk
        if not position_hash or position_hash == chain.position_hash(pk, event.entry_hash):
            return pk
    return None


def misplaced_message(event) -> str:
    source = copy_source(event)
    if source is not None:
        return f"Event #{event.pk} was inserted: it is a copy of event #{source}."
    return (
        f"Event #{event.pk} was inserted or forged: its hash is not bound to its position "
        "(a copy of a deleted event, or written without the key)."
    )


def content_matches(pk: int, occurred_at: datetime) -> bool:
    """Whether the row (pk, occurred_at) hashes to its stored hash. Asked only of a repeated id:
    on PostgreSQL the key is (id, occurred_at), so a copy under the same id is a second row."""
    event = AuditEvent.objects.get(pk=pk, occurred_at=occurred_at)
    return chain.event_hash(event) == event.entry_hash
