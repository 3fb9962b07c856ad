"""Paginators for tables too big to count on every page view (the token list, the audit log).

`SELECT COUNT(*)` over ten million tokens reads every row. Counting a LIMITed subquery reads at
most `limit + 1`, but even that is thousands of heap pages when the filter is on a column no
index holds (a token's `revoked_at`, kept out of every index so that revoking stays a heap-only
update: server.0003): 10,001 random heap reads for "active tokens" at ten million rows. So on
PostgreSQL the planner is asked first (an EXPLAIN: a plan, no scan), and when it expects far
more rows than the limit nothing is counted: the list says "about N" and pages stop at the
limit, as they do for a counted list that has more.
"""

from django.conf import settings
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from server import selectors

# The planner multiplies the selectivities of combined filters as if they were independent
# (client X and active, say): its estimate can be off several-fold either way. Only an estimate
# this many times the limit replaces the count; below it the capped count runs.
ESTIMATE_MARGIN = 2


class EstimatedCountPaginator(Paginator):
    """Counts at most `limit` + 1 rows, and none when PostgreSQL expects far more than `limit`.

    `count` is then `limit + 1` (so `is_capped` and the page links work as for a counted list
    that has more) and `estimated_total` is the planner's number. Elsewhere (SQLite) the
    capped count always runs. Subclasses may set `limit`.
    """

    @cached_property
    def limit(self) -> int:
        return settings.CONSOLE_EXACT_COUNT_LIMIT

    @cached_property
    def estimated_total(self) -> int | None:
        """The planner's estimate of the matching rows when it is far above `limit`, else None."""
        queryset = self.object_list
        # Unfiltered: the table's row count from the catalog, which costs no plan (planning the
        # audit log's query over its monthly partitions costs about 1 ms a partition).
        if queryset.query.where:
            estimate = selectors.planner_row_estimate(queryset)
        else:
            estimate = selectors.estimated_row_count(queryset)
        if estimate is None or estimate <= self.limit * ESTIMATE_MARGIN:
            return None
        return estimate

    @cached_property
    def count(self) -> int:
        if self.estimated_total is not None:
            return self.limit + 1
        # Ordering is irrelevant to a count and would only make the subquery sort.
        return self.object_list.order_by()[: self.limit + 1].count()

    @cached_property
    def is_capped(self) -> bool:
        """True when there are (or the planner expects) more rows than were counted."""
        return self.count > self.limit

    def settle(self, first_page_rows: int) -> None:
        """A first page shorter than a page is the whole list: its length is the count, whatever
        the planner expected (a wrong estimate must not show "about 40,000" over three rows)."""
        self.__dict__.update(count=first_page_rows, estimated_total=None, is_capped=False)


class EstimatedCountChangeList(ChangeList):
    """Django's change list with an `EstimatedCountPaginator`: corrects an estimate that the
    first page proves wrong."""

    def get_results(self, request) -> None:
        super().get_results(request)
        paginator = self.paginator
        if not isinstance(paginator, EstimatedCountPaginator) or paginator.estimated_total is None:
            return
        if self.page_num == 1 and not self.show_all:
            rows = len(self.result_list)
            if rows < self.list_per_page:
                paginator.settle(rows)
                self.result_count, self.multi_page = rows, False
                self.can_show_all = rows <= self.list_max_show_all
