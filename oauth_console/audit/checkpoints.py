"""Sealing, verifying and pruning the log (the chained checkpoints).

Events are inserted without any lock (one INSERT each, its own content HMAC, and a position HMAC
binding that to its id, so a copied row verifies nowhere). `seal` then covers the next run of
settled events with a checkpoint whose digest chains to the previous one, leaving out (and
reporting) any row whose hash is not bound to its id;
`verify` walks events and checkpoints in id order and names the first altered, inserted or
deleted event; `prune` deletes whole sealed ranges and leaves a prune record so what remains
still verifies. Why checkpoints and not a per-row chain: docs/audit.md (measured).
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauth_console.audit import chain
from oauth_console.audit.models import AuditEvent, Checkpoint

logger = logging.getLogger("oauth_console.audit")

SEAL_BATCH = 10_000
READ_CHUNK = 5_000

Progress = Callable[[int], None]


def _last_seal() -> Checkpoint | None:
    return Checkpoint.objects.filter(kind=Checkpoint.Kind.SEAL).order_by("-last_event_id").first()


def _chain_start() -> tuple[int, str]:
    """(last event id already sealed or pruned, digest the next seal must name as previous)."""
    seal = _last_seal()
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


@dataclass(frozen=True)
class Report:
    checked: int
    sealed: int
    problem: Problem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


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


def _misplaced(pk: int, entry_hash: str, position_hash: str, legacy_until: int) -> bool:
    """True when the row's hash is not bound to its id: a copy of another row, or a forgery.
    Rows up to the legacy boundary have no position hash; checkpoints bind their ids."""
    if not position_hash and pk <= legacy_until:
        return False
    return position_hash != chain.position_hash(pk, entry_hash)


def _legacy_copies(rows: list[tuple]) -> set[int]:
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


def _content_matches(pk: int, occurred_at: datetime) -> bool:
    """Whether the row (pk, occurred_at) hashes to its stored hash. Asked only of a repeated id:
    on PostgreSQL the key is (id, occurred_at), so a copy under the same id is a second row."""
    event = AuditEvent.objects.get(pk=pk, occurred_at=occurred_at)
    return chain.event_hash(event) == event.entry_hash


def seal(
    *,
    now: datetime | None = None,
    delay: int | None = None,
    batch: int = SEAL_BATCH,
    through_event_id: int | None = None,
    refused: list[str] | None = None,
) -> int:
    """Seal settled events (older than AUDIT_CHECKPOINT_DELAY) into checkpoints; return how many.

    Safe to run concurrently: two sealers extending the same link collide on a unique
    constraint and the loser stops. Events still inside the delay wait for the next run, so a
    transaction that committed late is not left out of a range the chain already covers.
    `through_event_id` stops the seal there (prune seals up to its cutoff, not across it).
    A row whose hash is not bound to its id (a copy, a forgery) is never sealed: it is left out
    of the checkpoint (which lists exact ids, so verification names it), logged at ERROR, and
    described in `refused` when a list is given.
    """
    delay = settings.AUDIT_CHECKPOINT_DELAY if delay is None else delay
    horizon = (now or timezone.now()) - timedelta(seconds=delay)
    legacy_until, problem = legacy_boundary()
    if problem is not None:
        raise ValueError(problem.message)
    sealed = 0
    skip_to = 0  # past a whole batch of refused rows
    while True:
        after, prev_digest = _chain_start()
        pending = AuditEvent.objects.filter(pk__gt=max(after, skip_to))
        if through_event_id is not None:
            pending = pending.filter(pk__lte=through_event_id)
        rows = list(
            pending.order_by("pk").values_list("pk", "occurred_at", "entry_hash", "position_hash")[:batch]
        )
        considered = []
        for row in rows:
            if row[1] > horizon:
                break
            considered.append(row)
        copies = _legacy_copies([row for row in considered if not row[3] and row[0] <= legacy_until])
        repeated = {pk for pk, count in Counter(row[0] for row in considered).items() if count > 1}
        settled = []
        for pk, occurred_at, entry_hash, position_hash in considered:
            message = None
            if pk in repeated and (
                pk in {settled_pk for settled_pk, _ in settled} or not _content_matches(pk, occurred_at)
            ):
                message = f"Event #{pk} was inserted: it repeats the id of another event."
            elif pk in copies or _misplaced(pk, entry_hash, position_hash, legacy_until):
                message = misplaced_message(AuditEvent.objects.get(pk=pk, occurred_at=occurred_at))
            if message is not None:
                logger.error('{"audit_event_not_sealed":%d} %s', pk, message)
                if refused is not None:
                    refused.append(message)
                continue
            settled.append((pk, entry_hash))
        # A full batch, all settled (sealed or refused): there may be more; the next read starts
        # after it, so a refused row is looked at once per run.
        whole_batch = len(considered) == len(rows) == batch
        if whole_batch:
            skip_to = rows[-1][0]
        if not settled:
            if whole_batch:
                continue
            return sealed
        ids = [pk for pk, _ in settled]
        ranges = chain.id_ranges_of(ids)
        digest = chain.checkpoint_digest(
            prev_digest=prev_digest,
            first_event_id=ids[0],
            last_event_id=ids[-1],
            id_ranges=ranges,
            entry_hashes=[entry_hash for _, entry_hash in settled],
        )
        try:
            with transaction.atomic():
                Checkpoint.objects.create(
                    kind=Checkpoint.Kind.SEAL,
                    first_event_id=ids[0],
                    last_event_id=ids[-1],
                    event_count=len(ids),
                    id_ranges=ranges,
                    prev_digest=prev_digest,
                    digest=digest,
                )
        except IntegrityError:
            return sealed  # another sealer extended the chain first; it carries on
        # The SIEM keeps a copy of every link: an anchor outside the database that a person
        # who can rewrite the tables cannot rewrite too.
        logger.info(
            '{"audit_checkpoint":{"first":%d,"last":%d,"count":%d,"digest":"%s","prev":"%s"}}',
            ids[0],
            ids[-1],
            len(ids),
            digest,
            prev_digest,
        )
        sealed += len(ids)
        if not whole_batch:
            return sealed


# --- verification ---------------------------------------------------------------------------------


def _expected_ids(ranges: list) -> Iterator[int]:
    for first, last in ranges:
        yield from range(first, last + 1)


def _check_prune_record(prune: Checkpoint) -> Problem | None:
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
        problem = _check_prune_record(prune)
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
        expected = _expected_ids(seal["id_ranges"])
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
        if _misplaced(pk, event.entry_hash, event.position_hash, legacy_until):
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
