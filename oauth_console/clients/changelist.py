"""The client list's extra columns: each listed client's active tokens and last use."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from oauth_console.admin_lookups import RefusedValuesChangeList
from oauth_console.dashboard import active_counts
from server import selectors


class ClientChangeList(RefusedValuesChangeList):
    """The client list, plus each listed client's active tokens and last use in three queries.

    Above CONSOLE_EXACT_COUNT_LIMIT active tokens among the listed clients (the planner's
    estimate, PostgreSQL), their counts come from the dashboard's last count of every client
    (`active_counts`, at most a minute old; the column says when) instead of one heap read per
    active token on every view.
    """

    active_as_of = None

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        pks = [client.pk for client in self.result_list]
        now = timezone.now()
        active = None
        estimate = selectors.planner_row_estimate(selectors.active_tokens(now).filter(client_id__in=pks))
        if pks and estimate is not None and estimate > settings.CONSOLE_EXACT_COUNT_LIMIT:
            snapshot = active_counts.current(now)
            active, self.active_as_of = snapshot.counts, snapshot.as_of
        stats = selectors.client_token_stats(pks, now, active=active)
        for client in self.result_list:
            client.token_stats = stats.get(client.pk, selectors.ClientTokenStats())
            client.active_as_of = self.active_as_of
