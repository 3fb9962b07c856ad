"""bench.scale: the console and the bulk operations at ten million tokens and tens of millions of
audit events (`python -m bench.scale`; usage in run.py and bench/README.md).

run.py runs it: seeding.py makes (or reuses) the database, pages.py times the console pages,
bulk.py the bulk operations, timing.py holds the stopwatches both use and report.py the
results page.
"""


def log(message: str) -> None:
    print(f"[scale] {message}", flush=True)
