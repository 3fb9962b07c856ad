"""Verification: walk events and checkpoints in id order and name the first altered, inserted or
deleted event (or altered checkpoint, prune or legacy record).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from oauth_console.audit import chain
from oauth_console.audit.checkpoint_records import Problem, latest_prune, legacy_boundary
from oauth_console.audit.copies import misplaced, misplaced_message
from oauth_console.audit.models import AuditEvent, Checkpoint

READ_CHUNK = 5_000

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Report:
    checked: int
    sealed: int
    problem: Problem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def expected_ids(ranges: list) -> Iterator[int]:
    for first, last in ranges:
        yield from range(first, last + 1)


def check_prune_record(prune: Checkpoint) -> Problem | None:
    expected = chain.prune_digest(
        prev_digest=prune.prev_digest, last_event_id=prune.last_event_id, event_count=prune.event_count
    )
    if expected != prune.digest:
        return Problem(
            None, "checkpoint", f"The prune record #{prune.pk} was altered (its digest does not match)."
        )
    return None


def verify(*, progress: Progress | None = None, progress_every: int = 100_000) -> Report:
    """Check every event's hash and every checkpoint; return the first problem found, if any."""
    prune = latest_prune()
    floor, expected_prev = 0, ""
    if prune is not None:
        problem = check_prune_record(prune)
        if problem:
            return Report(0, 0, problem)
        floor, expected_prev = prune.last_event_id, prune.prev_digest
    legacy_until, problem = legacy_boundary()
    if problem:
        return Report(0, 0, problem)

    seals = list(
        Checkpoint.objects.filter(kind=Checkpoint.Kind.SEAL)
        .order_by("first_event_id")
        .values("pk", "first_event_id", "last_event_id", "event_count", "id_ranges", "prev_digest", "digest")
    )
    seal_index = 0
    current = None  # the seal whose range we are inside
    expected: Iterator[int] | None = None
    next_expected: int | None = None
    hashes: list[str] = []
    checked = sealed = 0
    tail_hashes: set[str] = set()
    previous_pk = None

    def open_seal(seal: dict) -> Problem | None:
        nonlocal expected, next_expected, hashes
        if seal["prev_digest"] != expected_prev:
            return Problem(
                seal["first_event_id"],
                "deleted",
                f"The checkpoint chain is broken before event #{seal['first_event_id']}: the checkpoint "
                "or the events before it were deleted or replaced.",
            )
        expected = expected_ids(seal["id_ranges"])
        next_expected = next(expected, None)
        hashes = []
        return None

    def close_seal(seal: dict) -> Problem | None:
        nonlocal expected_prev
        if next_expected is not None:
            return Problem(
                next_expected, "deleted", f"Event #{next_expected} was deleted (its checkpoint lists it)."
            )
        digest = chain.checkpoint_digest(
            prev_digest=seal["prev_digest"],
            first_event_id=seal["first_event_id"],
            last_event_id=seal["last_event_id"],
            id_ranges=seal["id_ranges"],
            entry_hashes=hashes,
        )
        if digest != seal["digest"] or len(hashes) != seal["event_count"]:
            return Problem(
                seal["first_event_id"],
                "checkpoint",
                f"The checkpoint #{seal['pk']} over events #{seal['first_event_id']}.."
                f"#{seal['last_event_id']} does not match them (the checkpoint was altered).",
            )
        expected_prev = seal["digest"]
        return None

    events = AuditEvent.objects.order_by("pk", "occurred_at").iterator(chunk_size=READ_CHUNK)
    for event in events:
        checked += 1
        if progress and checked % progress_every == 0:
            progress(checked)
        pk = event.pk
        if pk == previous_pk:
            # PostgreSQL's key is (id, occurred_at): a second row can take a sealed row's id.
            return Report(
                checked,
                sealed,
                Problem(pk, "inserted", f"Event #{pk} was inserted: it repeats the id of another event."),
            )
        previous_pk = pk
        if pk <= floor:
            return Report(
                checked,
                sealed,
                Problem(pk, "inserted", f"Event #{pk} was inserted: the log was pruned up to #{floor}."),
            )
        # Step through the seals up to this event: open the one whose range it reaches, and close
        # (checking that every id it lists was seen) each one it has passed.
        while True:
            if current is None and seal_index < len(seals) and pk >= seals[seal_index]["first_event_id"]:
                current = seals[seal_index]
                problem = open_seal(current)
                if problem:
                    return Report(checked, sealed, problem)
            if current is not None and pk > current["last_event_id"]:
                problem = close_seal(current)
                if problem:
                    return Report(checked, sealed, problem)
                current = None
                seal_index += 1
                continue
            break
        if chain.event_hash(event) != event.entry_hash:
            return Report(
                checked,
                sealed,
                Problem(
                    pk, "altered", f"Event #{pk} was altered or forged: its hash does not match its content."
                ),
            )
        if misplaced(pk, event.entry_hash, event.position_hash, legacy_until):
            return Report(checked, sealed, Problem(pk, "inserted", misplaced_message(event)))
        if current is not None:
            if next_expected is None or pk < next_expected:
                return Report(
                    checked,
                    sealed,
                    Problem(pk, "inserted", f"Event #{pk} was inserted: its checkpoint does not list it."),
                )
            if pk > next_expected:
                return Report(
                    checked,
                    sealed,
                    Problem(
                        next_expected,
                        "deleted",
                        f"Event #{next_expected} was deleted (its checkpoint lists it).",
                    ),
                )
            hashes.append(event.entry_hash)
            next_expected = next(expected, None)
            sealed += 1
        else:
            if seal_index < len(seals):
                # Before the next seal's range but after the previous one's: not in any checkpoint.
                return Report(
                    checked,
                    sealed,
                    Problem(pk, "inserted", f"Event #{pk} was inserted between two checkpoints."),
                )
            # The unsealed tail: no checkpoint yet, but a copied row still shows up as a duplicate.
            if event.entry_hash in tail_hashes:
                return Report(
                    checked,
                    sealed,
                    Problem(pk, "inserted", f"Event #{pk} was inserted: it duplicates another event."),
                )
            tail_hashes.add(event.entry_hash)
    # Seals left after the last event: their events are gone.
    while seal_index < len(seals):
        if current is None:
            current = seals[seal_index]
            problem = open_seal(current)
            if problem:
                return Report(checked, sealed, problem)
        problem = close_seal(current)
        if problem:
            return Report(checked, sealed, problem)
        current = None
        seal_index += 1
    return Report(checked, sealed, None)
