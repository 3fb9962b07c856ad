"""The metrics' listeners: each event of the catalogue (`server.events`) that a counter counts,
and the audit log's `event_recorded`.

A receiver only increments memory (no query, no cache call), and never raises: some events are
sent with `send` inside the issuing transaction, where an exception would undo the token.
"""

from __future__ import annotations

import functools
import logging

from django.dispatch import receiver

from oauth_console.audit.signals import event_recorded
from oauth_console.metrics import registry
from server import events
from server.oauth2 import provisional

logger = logging.getLogger(__name__)

REVOCATION_KINDS = frozenset({"single", "family", "bulk", "consent", "user", "deleted_client"})
# Criteria of `tokens_revoked` that name one family (or the families of one replayed code).
FAMILY_CRITERIA = ("family_id", "authorization_code_id")


def guarded(function):
    """Log, never raise: a metric must not break the request it counts."""

    @functools.wraps(function)
    def safe(*args, **kwargs) -> None:
        try:
            function(*args, **kwargs)
        except Exception:
            logger.exception("metrics receiver %s failed", function.__name__)

    return safe


def _count_revocation(kind: str, count: object) -> None:
    kind = kind if kind in REVOCATION_KINDS else registry.OTHER
    registry.REVOCATIONS.labels(kind).inc()
    if isinstance(count, int) and count > 0:
        registry.TOKENS_REVOKED.labels(kind).inc(count)


@receiver(events.token_issued, dispatch_uid="metrics.token_issued")
@guarded
def on_token_issued(sender, client=None, grant_type=None, **kwargs) -> None:
    client_id = getattr(client, "client_id", None)
    counter = registry.TOKENS_ISSUED.labels(
        registry.bounded(grant_type, registry.GRANT_TYPES), registry.client_label(client_id)
    )
    # A provisional client's token exists only once its statement confirmed the client: counted
    # then, so a request answered again from the database counts one token, not two.
    provisional.announce(client, counter.inc)


@receiver(events.token_request_refused, dispatch_uid="metrics.token_request_refused")
@guarded
def on_token_request_refused(sender, grant_type=None, error=None, **kwargs) -> None:
    registry.TOKEN_REQUEST_ERRORS.labels(
        registry.bounded(grant_type, registry.GRANT_TYPES), registry.bounded(error, registry.ERRORS)
    ).inc()


@receiver(events.client_authentication_failed, dispatch_uid="metrics.client_authentication_failed")
@guarded
def on_client_authentication_failed(sender, request=None, method=None, **kwargs) -> None:
    endpoint = registry.endpoint_of(request) or registry.OTHER
    method = registry.bounded(method, registry.AUTH_METHODS)
    registry.CLIENT_AUTHENTICATION_FAILURES.labels(endpoint, method).inc()


@receiver(events.client_authenticated, dispatch_uid="metrics.client_authenticated")
@guarded
def on_client_authenticated(sender, request=None, **kwargs) -> None:
    # The introspection endpoint has no event of its own: an introspection is a client
    # authenticating there (RFC 7662 answers 200 whether the token is active or not).
    if registry.endpoint_of(request) == "oauth-introspect":
        registry.INTROSPECTIONS.inc()


# Every accepted bearer check counts here: its child is looked up on the first (`labels()`
# validates and locks on each call), not at import, where /metrics would show it at 0 before any.
_accepted: list = []


@receiver(events.token_authenticated, dispatch_uid="metrics.token_authenticated")
@guarded
def on_token_authenticated(sender, **kwargs) -> None:
    if not _accepted:
        _accepted.append(registry.BEARER_CHECKS.labels("accepted"))
    _accepted[0].inc()


@receiver(events.bearer_token_refused, dispatch_uid="metrics.bearer_token_refused")
@guarded
def on_bearer_token_refused(sender, error=None, **kwargs) -> None:
    registry.BEARER_CHECKS.labels(registry.bounded(error, registry.ERRORS)).inc()


@receiver(events.token_revoked, dispatch_uid="metrics.token_revoked")
@guarded
def on_token_revoked(sender, token=None, **kwargs) -> None:
    # RFC 7009: `services.tokens` notes on the token what it wrote (one token, or its family).
    criteria = getattr(token, "revocation_criteria", None) or {}
    kind = "family" if "family_id" in criteria else "single"
    _count_revocation(kind, getattr(token, "revocation_count", 1))


@receiver(events.tokens_revoked, dispatch_uid="metrics.tokens_revoked")
@guarded
def on_tokens_revoked(sender, count=0, criteria=None, **kwargs) -> None:
    criteria = criteria or {}
    kind = "family" if any(key in criteria for key in FAMILY_CRITERIA) else "bulk"
    _count_revocation(kind, count)


@receiver(events.consent_revoked, dispatch_uid="metrics.consent_revoked")
@guarded
def on_consent_revoked(sender, tokens_revoked=0, **kwargs) -> None:
    _count_revocation("consent", tokens_revoked)


@receiver(events.user_access_revoked, dispatch_uid="metrics.user_access_revoked")
@guarded
def on_user_access_revoked(sender, tokens_revoked=0, **kwargs) -> None:
    _count_revocation("user", tokens_revoked)


@receiver(events.client_deleted, dispatch_uid="metrics.client_deleted")
@guarded
def on_client_deleted(sender, tokens_revoked=0, **kwargs) -> None:
    _count_revocation("deleted_client", tokens_revoked)


@receiver(events.request_throttled, dispatch_uid="metrics.request_throttled")
@guarded
def on_request_throttled(sender, limit=None, **kwargs) -> None:
    # The limit is a key of OAUTH2_RATE_LIMITS: the configuration bounds it, not the caller.
    registry.REQUESTS_THROTTLED.labels(limit if isinstance(limit, str) else registry.OTHER).inc()


@receiver(events.backing_service_failed, dispatch_uid="metrics.backing_service_failed")
@guarded
def on_backing_service_failed(sender, service=None, **kwargs) -> None:
    service = service if service in ("database", "cache") else registry.OTHER
    registry.BACKING_SERVICE_ERRORS.labels(service).inc()


@receiver(event_recorded, dispatch_uid="metrics.audit_event_recorded")
@guarded
def on_audit_event_recorded(sender, event_type=None, outcome=None, **kwargs) -> None:
    # Both are the audit app's own choices (EventType, Outcome), never a caller's.
    registry.AUDIT_EVENTS.labels(str(event_type), str(outcome)).inc()
