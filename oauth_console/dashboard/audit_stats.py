"""Dashboard numbers read from the audit log, if the audit app is installed.

The audit log belongs to `oauth_console.audit`; the dashboard only reads it, and works without
it: client-authentication numbers are then left out, and revocations are counted from the token
table instead (slow at scale, see `server.selectors.revocations_per_day`).
"""

from datetime import date, datetime

from django.apps import apps
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate

from server.selectors import day_bounds, start_of_day

SUCCESS = "client_authenticated"
FAILURE = "client_authentication_failed"
# The token endpoint folds the client's authentication into the token it issues: one
# `token_issued` event whose detail keeps `client_auth_method`, and no `client_authenticated`
# event (oauth_console.audit.receivers.protocol.on_token_issued). Both are a success.
TOKEN_ISSUED = "token_issued"
ABSORBED_AUTH_KEY = "client_auth_method"
SUCCESSFUL_AUTHENTICATION = Q(event_type=SUCCESS) | Q(
    event_type=TOKEN_ISSUED, detail__has_key=ABSORBED_AUTH_KEY
)
# The name the dashboard stores this series' days under (oauth_console.dashboard.history). It
# changes whenever what the series counts changes, so no day counted the old way is shown:
# "auth" counted only `client_authenticated` events (migration 0002 drops its rows).
AUTH_SERIES = "client-auth"
# The events a revocation leaves (oauth_console.audit.receivers.services), and where each keeps
# how many tokens it revoked: one event per revocation, however many tokens it covered.
TOKEN_REVOKED = "token_revoked"  # one token (RFC 7009, the admin's single revoke): detail.count
TOKENS_REVOKED = "tokens_revoked"  # a bulk revocation (client, user, date, family): detail.count
CONSENT_REVOKED = "consent_revoked"  # a user withdrew an app's access: detail.tokens_revoked


def _audit_event_model():
    if not apps.is_installed("oauth_console.audit"):
        return None
    try:
        return apps.get_model("audit", "AuditEvent")
    except LookupError:
        return None


def audit_available() -> bool:
    """True when client-authentication events can be read."""
    return _audit_event_model() is not None


def failed_client_authentications_today(now: datetime | None = None) -> int | None:
    """Failed client authentications since midnight, or None without an audit log."""
    model = _audit_event_model()
    if model is None:
        return None
    return model.objects.filter(
        event_type=FAILURE, outcome="failure", occurred_at__gte=start_of_day(now)
    ).count()


def client_authentications_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, dict[str, int]] | None:
    """{date: {"success": n, "failure": n}} for the days `first` to `last` (days without events
    left out; only events in [`since`, `until`) where given), in one query; None without an
    audit log.

    A success is a `client_authenticated` event or a `token_issued` event that absorbed one.
    Counts what the log recorded: a client authenticating again and again at the introspection
    or revocation endpoint is recorded once per AUDIT_CLIENT_AUTH_INTERVAL, so counted once.
    """
    model = _audit_event_model()
    if model is None:
        return None
    since, until = day_bounds(first, last, since=since, until=until)
    # One pass over the (event_type, occurred_at) index for the three event types; only the
    # `token_issued` rows need their detail read, to tell a token endpoint's from the others.
    rows = (
        model.objects.filter(
            event_type__in=[SUCCESS, TOKEN_ISSUED, FAILURE], occurred_at__gte=since, occurred_at__lt=until
        )
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(
            success=Count("pk", filter=SUCCESSFUL_AUTHENTICATION),
            failure=Count("pk", filter=Q(event_type=FAILURE)),
        )
        .order_by()
        .values_list("day", "success", "failure")
    )
    per_day: dict[date, dict[str, int]] = {}
    for day, success, failure in rows:
        if success or failure:
            per_day[day] = {"success": success, "failure": failure}
    return per_day


def revocations_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, int] | None:
    """{date: tokens revoked that day} for the days `first` to `last`, from the revocation
    events (days without any left out; only events in [`since`, `until`) where given), in one
    query; None without an audit log.

    A range scan of the (event_type, occurred_at) index over a few event types, where the token
    table would have to be read whole (`revoked_at` is deliberately in no index). Counts what
    the log recorded: a revocation whose event failed to be written is not in it.
    """
    model = _audit_event_model()
    if model is None:
        return None
    since, until = day_bounds(first, last, since=since, until=until)
    tokens_in_event = Case(
        When(event_type=CONSENT_REVOKED, then=Cast(KT("detail__tokens_revoked"), IntegerField())),
        default=Cast(KT("detail__count"), IntegerField()),
    )
    rows = (
        model.objects.filter(
            event_type__in=[TOKEN_REVOKED, TOKENS_REVOKED, CONSENT_REVOKED],
            occurred_at__gte=since,
            occurred_at__lt=until,
        )
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Coalesce(Sum(tokens_in_event), Value(0)))
        .order_by()
        .values_list("day", "n")
    )
    return {day: n for day, n in rows if n}
