"""Every non-trivial read the console makes: counts, per-day series and per-client statistics.

Each function is one aggregate query (or a small fixed number of them) over indexed columns, so
the dashboard, the client list and the token pages stay fast with a million tokens. Writes live
in `server.services`; nothing here changes a row.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from server import key_crypto
from server.conf import server_settings
from server.models import Client, ClientSecret, SigningKey, SweepPosition, Token
from server.oauth2 import keys


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight of `now`'s day in the current time zone."""
    local = timezone.localtime(_now(now))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def days_back(days: int, now: datetime | None = None) -> list[date]:
    """The last `days` dates, oldest first, ending today."""
    today = timezone.localdate(_now(now))
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


# --- tokens ------------------------------------------------------------------------------------


def active_tokens(now: datetime | None = None) -> QuerySet[Token]:
    """Tokens whose access token still validates (not revoked, not expired)."""
    return Token.objects.filter(revoked_at__isnull=True, expires_at__gt=_now(now))


def tokens_with_status(status: str, now: datetime | None = None, queryset=None) -> QuerySet[Token]:
    """Narrow `queryset` (all tokens by default) to one `Token.Status`."""
    queryset = Token.objects.all() if queryset is None else queryset
    now = _now(now)
    if status == Token.Status.ACTIVE:
        return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
    if status == Token.Status.EXPIRED:
        return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
    if status == Token.Status.REVOKED:
        return queryset.filter(revoked_at__isnull=False)
    raise ValueError(f"Unknown token status {status!r}.")


@dataclass(frozen=True)
class TokenCounts:
    active: int
    issued_today: int
    # client pk -> its active tokens (clients without any are left out); None when `active` is
    # the planner's estimate and nothing was counted
    active_by_client: dict[int, int] | None
    active_is_estimate: bool = False


def token_counts(
    now: datetime | None = None, *, exact_limit: int | None = None, issued_today: int | None = None
) -> TokenCounts:
    """Active tokens (in total and per client) and tokens issued today, in two queries.

    Each query is narrowed by its own index (expiry, issue time); one query with an OR of both
    conditions makes PostgreSQL read the whole table instead. The per-client counts come with
    the total for free and feed `top_clients_by_active_tokens`.

    With `exact_limit`, when the planner expects more active tokens than that (PostgreSQL),
    `active` is its estimate and `active_by_client` is None: counting them would read one heap
    page per active token (`revoked_at` is in no index), 230 ms for 20k tokens spread over a
    million-row table.

    Pass `issued_today` when it is known already (the dashboard's chart of tokens issued per day
    ends with today) to skip its query: at 300,000 tokens a day it reads every one of today's
    rows, and on a busy table those pages are rarely all-visible, so heap pages too.
    """
    now = _now(now)
    if issued_today is None:
        issued_today = Token.objects.filter(issued_at__gte=start_of_day(now)).count()
    if exact_limit is not None:
        estimate = planner_row_estimate(active_tokens(now))
        if estimate is not None and estimate > exact_limit:
            return TokenCounts(
                active=estimate, issued_today=issued_today, active_by_client=None, active_is_estimate=True
            )
    by_client = active_tokens_by_client(now)
    return TokenCounts(active=sum(by_client.values()), issued_today=issued_today, active_by_client=by_client)


def active_tokens_by_client(now: datetime | None = None) -> dict[int, int]:
    """client pk -> its active tokens, for the clients that have any (one grouped query)."""
    return dict(
        active_tokens(now)
        .values("client_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("client_id", "n")
    )


def day_bounds(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> tuple[datetime, datetime]:
    """[midnight starting `first`, midnight ending `last`) in the current time zone, narrowed to
    [`since`, `until`) where those are given."""

    def midnight(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))

    start, end = midnight(first), midnight(last + timedelta(days=1))
    return max(start, since) if since else start, min(end, until) if until else end


def tokens_issued_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, dict[str, int]]:
    """{date: {grant type: tokens issued that day}} for the days `first` to `last` (only those
    issued in [`since`, `until`) where given), in one query.

    A range scan of the `issued_at` index; days without tokens are left out. The dashboard
    asks for the part of today it has not counted yet, and for finished days once
    (oauth_console.dashboard.history).
    """
    since, until = day_bounds(first, last, since=since, until=until)
    rows = (
        Token.objects.filter(issued_at__gte=since, issued_at__lt=until)
        .annotate(day=TruncDate("issued_at"))
        .values("day", "grant_type")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "grant_type", "n")
    )
    per_day: dict[date, dict[str, int]] = {}
    for day, grant_type, n in rows:
        per_day.setdefault(day, {})[grant_type] = n
    return per_day


