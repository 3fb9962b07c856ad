"""What the audit log tells others about itself.

event_recorded    event_type, outcome: an event was handed to storage (its JSON line logged, its
                  row queued or written). Sent after the commit that carried the event, once per
                  event; the metrics count it (`oauth_audit_events_total`). It carries no detail:
                  listeners that need one read the log through `oauth_console.audit.selectors`.
verification_failed
                  problem (the message verify_audit_log prints): the log failed its check (an
                  altered, missing or copied row). Sent by `verify_audit_log` after it recorded
                  the failed check; webhooks deliver it (`audit_verification_failed`).
"""

import django.dispatch

event_recorded = django.dispatch.Signal()
verification_failed = django.dispatch.Signal()
