"""Stopwatches for one operation of bench.scale: its wall time, and what its SQL cost."""

import time


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def timed_with_queries(function) -> tuple[float, object, str]:
    """Like `timed`, and say how many queries ran and which one took longest (for the profile)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        seconds, result = timed(function)
    if not queries.captured_queries:
        return seconds, result, "no queries"
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    total = sum(float(q["time"]) for q in queries.captured_queries)
    sql = " ".join(slowest["sql"].split())[:90].replace("|", "/")
    return (
        seconds,
        result,
        (
            f"{len(queries.captured_queries)} queries, {total:.1f}s in SQL; "
            f"slowest {float(slowest['time']):.2f}s: {sql}…"
        ),
    )
