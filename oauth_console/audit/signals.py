"""What the audit log tells others about itself.

event_recorded    event_type, outcome: an event was handed to storage (its JSON line logged, its
                  row queued or written). Sent after the commit that carried the event, once per
                  event; the metrics count it (`oauth_audit_events_total`). It carries no detail:
                  listeners that need one read the log through `oauth_console.audit.selectors`.
"""

import django.dispatch

event_recorded = django.dispatch.Signal()
