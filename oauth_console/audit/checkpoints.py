"""Sealing, verifying and pruning the log (the chained checkpoints): the names other modules use.

Events are inserted without any lock (one INSERT each, its own content HMAC, and a position HMAC
binding that to its id, so a copied row verifies nowhere). `seal` then covers the next run of
settled events with a checkpoint whose digest chains to the previous one, leaving out (and
reporting) any row whose hash is not bound to its id;
`verify` walks events and checkpoints in id order and names the first altered, inserted or
deleted event; `retention.prune` deletes whole sealed ranges and leaves a prune record so what
remains still verifies. Why checkpoints and not a per-row chain: docs/audit.md (measured).

Split by reason to change: `sealing.py` (seal), `verification.py` (verify), `copies.py` (is a row
bound to its position; which row a copy came from), `checkpoint_records.py` (reading the seal,
prune and legacy records both need). Import from here.
"""

from oauth_console.audit.checkpoint_records import Problem, latest_prune, legacy_boundary
from oauth_console.audit.copies import copy_source, misplaced_message
from oauth_console.audit.sealing import SEAL_BATCH, seal
from oauth_console.audit.verification import READ_CHUNK, Progress, Report, verify

__all__ = [
    "READ_CHUNK",
    "SEAL_BATCH",
    "Problem",
    "Progress",
    "Report",
    "copy_source",
    "latest_prune",
    "legacy_boundary",
    "misplaced_message",
    "seal",
    "verify",
]
