"""Signal receivers: the only way events reach the audit log.

The server never calls the audit app; it sends the signals documented in `server.signals` and
`server.oauth2.signals`, and Django sends `user_logged_in` / `user_login_failed`. Each receiver
turns one signal into at most one event and never raises (`common.guarded`). Events that report
a write are recorders instead (`common.RECORDERS`), which `server.events` runs inside the
fact's transaction and which raise when they cannot record. Importing this package connects the
receivers; AuditConfig.ready registers the recorders.
"""

from oauth_console.audit.receivers import apis, devices, keys, logout, protocol, services, sign_ins, webhooks
from oauth_console.audit.receivers.common import RECORDERS

__all__ = ["RECORDERS", "apis", "devices", "keys", "logout", "protocol", "services", "sign_ins", "webhooks"]
