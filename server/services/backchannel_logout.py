"""Back-channel logout deliveries (OpenID Connect Back-Channel Logout 1.0 §2.5-§2.8), run by the
task worker, never by the request that logged out.

A delivery is a django-tasks task on the logout queue (`OAUTH2_LOGOUT_QUEUE`, "logout"), enqueued
by `services.end_browser_session` inside the logout's transaction: with the database backend the
task row commits with the logout, or not at all. The worker (`manage.py db_worker`, started by
`make run`) signs a fresh logout token (a retry gets a new `jti` and `exp`), POSTs it as
`logout_token=...` through the SSRF guard (server/outbound.py: https, public addresses, no
redirects, time and size limits) and counts any 2xx as done. Anything else is retried after
`OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY` seconds, doubled each time, until
`OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS`; then it is given up and audited (`backchannel_logout_failed`).

Without TASKS configured (a bare project), django-tasks runs tasks at once in the calling
process (its immediate backend): the delivery then runs after the logout commits, once, in the
request, without retries (that backend cannot defer); check `server.W006` says so.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone
from django_tasks import DEFAULT_TASK_QUEUE_NAME, task, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from server import outbound, signals
from server.actors import Actor
from server.claims import subject_for
from server.conf import server_settings
from server.models import Client
from server.oauth2.logout import create_logout_token
from server.services._after_commit import send_after_commit
from server.services.signing_keys import private_key_of, signing_key_for

logger = logging.getLogger("server.logout")

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


def enqueue_delivery(*, client: Client, user, sid: str | None, issuer: str, attempt: int = 1) -> None:
    """Queue the logout token for `client` (call it inside the logout's transaction). With the
    immediate backend the delivery waits for the commit (it must not hold the transaction open
    over an HTTP request, nor notify a client of a logout that was rolled back)."""
    arguments = {
        "client_pk": client.pk,
        "sub": subject_for(user, client),
        "sid": sid or "",
        "issuer": issuer,
        "attempt": attempt,
    }
    if _runs_in_the_request():
        transaction.on_commit(lambda: _enqueue(arguments))
        return
    _enqueue(arguments)


def _enqueue(arguments: dict, run_after=None) -> None:
    deliver_logout_token.using(queue_name=_queue_name(), run_after=run_after).enqueue(**arguments)


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


@task(queue_name=DEFAULT_TASK_QUEUE_NAME)
def deliver_logout_token(*, client_pk: int, sub: str, sid: str, issuer: str, attempt: int) -> str:
    """One delivery attempt (a task: its arguments are stored, so they name, never hold, the
    client, and carry no token). Returns what happened, as the task's result."""
    client = Client.objects.filter(pk=client_pk).first()
    if client is None or not client.backchannel_logout_uri or not client.is_active:
        return "skipped: the client is gone, inactive or has no backchannel_logout_uri"
    logout_token = create_logout_token(
        issuer=issuer,
        client_id=client.client_id,
        signing_key=_signing_key,
        alg=client.id_token_signed_response_alg,
        sub=sub,
        sid=sid or None,
    )
    error = _post(client, logout_token)
    if error is None:
        logger.info("back-channel logout delivered to %s (attempt %d)", client.client_id, attempt)
        return "delivered"
    attempts = server_settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS
    if attempt < attempts and not _runs_in_the_request():
        delay = server_settings.OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY * 2 ** (attempt - 1)
        retry = {"client_pk": client_pk, "sub": sub, "sid": sid, "issuer": issuer, "attempt": attempt + 1}
        _enqueue(retry, run_after=timezone.now() + timedelta(seconds=delay))
        logger.warning(
            "back-channel logout to %s failed (attempt %d of %d, next in %d s): %s",
            client.client_id,
            attempt,
            attempts,
            delay,
            error,
        )
        return f"retrying: {error}"
    if _runs_in_the_request():
        error += " (not retried: the task backend runs tasks at once, without a worker)"
    give_up_backchannel_logout(client=client, sid=sid, sub=sub, attempts=attempt, error=error)
    return f"given up: {error}"


def give_up_backchannel_logout(*, client: Client, sid: str, sub: str, attempts: int, error: str) -> None:
    """A client's back-channel logout failed `attempts` times: record that it was given up
    (`backchannel_logout_failed`); the client may still hold the session."""
    logger.error(
        "back-channel logout to %s given up after %d attempt(s): %s", client.client_id, attempts, error
    )
    with transaction.atomic():
        send_after_commit(
            signals.backchannel_logout_failed,
            client=client,
            sid=sid,
            sub=sub,
            attempts=attempts,
            error=error[:500],
            actor=Actor.system("backchannel-logout"),
            at=timezone.now(),
        )
