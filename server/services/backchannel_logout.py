"""Back-channel logout deliveries (OpenID Connect Back-Channel Logout 1.0 §2.5-§2.8), run by the
task worker, never by the request that logged out. At least once, like the webhooks.

A delivery is a row of ours (`BackchannelDelivery`, one per client of the ended session) and a
django-tasks task on the logout queue (`OAUTH2_LOGOUT_QUEUE`, "logout") that names it; both are
written by `services.end_browser_session` inside the logout's transaction (with the database
backend they commit with the logout, or not at all). The worker (`manage.py db_worker`, started
by `make run`):

- **claims** the delivery for a lease (`claimed_until`) with a conditional UPDATE that counts the
  attempt, and commits the claim before the request is sent (no transaction held open over it;
  of two tasks for one delivery, one wins);
- signs a fresh logout token (every attempt a new `jti` and `exp`), POSTs it as
  `logout_token=...` through the SSRF guard (server/outbound.py: https, public addresses, no
  redirects, time and size limits) and counts any 2xx as done;
- retries anything else after `OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY` seconds, doubled each time,
  until `OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS`; then gives it up and audits it
  (`backchannel_logout_failed`).

django-tasks-db does not run a task again whose worker died: the task stays "running". The
delivery's claim lapses instead, and `resume_backchannel_logouts` (`manage.py resume_deliveries`, from cron)
queues every pending delivery that is due and unclaimed. An attempt cut short counts against the
budget: a delivery whose last attempt was cut short is given up, not sent a sixth time.

Without TASKS configured (a bare project), django-tasks runs tasks at once in the calling
process (its immediate backend): the delivery then runs after the logout commits, once, in the
request, without retries (that backend cannot defer); check `server.W006` says so.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import DEFAULT_TASK_QUEUE_NAME, task, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from server import outbound, signals
from server.actors import Actor
from server.claims import subject_for
from server.conf import server_settings
from server.models import BackchannelDelivery, Client, ClientSession
from server.oauth2.logout import create_logout_token
from server.services._after_commit import send_after_commit
from server.services.signing_keys import private_key_of, signing_key_for

logger = logging.getLogger("server.logout")
State = BackchannelDelivery.State

# What is read of the RP's answer: its status matters, its body does not (§2.8).
MAX_ANSWER_BYTES = 4096


def _signing_key(alg: str):
    key = signing_key_for(alg)
    return key.kid, private_key_of(key)


def _runs_in_the_request() -> bool:
    """True when the task backend runs tasks at once in the caller (django-tasks' immediate
    backend, the default without TASKS): no worker, no retries."""
    return isinstance(task_backends[deliver_logout_token.backend], ImmediateBackend)


def _queue_name() -> str:
    backend = task_backends[deliver_logout_token.backend]
    queue = server_settings.OAUTH2_LOGOUT_QUEUE
    # The immediate backend knows only the default queue unless TASKS says otherwise; any queue
    # runs the same there (at once), so the default one is used rather than refused.
    if isinstance(backend, ImmediateBackend) and backend.queues and queue not in backend.queues:
        return DEFAULT_TASK_QUEUE_NAME
    return queue


def _lease() -> timedelta:
    """How long a claim lasts: longer than any attempt can take (connect, read, sign)."""
    return timedelta(seconds=2 * server_settings.OAUTH2_OUTBOUND_TIMEOUT + 30)


def _retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (30, 60, 120, 240 s by default)."""
    return timedelta(seconds=server_settings.OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY * 2 ** (attempts - 1))


def enqueue_deliveries(sessions: list[ClientSession], *, issuer: str) -> list[BackchannelDelivery]:
    """Write a delivery for each client session and queue its task (call it inside the logout's
    transaction). With the immediate backend the tasks wait for the commit (a delivery must not
    hold the transaction open over an HTTP request, nor report a logout that was rolled back)."""
    rows = BackchannelDelivery.objects.bulk_create(
        BackchannelDelivery(session=session, issuer=issuer) for session in sessions
    )
    pks = [row.pk for row in rows]
    if _runs_in_the_request():
        transaction.on_commit(lambda: [_enqueue(pk) for pk in pks])
    else:
        for pk in pks:
            _enqueue(pk)
    return rows


def _enqueue(delivery_pk: int, run_after=None) -> None:
    deliver_logout_token.using(queue_name=_queue_name(), run_after=run_after).enqueue(delivery_pk)


