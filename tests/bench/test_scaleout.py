"""The scale-out bench's pure parts: client authentication header and the result page."""

import base64
from collections import Counter

from bench import scaleout


def test_basic_form_encodes_before_base64():
    header = scaleout.basic("id:1", "s/cr+t")["Authorization"]
    assert header.startswith("Basic ")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "id%3A1:s%2Fcr%2Bt"


def test_render_counts_status_classes_and_failures():
    page = scaleout.render(
        rounds=2,
        checks=Counter({"401 on A": 1, "valid on B": 2}),
        failures=["round 2: 401 on A"],
        load={"h1": Counter({200: 10, 503: 2}), "h2": Counter({200: 7, 401: 1})},
        duration=2.0,
        hosts={"A": "h1", "B": "h2"},
        audit="verifies (3 events; ok)",
    )
    assert "| 401 on A | 1/2 |" in page
    assert "| valid on B | 2/2 |" in page
    assert "Failures: round 2: 401 on A" in page
    assert "| A | 12 | 6 | 10 | 0 | 2 |" in page
    assert "| B | 8 | 4 | 7 | 1 | 0 |" in page
    assert "verifies (3 events; ok)" in page
