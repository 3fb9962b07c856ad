"""Signal receivers: the only way events reach the audit log.

The server never calls the audit app; it sends the signals documented in `server.signals` and
`server.oauth2.signals`, and Django sends `user_logged_in` / `user_login_failed`. Each receiver
turns one signal into at most one event and never raises (`common.guarded`). Importing this
package connects them all (AuditConfig.ready).
"""

from oauth_console.audit.receivers import keys, protocol, services, sign_ins

__all__ = ["keys", "protocol", "services", "sign_ins"]