def _claim(delivery_pk: int) -> BackchannelDelivery | None:
    """The delivery, claimed for one attempt (committed); None when it is done, waits for its
    retry, or another worker holds it."""
    now = timezone.now()
    row = (
        BackchannelDelivery.objects.select_related("session__client", "session__user")
        .filter(pk=delivery_pk, state=State.PENDING)
        .first()
    )
    if row is None:
        return None
    if (row.claimed_until and row.claimed_until > now) or (row.next_attempt_at and row.next_attempt_at > now):
        return None
    if row.attempts >= server_settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS:
        # Its last attempt was cut short (the worker died): the budget is spent.
        give_up_backchannel_logout(row, error=row.last_error or "The worker stopped during the last attempt.")
        return None
    claimed = (
        BackchannelDelivery.objects.filter(pk=row.pk, state=State.PENDING, attempts=row.attempts)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + _lease(), attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    row.attempts += 1
    return row


def _post(client: Client, logout_token: str) -> str | None:
    """POST the logout token; None when the RP accepted it, else why not."""
    try:
        answer = outbound.fetch(
            client.backchannel_logout_uri,
            method="POST",
            body=urlencode({"logout_token": logout_token}).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            max_bytes=MAX_ANSWER_BYTES,
            timeout=server_settings.OAUTH2_OUTBOUND_TIMEOUT,
        )
    except outbound.OutboundError as error:
        return str(error)
    if 200 <= answer.status < 300:
        return None
    return f"The client answered {answer.status}."


def _send(row: BackchannelDelivery) -> str | None:
    session = row.session
    client = session.client
    logout_token = create_logout_token(
        issuer=row.issuer,
        client_id=client.client_id,
        signing_key=_signing_key,
        alg=client.id_token_signed_response_alg,
        sub=subject_for(session.user, client),
        sid=session.sid or None,
    )
    return _post(client, logout_token)


@task(queue_name=DEFAULT_TASK_QUEUE_NAME)
def deliver_logout_token(delivery_pk: int | None = None, **queued_before_delivery_rows) -> str:
    """One delivery attempt (a task: it names the delivery row, and carries no token). Returns
    what happened, as the task's result. A task queued by a release before delivery rows (its
    keyword arguments name the client, `sid` and attempt) is given a row first."""
    if delivery_pk is None:
        delivery_pk = _row_for_an_older_task(**queued_before_delivery_rows)
        if delivery_pk is None:
            return "skipped: the client session of this older task is gone"
    row = _claim(delivery_pk)
    if row is None:
        return "skipped: delivered, given up, not due yet, or claimed by another worker"
    client = row.session.client
    mine = BackchannelDelivery.objects.filter(pk=row.pk, state=State.PENDING, attempts=row.attempts)
    if not client.backchannel_logout_uri or not client.is_active:
        mine.update(state=State.SKIPPED, claimed_until=None, finished_at=timezone.now())
        return "skipped: the client is inactive or has no backchannel_logout_uri"
    try:
        error = _send(row)
    except Exception as unexpected:  # a key that does not decrypt, a bug: this attempt failed
        logger.exception("back-channel logout delivery %s failed unexpectedly", row.pk)
        error = f"Internal error ({type(unexpected).__name__})."
    now = timezone.now()
    if error is None:
        mine.update(state=State.DELIVERED, claimed_until=None, finished_at=now, last_error="")
        logger.info("back-channel logout delivered to %s (attempt %d)", client.client_id, row.attempts)
        return "delivered"
    attempts = server_settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS
    if row.attempts < attempts and not _runs_in_the_request():
        retry_at = now + _retry_delay(row.attempts)
        with transaction.atomic():
            if mine.update(claimed_until=None, next_attempt_at=retry_at, last_error=error[:300]):
                _enqueue(row.pk, run_after=retry_at)
        logger.warning(
            "back-channel logout to %s failed (attempt %d of %d, next at %s): %s",
            client.client_id,
            row.attempts,
            attempts,
            retry_at.isoformat(),
            error,
        )
        return f"retrying: {error}"
    if _runs_in_the_request():
        error += " (not retried: the task backend runs tasks at once, without a worker)"
    give_up_backchannel_logout(row, error=error)
    return f"given up: {error}"


def _row_for_an_older_task(*, client_pk=None, sid="", issuer="", attempt=1, **_) -> int | None:
    """The delivery row of a task queued before rows existed (client_pk, sub, sid, issuer,
    attempt): the client session it was for, with the attempts it had made."""
    session = ClientSession.objects.filter(client_id=client_pk, sid=sid or "").first()
    if session is None:
        return None
    row, _created = BackchannelDelivery.objects.get_or_create(
        session=session, defaults={"issuer": issuer, "attempts": max(0, int(attempt) - 1)}
    )
    return row.pk


def give_up_backchannel_logout(row: BackchannelDelivery, *, error: str) -> None:
    """The delivery failed `row.attempts` times: record that it was given up
    (`backchannel_logout_failed`, with the state change); the client may still hold the session."""
    session = row.session
    logger.error(
        "back-channel logout to %s given up after %d attempt(s): %s",
        session.client.client_id,
        row.attempts,
        error,
    )
    with transaction.atomic():
        changed = BackchannelDelivery.objects.filter(
            pk=row.pk, state=State.PENDING, attempts=row.attempts
        ).update(state=State.FAILED, claimed_until=None, finished_at=timezone.now(), last_error=error[:300])
        if changed:
            send_after_commit(
                signals.backchannel_logout_failed,
                client=session.client,
                sid=session.sid,
                sub=subject_for(session.user, session.client),
                attempts=row.attempts,
                error=error[:500],
                actor=Actor.system("backchannel-logout"),
                at=timezone.now(),
            )


def resume_backchannel_logouts() -> int:
    """Queue a task for every pending delivery that is due and not held by a live claim (a worker
    died mid-attempt, a task was lost); how many were queued. One that is already queued is
    claimed by one of its tasks; the other finds it claimed or done and does nothing."""
    now = timezone.now()
    due = (
        BackchannelDelivery.objects.filter(state=State.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    pks = list(due)
    with transaction.atomic():
        for pk in pks:
            _enqueue(pk)
    return len(pks)
