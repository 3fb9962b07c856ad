"""gunicorn reads this file when started from the project directory (its default config path).

Only what must hold in every deployment: the access log never holds a credential (the query of
the protocol paths, the Referer's query, Authorization and Cookie headers are redacted; see
oauth_console/access_log.py). Workers, timeouts and binding are per deployment: pass them on the
command line (docs/deployment.md).
"""

logger_class = "oauth_console.access_log.CredentialSafeLogger"
