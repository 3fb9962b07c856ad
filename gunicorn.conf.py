"""gunicorn reads this file when started from the project directory (its default config path).

Only what must hold in every deployment: the access log never holds a credential (the query of
the protocol paths, the Referer's query, Authorization and Cookie headers are redacted; see
oauth_console/access_log.py), and with PROMETHEUS_MULTIPROC_DIR set, /metrics sums every
worker's counts: the master clears the directory when it starts, and marks each exited worker
dead (oauth_console/metrics/multiprocess.py, docs/operations.md). Workers, timeouts and binding
are per deployment: pass them on the command line (docs/deployment.md).
"""

from oauth_console.metrics import multiprocess

logger_class = "oauth_console.access_log.CredentialSafeLogger"


def on_starting(server):
    multiprocess.prepare_directory()


def child_exit(server, worker):
    multiprocess.worker_exited(worker.pid)
