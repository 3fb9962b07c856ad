"""What keeps the dashboard fast on a big table: the stored day history, revocations from the
audit log, and the estimated active-token count."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth_console.dashboard import active_counts, audit_stats, history, views
from oauth_console.dashboard.models import DayTotal
from server import selectors, services
from server.actors import Actor
from server.models import Token

pytestmark = pytest.mark.django_db

DASHBOARD = "/console/"
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def chart(response, name: str) -> list:
    return response.context["charts"][name]


# --- the day history -------------------------------------------------------------------------------

# One event at half past every hour, for 31 days up to NOON: 24 a day, 12 on NOON's day by noon.
EVERY_HALF_PAST = [NOON - timedelta(minutes=30) - timedelta(hours=n) for n in range(24 * 31)]


class EventLog:
    """A stand-in for a chart's range query over a list of moments: records each call."""

    def __init__(self, moments=EVERY_HALF_PAST):
        self.moments = moments
        self.calls: list[tuple] = []

    def __call__(self, first: date, last: date, *, since=None, until=None) -> dict[date, int]:
        self.calls.append((first, last, since, until))
        start, end = selectors.day_bounds(first, last, since=since, until=until)
        counts: dict[date, int] = {}
        for moment in self.moments:
            if start <= moment < end:
                day = timezone.localdate(moment)
                counts[day] = counts.get(day, 0) + 1
        return counts


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return NOON.replace(hour=hour, minute=minute) + timedelta(days=days)


