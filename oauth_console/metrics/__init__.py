"""Prometheus metrics of the server and the console, served at /metrics (docs/operations.md).

Counters are fed by the event catalogue (`server.events`) and the audit log's `event_recorded`:
`receivers.py` listens, nothing in the protocol code calls a metric. Request latency of the
protocol endpoints is measured by `middleware.py`. Every increment is in-process memory (or, in
gunicorn's multiprocess mode, an mmap'd file of the worker's own): no query, no cache round trip.

- `registry.py`: every metric, its labels and the bounds on their values;
- `receivers.py`: the event listeners;
- `middleware.py`: the protocol endpoints' latency histogram;
- `views.py`: the /metrics view and its access rule (METRICS_TOKEN, METRICS_ALLOWED_NETWORKS);
- `multiprocess.py`: gunicorn's hooks (`gunicorn.conf.py`) for PROMETHEUS_MULTIPROC_DIR.
"""
