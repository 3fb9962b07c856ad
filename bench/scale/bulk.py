"""The bulk operations timed once each, in the order a run does them (each changes the database):
an export of the audit log, revoking every token of one client, `cleartokens` stopped part-way
and resumed, and `prune_audit_log` of whole and part months."""

import inspect
import io
import math
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from bench.scale import log
from bench.scale.report import Row
from bench.scale.seeding import SPAN_DAYS
from bench.scale.timing import timed, timed_with_queries


def measure_export(args, now) -> Row:
    """export_audit_log (jsonl) over a window of the seeded span; `now`: when the run started measuring."""
    from django.core.management import call_command

    step = timedelta(days=SPAN_DAYS).total_seconds() / args.events
    # An export of about --export-events events, from the middle of the retained range.
    window = timedelta(seconds=step * args.export_events)
    since = now - timedelta(days=100)
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        log(f"export of ~{args.export_events:,} audit events")
        seconds, _ = timed(
            lambda: call_command(
                "export_audit_log",
                since=since.isoformat(),
                until=(since + window).isoformat(),
                output=out.name,
                stderr=io.StringIO(),
            )
        )
        exported = sum(1 for _ in open(out.name, encoding="utf-8"))  # noqa: SIM115
    return Row("export_audit_log (jsonl)", [seconds], note=f"{exported:,} events")


def measure_revoke_all(first) -> Row:
    """Every token of the client that holds half of them, revoked with one services.revoke_tokens."""
    from server import services
    from server.actors import Actor
    from server.models import Token

    big = Token.objects.filter(client=first).count()
    log(f"revoke-all of {first.name}: {big:,} tokens")
    seconds, count, queries = timed_with_queries(
        lambda: services.revoke_tokens(
            Token.objects.filter(client=first), actor=Actor.system("bench.scale"), reason="scale test"
        )
    )
    return Row(
        "revoke every token of one client (services.revoke_tokens)",
        [seconds],
        None,
        note=f"{count:,} tokens; {queries}",
    )


class Interrupted(Exception):
    """Stops cleartokens part-way, as a deploy or a timeout would."""


def measure_cleartokens(args) -> Row:
    """cleartokens over every expired token: a first run stopped after --interrupt-after
    batches, then `manage.py cleartokens`, which resumes after the recorded key."""
    from django.core.management import call_command
    from django.utils import timezone

    from server import services
    from server.models import Token

    now = timezone.now()
    expired = Token.objects.filter(expires_at__lte=now).exclude(refresh_expires_at__gt=now)
    expected = expired.count()
    # Part-way means part-way: a walk of fewer batches than --interrupt-after (each is a key range
    # of the default batch size) is stopped half-way, so that the resume is measured too.
    batch = inspect.signature(services.clear_expired_tokens).parameters["batch_size"].default
    walk = math.ceil(Token.objects.count() / batch)
    interrupt_after = max(1, min(args.interrupt_after, walk // 2))
    log(f"cleartokens: {expected:,} expired tokens; stopped after {interrupt_after} batches, then resumed")
    batches = 0

    def stop_part_way(deleted_so_far: int, last_key: int) -> None:
        nonlocal batches
        batches += 1
        if batches >= interrupt_after:
            raise Interrupted(last_key)

    started = time.perf_counter()
    with suppress(Interrupted):
        services.clear_expired_tokens(progress=stop_part_way)
    first_run = time.perf_counter() - started
    out = io.StringIO()
    seconds, _, queries = timed_with_queries(lambda: call_command("cleartokens", stdout=out))
    lines = out.getvalue().splitlines()
    resumed = next((line.strip() for line in lines if "resuming after" in line), "did not resume")
    progress = sum(1 for line in lines if "so far" in line)
    deleted = expected - expired.count()
    log(f"  {resumed}; {progress} progress lines; {first_run + seconds:.0f}s")
    return Row(
        "cleartokens: stopped part-way, then resumed (both runs)",
        [first_run + seconds],
        300.0 * max(deleted, 1) / 10_000_000,
        note=(
            f"{deleted:,} tokens deleted; first run {first_run:.0f}s; second run {seconds:.0f}s, "
            f"{resumed}, {progress:,} progress lines; {queries}"
        ),
    )


def measure_prune(args) -> list[Row]:
    """prune_audit_log of the oldest month (its partition dropped) and then of half the next
    month (its rows deleted), each after sealing what it prunes (the every-minute seal job's
    work, done long before in production; timed on its own line)."""
    from django.core.management import call_command
    from django.utils import timezone

    from oauth_console.audit import checkpoints, partitions
    from oauth_console.audit.models import AuditEvent

    rows = []
    months = [
        month for month, name in partitions.months().items() if partitions.id_bounds(name)[0] is not None
    ]
    if len(months) < 3:
        return rows
    second = months[1]
    cuts = [
        (
            "prune_audit_log: the oldest month (dropped whole)",
            datetime(second.year, second.month, 1, tzinfo=UTC),
        ),
        (
            "prune_audit_log: half the next month (rows deleted)",
            datetime(second.year, second.month, 1, tzinfo=UTC) + timedelta(days=15),
        ),
    ]
    for what, cutoff in cuts:
        hours = math.floor((timezone.now() - cutoff) / timedelta(hours=1))
        cutoff = timezone.now() - timedelta(hours=hours)
        limit = (
            AuditEvent.objects.filter(occurred_at__gte=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        log(f"sealing up to event #{limit - 1} (the seal job's work)")
        sealing, sealed = timed(lambda limit=limit: checkpoints.seal(through_event_id=limit - 1, delay=0))
        rows.append(
            Row("seal_audit_log's work before that prune", [sealing], note=f"{sealed:,} events sealed")
        )
        log(f"prune_audit_log --older-than {hours}h")
        out, err = io.StringIO(), io.StringIO()
        seconds, _ = timed(
            lambda hours=hours, out=out, err=err: call_command(
                "prune_audit_log", older_than=f"{hours}h", stdout=out, stderr=err
            )
        )
        summary = out.getvalue().strip().replace("|", "/")
        rows.append(Row(what, [seconds], 1.0 if "dropped whole" in what else None, note=summary))
    return rows
