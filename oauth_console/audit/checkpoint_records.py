"""The audit log's checkpoint records as the sealer and the verifier read them: where the chain
continues (the last seal, else the last prune record), where the log now begins (the last prune
record), and up to which id rows may lack a position hash (the legacy record). `Problem` is what
the verifier (and the sealer, for an altered legacy record) reports.
"""

from dataclasses import dataclass

from oauth_console.audit import chain
from oauth_console.audit.models import Checkpoint


def last_seal() -> Checkpoint | None:
    return Checkpoint.objects.filter(kind=Checkpoint.Kind.SEAL).order_by("-last_event_id").first()


def chain_start() -> tuple[int, str]:
    """(last event id already sealed or pruned, digest the next seal must name as previous)."""
    seal = last_seal()
    if seal is not None:
        return seal.last_event_id, seal.digest
    prune = latest_prune()
    if prune is not None:
        return prune.last_event_id, prune.prev_digest
    return 0, ""


def latest_prune() -> Checkpoint | None:
    """The prune record that says where the log now begins, if the log was ever pruned."""
    return Checkpoint.objects.filter(kind=Checkpoint.Kind.PRUNE).order_by("-last_event_id", "-id").first()


@dataclass(frozen=True)
class Problem:
    """The first thing verification found wrong, said so that a person can act on it."""

    event_id: int | None
    kind: str  # "altered" | "inserted" | "deleted" | "checkpoint"
    message: str


def legacy_boundary() -> tuple[int, Problem | None]:
    """The last event written before position hashes existed (0: none), and a problem if the
    legacy record was altered."""
    boundary = 0
    for record in Checkpoint.objects.filter(kind=Checkpoint.Kind.LEGACY):
        if chain.legacy_digest(last_event_id=record.last_event_id) != record.digest:
            return 0, Problem(
                None, "checkpoint", f"The legacy record #{record.pk} was altered (its digest does not match)."
            )
        boundary = max(boundary, record.last_event_id)
    return boundary, None
