"""A paginator for tables too big to count on every page view."""

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from server import selectors


class CappedCountPaginator(Paginator):
    """Counts at most CONSOLE_EXACT_COUNT_LIMIT rows, never the whole table.

    `SELECT COUNT(*)` over a million tokens reads every row; counting a LIMITed subquery reads at
    most `limit + 1`. Beyond the limit the list says "more than N" (or, unfiltered on
    PostgreSQL, the planner's estimate) and pages stop at the limit: deeper offsets are slow
    anyway, and filters are the way to narrow a big list.
    """

    @cached_property
    def limit(self) -> int:
        return settings.CONSOLE_EXACT_COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        # Ordering is irrelevant to a count and would only make the subquery sort.
        return self.object_list.order_by()[: self.limit + 1].count()

    @cached_property
    def is_capped(self) -> bool:
        """True when there are more rows than were counted."""
        return self.count > self.limit

    @cached_property
    def estimated_total(self) -> int | None:
        """Roughly how many rows an unfiltered, capped list has (PostgreSQL only), else None."""
        queryset = self.object_list
        if not self.is_capped or queryset.query.where:
            return None
        estimate = selectors.estimated_row_count(queryset)
        return estimate if estimate and estimate > self.limit else None