def truth(days: list[date], now: datetime) -> dict[date, int]:
    """What counting every day on every view says (nothing stored)."""
    with override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=0):
        return history.daily_series(
            "truth", days, now, EventLog([m for m in EVERY_HALF_PAST if m <= now]), int
        )


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_counts_thirty_days_once_then_only_today_since_its_last_full_hour():
    query, days = EventLog(), selectors.days_back(30, NOON)

    first = history.daily_series("test", days, NOON, query, int)
    assert query.calls == [(days[0], days[-1], None, None)]
    assert first == {**dict.fromkeys(days[:-1], 24), days[-1]: 12}

    # The next view stores today up to 11:00 (noon less SETTLE, to the hour), counts after it.
    assert history.daily_series("test", days, at(12, 1), query, int) == first
    assert query.calls[1:] == [(days[-1], days[-1], at(0), at(11)), (days[-1], days[-1], at(11), None)]

    # The views after that count only since 11:00 until 12:05, then since 12:00.
    assert history.daily_series("test", days, at(12, 4), query, int) == first
    assert query.calls[3:] == [(days[-1], days[-1], at(11), None)]
    history.daily_series("test", days, at(12, 5), query, int)
    assert query.calls[4:] == [(days[-1], days[-1], at(11), at(12)), (days[-1], days[-1], at(12), None)]


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_says_what_one_count_of_every_day_says_at_any_time():
    query, days = EventLog(), selectors.days_back(30, NOON)
    history.daily_series("test", days, at(0, 1), query, int)
    for minutes in range(0, 24 * 60, 37):
        now = at(0, 1) + timedelta(minutes=minutes)
        if now > NOON:
            break
        log = EventLog([m for m in EVERY_HALF_PAST if m <= now])
        assert history.daily_series("test", days, now, log, int) == truth(days, now), now


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_on_a_new_day_counts_yesterday_and_today_in_one_query():
    query = EventLog()
    history.daily_series("test", selectors.days_back(30, NOON), NOON, query, int)
    tomorrow = NOON + timedelta(days=1)
    days = selectors.days_back(30, tomorrow)

    history.daily_series("test", days, tomorrow, query, int)

    assert query.calls[-1] == (days[-2], days[-1], None, None)


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_leaves_yesterday_open_for_a_few_minutes_after_midnight():
    # A token stamped 23:59:59 may commit (or an audit event be flushed) just after midnight.
    query = EventLog()
    just_after = at(0, 2, days=1)
    days = selectors.days_back(30, just_after)
    history.daily_series("test", days, just_after, query, int)

    history.daily_series("test", days, just_after + timedelta(minutes=1), query, int)
    assert query.calls[-1] == (days[-2], days[-1], None, None)  # yesterday read again, not stored yet

    later = just_after + history.SETTLE
    history.daily_series("test", days, later, query, int)
    history.daily_series("test", days, later, query, int)
    assert query.calls[-1] == (days[-1], days[-1], at(0, days=1), None)


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_fills_days_the_query_leaves_out_and_recounts_a_missing_day():
    days = selectors.days_back(30, NOON)
    query = EventLog()
    assert history.daily_series("sparse", days, NOON, EventLog([]), int) == dict.fromkeys(days, 0)

    history.daily_series("test", days, NOON, query, int)
    DayTotal.objects.filter(series="test", day=days[3]).delete()
    history.daily_series("test", days, NOON, query, int)
    assert query.calls[-1] == (days[3], days[-1], None, None)  # one range from the missing day to today


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=0)
def test_history_without_cache_counts_every_day_every_time():
    query, days = EventLog(), selectors.days_back(30, NOON)
    history.daily_series("test", days, NOON, query, int)
    history.daily_series("test", days, NOON + timedelta(hours=2), query, int)
    assert query.calls == [(days[0], days[-1], None, None)] * 2
    assert not DayTotal.objects.exists()


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_is_stored_in_the_database_and_survives_a_cache_flush():
    query, days = EventLog(), selectors.days_back(30, NOON)
    history.daily_series("test", days, NOON, query, int)

    cache.clear()
    history.daily_series("test", days, NOON, query, int)

    assert query.calls[1:] == [(days[-1], days[-1], at(0), at(11)), (days[-1], days[-1], at(11), None)]
    stored = DayTotal.objects.filter(series="test", time_zone=timezone.get_current_timezone_name())
    assert sorted(stored.values_list("day", flat=True)) == days  # today: up to 11:00
    assert stored.get(day=days[-1]).counted_until == at(11)


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_shows_a_stored_day_as_stored_even_when_counted_again():
    # A day inside the range recounted for a missing older day keeps what was stored (tokens
    # deleted since by cleartokens do not rewrite the history).
    days = selectors.days_back(30, NOON)
    history.daily_series("test", days, NOON, EventLog(), int)
    DayTotal.objects.filter(series="test", day=days[5]).update(value=7)
    DayTotal.objects.filter(series="test", day=days[3]).delete()

    values = history.daily_series("test", days, NOON, EventLog([]), int)

    assert values[days[5]] == 7 and values[days[3]] == 0 and values[days[4]] == 24
    assert DayTotal.objects.get(series="test", day=days[3]).value == 0


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_history_adds_up_mappings_through_the_table():
    days = selectors.days_back(3, NOON)

    def per_grant(first, last, *, since=None, until=None):
        counted = EventLog()(first, last, since=since, until=until)
        return {day: {"authorization_code": n, "refresh_token": 1} for day, n in counted.items()}

    history.daily_series("mapping", days, NOON, per_grant, dict)
    history.daily_series("mapping", days, at(12, 3), per_grant, dict)  # stores today to 11:00
    again = history.daily_series("mapping", days, at(12, 4), per_grant, dict)

    assert again[days[0]] == {"authorization_code": 24, "refresh_token": 1}
    assert again[days[-1]] == {"authorization_code": 12, "refresh_token": 2}  # stored part + the rest


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60, TIME_ZONE="America/New_York")
def test_history_is_stored_per_time_zone():
    query, days = EventLog(), selectors.days_back(30, NOON)
    history.daily_series("test", days, NOON, query, int)
    with timezone.override("Europe/Paris"):
        paris_days = selectors.days_back(30, NOON)
        history.daily_series("test", paris_days, NOON, query, int)
    assert query.calls == [(days[0], days[-1], None, None), (paris_days[0], paris_days[-1], None, None)]


# --- revocations from the audit log ---------------------------------------------------------------


def revocation_event(event_type: str, detail: dict, ago=timedelta(0)):
    from oauth_console.audit.models import AuditEvent

    return AuditEvent.objects.create(
        event_type=event_type, occurred_at=timezone.now() - ago, detail=detail, entry_hash="0" * 64
    )


