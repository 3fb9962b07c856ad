"""Console lists with nothing to list: the planner estimate (PostgreSQL) of a filter Django knows
matches nothing must not turn an empty page into a 500 (found by a clean-clone PostgreSQL run:
the client list with no clients raised EmptyResultSet from `client_id__in=[]`)."""

import pytest
from django.db import connection
from django.test import Client as HttpClient

from server import selectors
from server.models import Client, Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_http(django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-123456")
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.mark.parametrize(
    "path",
    [
        "/admin/server/client/",
        "/admin/server/client/?q=no-such-client",
        "/admin/server/token/",
        "/admin/server/token/?client__id__exact=999999",
        "/admin/audit/auditevent/",
    ],
)
def test_an_empty_console_list_is_a_page_not_a_500(operator_http, path):
    assert not Client.objects.exists()
    response = operator_http.get(path)
    assert response.status_code == 200, path


def test_the_estimate_of_a_filter_that_matches_nothing_is_zero():
    estimate = selectors.planner_row_estimate(Token.objects.filter(client_id__in=[]))
    assert estimate == (0 if connection.vendor == "postgresql" else None)
