"""Reads of the audit log for other console pages (the audit admin has its own queries).

Other apps call these and never name the audit table or its event types themselves: what an
event type means (which events are a successful client authentication, where a revocation
keeps its count) is this app's knowledge.
"""

from datetime import date, datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.urls import reverse
from django.utils.http import urlencode

from oauth_console.audit.models import AuditEvent, EventType, Outcome
from server.selectors import day_bounds, start_of_day

# What was done to a client, by whom: its History page. Token traffic (issued, used,
# authenticated) is left to the audit log itself, where it can be filtered.
CLIENT_HISTORY_EVENTS = (
    EventType.CLIENT_CREATED,
    EventType.CLIENT_CHANGED,
    EventType.CLIENT_APPROVED,
    EventType.CLIENT_REJECTED,
    EventType.CLIENT_DISABLED,
    EventType.CLIENT_ENABLED,
    EventType.CLIENT_DELETED,
    EventType.CLIENT_SECRET_ROTATED,
    EventType.CLIENT_SECRET_EXPIRED,
    EventType.REGISTRATION_ACCESS_TOKEN_ISSUED,
    EventType.TOKENS_REVOKED,
    EventType.AUTHORIZATION_CODES_EXPIRED,
)


def client_history(client_id: str, *, limit: int = 200) -> QuerySet[AuditEvent]:
    """The newest `limit` lifecycle and credential events of one client, newest first.

    Filters on the (client_id, -occurred_at, -id) index; a client's lifecycle events are few.
    """
    return AuditEvent.objects.filter(client_id=client_id, event_type__in=CLIENT_HISTORY_EVENTS).order_by(
        "-occurred_at", "-id"
    )[:limit]


# Who may read the log (the operator API's session callers are checked against it).
READ_PERMISSION = f"{AuditEvent._meta.app_label}.view_auditevent"


def log_url_for_client(user, client_id: str, *, current_app: str = "admin") -> str | None:
    """The audit log's admin list filtered to one client, or None if `user` may not read it."""
    if not user.has_perm(READ_PERMISSION):
        return None
    changelist = f"admin:{AuditEvent._meta.app_label}_{AuditEvent._meta.model_name}_changelist"
    return reverse(changelist, current_app=current_app) + "?" + urlencode({"client_id": client_id})


# Every change to the OpenID Provider's signing keys (receivers/keys.py): the key page's history.
SIGNING_KEY_EVENTS = (
    EventType.SIGNING_KEY_CREATED,
    EventType.SIGNING_KEY_ACTIVATED,
    EventType.SIGNING_KEY_RETIRED,
    EventType.SIGNING_KEY_REVOKED,
)


def last_verification() -> AuditEvent | None:
    """The newest `verify_audit_log` run (its audit_log_verified event), or None if it never ran:
    the audit log's page says when the log was last proved unaltered (the (event_type,
    -occurred_at) index)."""
    runs = AuditEvent.objects.filter(event_type=EventType.AUDIT_LOG_VERIFIED)
    return runs.order_by("-occurred_at", "-id").first()


def signing_key_history(*, limit: int = 10) -> QuerySet[AuditEvent]:
    """The newest `limit` signing-key events, newest first (the (event_type, -occurred_at) index)."""
    return AuditEvent.objects.filter(event_type__in=SIGNING_KEY_EVENTS).order_by("-occurred_at", "-id")[
        :limit
    ]


def log_url_for_signing_keys(user, *, current_app: str = "admin") -> str | None:
    """The audit log's admin list filtered to signing-key events, or None if `user` may not read it."""
    if not user.has_perm(f"{AuditEvent._meta.app_label}.view_auditevent"):
        return None
    changelist = f"admin:{AuditEvent._meta.app_label}_{AuditEvent._meta.model_name}_changelist"
    types = ",".join(str(event_type) for event_type in SIGNING_KEY_EVENTS)
    return reverse(changelist, current_app=current_app) + "?" + urlencode({"event_type__in": types})


# --- counts per day and type (the operator dashboard) ------------------------------------------

# The token endpoint folds the client's authentication into the token it issues: one
# `token_issued` event whose detail keeps `client_auth_method`, and no `client_authenticated`
# event (receivers.protocol.on_token_issued). Both are a success.
ABSORBED_AUTH_KEY = "client_auth_method"
SUCCESSFUL_AUTHENTICATION = Q(event_type=EventType.CLIENT_AUTHENTICATED) | Q(
    event_type=EventType.TOKEN_ISSUED, detail__has_key=ABSORBED_AUTH_KEY
)
# The events a revocation leaves (receivers.services and receivers.protocol), and where each
# keeps how many tokens it revoked: one event per revocation, however many tokens it covered.
# token_revoked: RFC 7009 (detail.count); tokens_revoked: bulk or family (detail.count);
# consent_revoked: a user withdrew an app's access (detail.tokens_revoked).
REVOCATION_EVENTS = (EventType.TOKEN_REVOKED, EventType.TOKENS_REVOKED, EventType.CONSENT_REVOKED)