def revocations_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, int]:
    """{date: tokens revoked that day} for the days `first` to `last` (only those revoked in
    [`since`, `until`) where given), from the token table.

    Slow on a big table: `revoked_at` has no index on purpose (an index on it would stop
    revocation from being a heap-only update), so this reads the whole table, and tokens that
    `cleartokens` deleted are no longer counted. The dashboard reads the audit log instead
    when it is installed (oauth_console.dashboard.audit_stats) and uses this only without it.
    """
    since, until = day_bounds(first, last, since=since, until=until)
    rows = (
        Token.objects.filter(revoked_at__gte=since, revoked_at__lt=until)
        .annotate(day=TruncDate("revoked_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    return dict(rows)


@dataclass(frozen=True)
class ClientTokenCount:
    pk: int
    client_id: str
    name: str
    active_tokens: int


def top_clients_by_active_tokens(
    limit: int = 10, now: datetime | None = None, active_by_client: dict[int, int] | None = None
) -> list[ClientTokenCount]:
    """The `limit` clients with the most active tokens, most first.

    Pass `active_by_client` from `token_counts` to reuse its counts (then only the names are
    read); otherwise one grouped query counts them.
    """
    if active_by_client is None:
        active_by_client = active_tokens_by_client(now)
    top = sorted(active_by_client.items(), key=lambda item: (-item[1], item[0]))[:limit]
    clients = Client.objects.only("client_id", "name").in_bulk([pk for pk, _n in top])
    return [
        ClientTokenCount(pk=pk, client_id=clients[pk].client_id, name=clients[pk].name, active_tokens=n)
        for pk, n in top
        if pk in clients
    ]


def token_family(token: Token, limit: int = 100) -> list[Token]:
    """The tokens of `token`'s refresh-rotation family, oldest first (at most `limit`)."""
    return list(
        Token.objects.filter(family_id=token.family_id)
        .only(
            "pk",
            "access_token_prefix",
            "refresh_token_prefix",
            "parent_id",
            "issued_at",
            "expires_at",
            "revoked_at",
            "rotated_at",
            "grant_type",
        )
        .order_by("issued_at", "pk")[:limit]
    )


def estimated_row_count(queryset: QuerySet) -> int | None:
    """The planner's estimate of the rows in `queryset`'s table (PostgreSQL only), or None.

    Only meaningful for an unfiltered queryset; reads `pg_class.reltuples`, which ANALYZE and
    autovacuum keep current, instead of counting a million rows. A partitioned table (the audit
    log's) has no rows of its own and autovacuum never analyses it: its partitions are summed.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN c.relkind = 'p' THEN ("
            "  SELECT sum(greatest(p.reltuples, 0))::bigint FROM pg_inherits i"
            "  JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid"
            ") ELSE c.reltuples::bigint END FROM pg_class c WHERE c.oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    if not row or row[0] is None or row[0] < 0:  # -1: never analysed
        return None
    return int(row[0])


def planner_row_estimate(queryset: QuerySet) -> int | None:
    """The planner's estimate of how many rows `queryset` matches (PostgreSQL only), or None.

    Costs a plan, not a scan. Good where the filter is on columns with fresh statistics (ANALYZE,
    autovacuum); the planner reads an index's actual end for a range past the histogram, so
    `expires_at > now` stays close even on a table that grows all day.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        # A filter Django knows matches nothing (`pk__in=[]`: an empty page's clients) has no SQL
        # to plan; the estimate is exact.
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # a driver that does not decode json
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


# --- clients -----------------------------------------------------------------------------------


def client_counts_by_status() -> dict[str, int]:
    """Client.Status value -> number of clients (every status present, zero if none)."""
    counts = dict.fromkeys(Client.Status.values, 0)
    for row in Client.objects.values("status").annotate(n=Count("pk")).order_by():
        counts[row["status"]] = row["n"]
    return counts


@dataclass(frozen=True)
class ClientTokenStats:
    active_tokens: int = 0
    last_used_at: datetime | None = None


def client_token_stats(
    client_pks: Iterable[int], now: datetime | None = None, *, active: dict[int, int] | None = None
) -> dict[int, ClientTokenStats]:
    """Active-token count and last use for each client in `client_pks` (one page of a list).

    Three queries whatever the number of clients: active tokens grouped by client; each client's
    newest token (one index probe per client on (client, -issued_at)); its secrets' last use.
    "Last use" is the later of the newest token being issued and a secret being used. Pass
    `active` (client pk -> count, counted earlier) to skip the first query.
    """
    pks = list(client_pks)
    if not pks:
        return {}
    now = _now(now)
    if active is None:
        active = dict(
            active_tokens(now)
            .filter(client_id__in=pks)
            .values("client_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("client_id", "n")
        )
    newest = Token.objects.filter(client_id=OuterRef("pk")).order_by("-issued_at").values("issued_at")[:1]
    last: dict[int, datetime] = {
        pk: issued
        for pk, issued in Client.objects.filter(pk__in=pks)
        .annotate(last_issued=Subquery(newest))
        .values_list("pk", "last_issued")
        if issued is not None
    }
    secret_rows = (
        ClientSecret.objects.filter(client_id__in=pks, last_used_at__isnull=False)
        .values("client_id")
        .annotate(last_used=Max("last_used_at"))
        .order_by()
        .values_list("client_id", "last_used")
    )
    for pk, used in secret_rows:
        if pk not in last or used > last[pk]:
            last[pk] = used
    return {pk: ClientTokenStats(active.get(pk, 0), last.get(pk)) for pk in pks}


def client_secrets(client: Client) -> list[ClientSecret]:
    """A client's secrets, newest first (digests are never read into the console)."""
    return list(client.secrets.defer("digest").order_by("-created_at", "-pk"))


def published_signing_keys(now: datetime | None = None) -> QuerySet[SigningKey]:
    """The keys the JWKS publishes: next, active, and retired ones whose tokens may still be
    valid (retired less than OAUTH2_ID_TOKEN_LIFETIME ago, plus a minute for clock skew).
    Revoked keys never."""
    window = timedelta(seconds=server_settings.OAUTH2_ID_TOKEN_LIFETIME + 60)
    state = SigningKey.State
    recent_retired = Q(state=state.RETIRED, retired_at__gt=_now(now) - window)
    return SigningKey.objects.filter(Q(state__in=[state.NEXT, state.ACTIVE]) | recent_retired).order_by(
        "alg", "-created_at"
    )


def signing_algorithms_in_use() -> list[str]:
    """The algorithms that have a key that is not revoked (RS256 on a fresh install)."""
    state = SigningKey.State
    algs = SigningKey.objects.exclude(state=state.REVOKED).values_list("alg", flat=True).distinct()
    return sorted(set(algs)) or ["RS256"]


def signing_keys_for_rotation(algs: Iterable[str]) -> dict[str, tuple[SigningKey | None, SigningKey | None]]:
    """alg -> (its active key, its oldest next key): what a rotation of `algs` would change.
    The private halves are not read."""
    state = SigningKey.State
    rows = (
        SigningKey.objects.filter(alg__in=list(algs), state__in=[state.ACTIVE, state.NEXT])
        .defer("private_key_encrypted")
        .order_by("created_at")
    )
    found: dict[str, list] = {alg: [None, None] for alg in algs}
    for key in rows:
        slot = 0 if key.state == state.ACTIVE else 1
        if found[key.alg][slot] is None:
            found[key.alg][slot] = key
    return {alg: (active, upcoming) for alg, (active, upcoming) in found.items()}


def unusable_signing_keys() -> list[str]:
    """What stops the server signing now: each active or next key whose private half does not
    decrypt ("RS256 key 1a2b3c4d (active): cannot be decrypted"). Empty when every such key
    works, and on a fresh install (no key yet: the first ID token makes one)."""
    state = SigningKey.State
    found = []
    for key in SigningKey.objects.filter(state__in=[state.ACTIVE, state.NEXT]).order_by("alg", "state"):
        try:
            keys.import_private_key(
                key.kid, key_crypto.decrypt_private_key(key.kid, key.private_key_encrypted)
            )
        except key_crypto.KeyDecryptionError:
            found.append(f"{key.alg} key {key.kid[:8]} ({key.state}): cannot be decrypted")
        except (ValueError, TypeError, KeyError):
            found.append(f"{key.alg} key {key.kid[:8]} ({key.state}): not a usable private key")
    return found


def cleartokens_resume_key() -> int:
    """The token key an interrupted `cleartokens` stopped after (0: the next run starts at the
    beginning)."""
    positions = SweepPosition.objects.filter(name=SweepPosition.CLEARTOKENS)
    return positions.values_list("last_key", flat=True).first() or 0