def test_revocations_are_counted_from_the_audit_log(
    ops, make_client, make_token, end_user, django_capture_on_commit_callbacks
):
    client, _ = make_client()
    for _ in range(3):
        make_token(client, end_user)
    other, _ = make_client("Other")
    make_token(other)
    operator = Actor.system("test")
    with django_capture_on_commit_callbacks(execute=True):
        # One bulk event with count 3, one single revocation of an already revoked token
        # (count 0), one consent revocation (its own key) covering the other client's token.
        services.revoke_tokens(
            Token.objects.filter(client=client), actor=operator, reason="bulk", criteria={"client_id": "x"}
        )
        services.revoke_single_token(
            Token.objects.filter(client=client).first(), actor=operator, reason="again"
        )
        make_token(other, end_user)
        services.revoke_consent(user=end_user, client=other, actor=operator)
    revocation_event("tokens_revoked", {"count": 7}, ago=timedelta(days=2))
    make_token(other, revoked=True)  # stamped directly, no event: not what the chart counts

    with CaptureQueriesContext(connection) as queries:
        revocations = chart(ops.get(DASHBOARD), "revocations")

    assert revocations[-1] == 4 and revocations[-3] == 7 and sum(revocations) == 11
    assert not any('"revoked_at" >=' in query["sql"] for query in queries.captured_queries)


def test_revocations_fall_back_to_the_token_table_without_an_audit_log(
    ops, make_client, make_token, monkeypatch
):
    monkeypatch.setattr(audit_stats, "_audit_selectors", lambda: None)
    client, _ = make_client()
    make_token(client, revoked=True)
    make_token(client, revoked=True)
    make_token(client)

    revocations = chart(ops.get(DASHBOARD), "revocations")

    assert revocations[-1] == 2 and sum(revocations) == 2


def test_revocation_events_without_a_count_add_nothing():
    revocation_event("token_revoked", {})
    revocation_event("token_revoked", {"count": 1})
    today = timezone.localdate()
    assert audit_stats.revocations_per_day(today, today) == {today: 1}


# --- active tokens: exact when few, estimated when many -------------------------------------------


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60, CONSOLE_EXACT_COUNT_LIMIT=10)
def test_many_active_tokens_are_estimated_and_labelled(ops, make_client, make_token, monkeypatch):
    busy, _ = make_client("Busy")
    quiet, _ = make_client("Quiet")
    for _ in range(3):
        make_token(busy)
    make_token(quiet)
    monkeypatch.setattr(selectors, "planner_row_estimate", lambda queryset: 48_000)

    response = ops.get(DASHBOARD)

    assert response.status_code == 200
    assert response.context["active_tokens"] == 48_000
    assert response.context["active_tokens_estimated"] is True
    page = response.content.decode()
    assert 'id="count-active-tokens"' in page and "about 48000" in page and "estimate" in page
    # The top clients are still counted exactly, and say when.
    assert [row["active_tokens"] for row in chart(response, "top_clients")] == [3, 1]
    assert 'id="top-clients-as-of"' in page


@override_settings(CONSOLE_EXACT_COUNT_LIMIT=10)
def test_few_active_tokens_are_counted_exactly_even_when_the_planner_guesses_low(
    ops, make_client, make_token, monkeypatch
):
    client, _ = make_client()
    make_token(client)
    monkeypatch.setattr(selectors, "planner_row_estimate", lambda queryset: 3)
    response = ops.get(DASHBOARD)
    assert response.context["active_tokens"] == 1
    assert response.context["active_tokens_estimated"] is False
    assert "estimate" not in response.content.decode()


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_top_clients_are_recounted_once_due_but_not_in_a_view_that_computed_the_charts(
    make_client, make_token
):
    client, _ = make_client()
    make_token(client)
    now = timezone.now()
    rows, as_of = views.top_clients(now, None)
    assert [row["active_tokens"] for row in rows] == [1] and as_of == now
    make_token(client)

    assert views.top_clients(now + timedelta(seconds=30), None)[0] == rows  # not due yet
    due = now + timedelta(seconds=61)
    assert views.top_clients(due, None, charts_computed=True) == (rows, now)  # shown once more
    rows, as_of = views.top_clients(due, None)
    assert [row["active_tokens"] for row in rows] == [2] and as_of == due


def test_planner_row_estimate_is_postgresql_only(make_client, make_token):
    client, _ = make_client()
    make_token(client)
    estimate = selectors.planner_row_estimate(selectors.active_tokens())
    if connection.vendor == "postgresql":
        assert isinstance(estimate, int) and estimate >= 0
    else:
        assert estimate is None


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_a_cached_view_reads_only_the_live_counts(ops, make_client, make_token, django_assert_num_queries):
    client, _ = make_client()
    make_token(client)
    ops.get(DASHBOARD)
    # session, user, 2 x permissions, clients by status, (on PostgreSQL, the planner's estimate
    # of the active tokens,) active by client, the top clients' names, failed authentications
    # today: no chart query, and issued today comes from the cached chart.
    with django_assert_num_queries(8 + (connection.vendor == "postgresql")):
        assert ops.get(DASHBOARD).status_code == 200