def failed_client_authentications_since(since: datetime) -> int:
    """Failed client authentications recorded since `since`."""
    return AuditEvent.objects.filter(
        event_type=EventType.CLIENT_AUTHENTICATION_FAILED, outcome=Outcome.FAILURE, occurred_at__gte=since
    ).count()


def failed_client_authentications_today(now: datetime | None = None) -> int:
    """Failed client authentications since midnight."""
    return failed_client_authentications_since(start_of_day(now))


def client_authentications_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, dict[str, int]]:
    """{date: {"success": n, "failure": n}} for the days `first` to `last` (days without events
    left out; only events in [`since`, `until`) where given), in one query.

    A success is a `client_authenticated` event or a `token_issued` event that absorbed one, so
    successful authentications are counted wherever they are recorded. Counts what the log
    recorded: a client authenticating again and again at the introspection or revocation
    endpoint is recorded once per AUDIT_CLIENT_AUTH_INTERVAL, so counted once.
    """
    since, until = day_bounds(first, last, since=since, until=until)
    failure = EventType.CLIENT_AUTHENTICATION_FAILED
    # One pass over the (event_type, occurred_at) index for the three event types; only the
    # `token_issued` rows need their detail read, to tell a token endpoint's from the others.
    rows = (
        AuditEvent.objects.filter(
            event_type__in=[EventType.CLIENT_AUTHENTICATED, EventType.TOKEN_ISSUED, failure],
            occurred_at__gte=since,
            occurred_at__lt=until,
        )
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(
            success=Count("pk", filter=SUCCESSFUL_AUTHENTICATION),
            failure=Count("pk", filter=Q(event_type=failure)),
        )
        .order_by()
        .values_list("day", "success", "failure")
    )
    per_day: dict[date, dict[str, int]] = {}
    for day, success, failed in rows:
        if success or failed:
            per_day[day] = {"success": success, "failure": failed}
    return per_day


def revocations_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, int]:
    """{date: tokens revoked that day} for the days `first` to `last`, from the revocation
    events (days without any left out; only events in [`since`, `until`) where given), in one
    query.

    A range scan of the (event_type, occurred_at) index over a few event types, where the token
    table would have to be read whole (`revoked_at` is deliberately in no index). Counts what
    the log recorded: a revocation whose event failed to be written is not in it.
    """
    since, until = day_bounds(first, last, since=since, until=until)
    tokens_in_event = Case(
        When(event_type=EventType.CONSENT_REVOKED, then=Cast(KT("detail__tokens_revoked"), IntegerField())),
        default=Cast(KT("detail__count"), IntegerField()),
    )
    rows = (
        AuditEvent.objects.filter(
            event_type__in=REVOCATION_EVENTS, occurred_at__gte=since, occurred_at__lt=until
        )
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Coalesce(Sum(tokens_in_event), Value(0)))
        .order_by()
        .values_list("day", "n")
    )
    return {day: n for day, n in rows if n}


# --- the operator API's audit reads -------------------------------------------------------------


def events_matching(
    *,
    event_types=(),
    client_id: str = "",
    actor: str = "",
    actor_kind: str = "",
    outcome: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    oldest_first: bool = False,
) -> QuerySet[AuditEvent]:
    """Events filtered by type (any of `event_types`), client, actor label, actor kind, outcome
    and time ([since, until)), newest first on the (occurred_at, id) index (oldest first for an
    export). Type and client filters use their own indexes; the actor label has none, so narrow
    it by time or type on a large log."""
    found = AuditEvent.objects.all()
    if event_types:
        found = found.filter(event_type__in=list(event_types))
    if client_id:
        found = found.filter(client_id=client_id)
    if actor:
        found = found.filter(actor_label=actor)
    if actor_kind:
        found = found.filter(actor_kind=actor_kind)
    if outcome:
        found = found.filter(outcome=outcome)
    if since is not None:
        found = found.filter(occurred_at__gte=since)
    if until is not None:
        found = found.filter(occurred_at__lt=until)
    return found.order_by("occurred_at", "id") if oldest_first else found.order_by("-occurred_at", "-id")
