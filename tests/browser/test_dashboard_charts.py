"""The dashboard's charts as Chromium draws them: whole-number count axes, today labelled, the
two authentication series never on top of each other, an empty state instead of an empty grid."""

from urllib.parse import urlencode

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

OPERATOR_PASSWORD = "root-password-123"  # the shared `operator` fixture's

CHARTS = ("chart-issued", "chart-auth", "chart-revocations", "chart-top-clients")


@pytest.fixture(autouse=True)
def live_charts(settings, monkeypatch):
    settings.CONSOLE_DASHBOARD_CACHE_SECONDS = 0
    # The live server speaks plain HTTP; let the token endpoint accept it for this test.
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


def request_token(base: str, client_id: str, secret: str) -> int:
    return requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(client_id, secret),
        timeout=10,
    ).status_code


def open_dashboard(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/?{urlencode({'next': '/console/'})}")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/")
    page.wait_for_function("document.body.dataset.chartsReady === '1'")


def chart(page, canvas_id: str) -> dict:
    """What Chart.js made of one canvas: its type, datasets, and the ticks it drew."""
    return page.evaluate(
        """(id) => {
            const chart = Chart.getChart(id);
            const ticks = (axis) => chart.scales[axis].ticks.map((t) => ({value: t.value, label: t.label}));
            const count = chart.options.indexAxis === "y" ? "x" : "y";
            return {
                type: chart.config.type,
                labels: chart.data.labels,
                datasets: chart.data.datasets.map((d) => ({
                    label: d.label, type: d.type || chart.config.type, data: d.data,
                    borderDash: d.borderDash || [], pointStyle: d.pointStyle || "circle",
                })),
                countTicks: ticks(count),
                dayTicks: count === "y" ? ticks("x") : [],
            };
        }""",
        canvas_id,
    )


def test_count_axes_are_whole_numbers_and_today_is_labelled(live_server, page, operator, make_client):
    base = live_server.url
    busy, secret = make_client("A" * 100)  # one unbroken 100-character name
    assert request_token(base, busy.client_id, secret) == 200  # one success, folded into token_issued
    assert request_token(base, busy.client_id, "ocs_wrong") == 401  # one failure

    open_dashboard(page, base)
    screenshot(page, "dashboard-charts")

    today = timezone.localdate().isoformat()[5:]
    for canvas_id in CHARTS:
        drawn = chart(page, canvas_id)
        values = [tick["value"] for tick in drawn["countTicks"]]
        assert values and all(float(value).is_integer() for value in values), (canvas_id, values)
        if drawn["dayTicks"]:
            labelled = [tick["label"] for tick in drawn["dayTicks"] if tick["label"]]
            assert drawn["dayTicks"][-1]["label"] == today, (canvas_id, drawn["dayTicks"][-3:])
            assert 3 <= len(labelled) <= 15  # readable, not all thirty

    auth = chart(page, "chart-auth")
    assert [d["label"] for d in auth["datasets"]] == ["success", "failure"]
    assert auth["datasets"][0]["data"][-1] == 1 and auth["datasets"][1]["data"][-1] == 1
    # Equal values must stay visible side by side: bars (each its own slot), or lines that differ
    # in dash and point style.
    success, failure = auth["datasets"]
    assert success["type"] == failure["type"] == "bar" or (
        success["borderDash"] != failure["borderDash"] and success["pointStyle"] != failure["pointStyle"]
    )


def test_top_clients_without_tokens_is_an_empty_state(live_server, page, operator):
    open_dashboard(page, live_server.url)

    assert page.locator("#chart-top-clients").count() == 0
    assert page.locator("#top-clients-empty").is_visible()