def grouped_active_counts(queries) -> list[str]:
    """The statements that count active tokens per client (the expensive read at scale)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and '"revoked_at" IS NULL' in q["sql"] and "GROUP BY" in q["sql"]
    ]


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60, CONSOLE_EXACT_COUNT_LIMIT=0)
def test_the_top_clients_count_survives_a_cache_flush(ops, make_client, make_token, monkeypatch):
    # At ten million tokens the count is 1.4-3.5 s; a flushed cache (or a restarted worker)
    # must not make the next view pay it while the last count is recent.
    client, _ = make_client("Busy")
    make_token(client)
    monkeypatch.setattr(selectors, "planner_row_estimate", lambda queryset: 300_000)
    first = ops.get(DASHBOARD)
    as_of = first.context["top_clients_as_of"]
    assert [row["active_tokens"] for row in chart(first, "top_clients")] == [1]
    stored = DayTotal.objects.get(series=active_counts.SERIES)
    assert stored.value == {str(client.pk): 1} and stored.counted_until == as_of

    make_token(client)
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        again = ops.get(DASHBOARD)
    assert not grouped_active_counts(queries)
    assert again.context["top_clients_as_of"] == as_of
    assert [row["active_tokens"] for row in chart(again, "top_clients")] == [1]  # the kept count


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_a_kept_count_twice_the_interval_old_is_counted_again_even_by_a_chart_view(make_client, make_token):
    client, _ = make_client()
    make_token(client)
    now = timezone.now()
    active_counts.count(now - timedelta(seconds=90))
    assert active_counts.current(now, may_count=False).as_of == now - timedelta(seconds=90)
    assert active_counts.current(now).as_of == now  # due: counted
    cache.clear()
    active_counts.count(now - timedelta(seconds=121))
    cache.clear()
    assert active_counts.current(now, may_count=False) == active_counts.Snapshot({client.pk: 1}, now)


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=0)
def test_without_an_interval_the_active_counts_are_counted_every_time_and_not_kept(make_client, make_token):
    client, _ = make_client()
    make_token(client)
    now = timezone.now()
    assert active_counts.current(now).counts == {client.pk: 1}
    assert active_counts.stored() is None
    assert not DayTotal.objects.filter(series=active_counts.SERIES).exists()


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60, CONSOLE_EXACT_COUNT_LIMIT=5)
def test_the_client_list_shows_the_kept_count_when_too_many_tokens_are_active(
    ops, make_client, make_token, monkeypatch
):
    client, _ = make_client("Busy")
    make_token(client)
    make_token(client)
    monkeypatch.setattr(selectors, "planner_row_estimate", lambda queryset: 300_000)
    ops.get(DASHBOARD)  # counts and keeps: 2
    make_token(client)

    with CaptureQueriesContext(connection) as queries:
        response = ops.get("/admin/server/client/")
    assert not grouped_active_counts(queries)
    row = next(c for c in response.context["cl"].result_list if c.pk == client.pk)
    assert row.token_stats.active_tokens == 2 and row.token_stats.last_used_at is not None
    assert 'class="counted-earlier" title="counted at' in response.content.decode()

    monkeypatch.setattr(selectors, "planner_row_estimate", lambda queryset: 3)  # few: exact
    response = ops.get("/admin/server/client/")
    row = next(c for c in response.context["cl"].result_list if c.pk == client.pk)
    assert row.token_stats.active_tokens == 3
    assert "counted-earlier" not in response.content.decode()


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_issued_today_is_the_issued_charts_last_day_not_a_count_of_its_own(
    ops, make_client, make_token, django_assert_num_queries
):
    client, _ = make_client()
    make_token(client, grant_type="client_credentials")
    make_token(client, grant_type="authorization_code")
    make_token(client, issued_ago=timedelta(days=2))
    with CaptureQueriesContext(connection) as queries:
        response = ops.get(DASHBOARD)
    assert response.context["issued_today"] == 2
    assert sum(series["data"][-1] for series in chart(response, "issued")) == 2
    # No COUNT over every token since midnight (the chart counts today from its stored hours).
    assert not [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and '"issued_at" >=' in q["sql"] and "GROUP BY" not in q["sql"]
    ]
