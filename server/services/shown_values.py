"""What an operator was shown before approving (docs/security.md, the machine-facing review,
findings 6, 9 and 10): the approving door sends back a fingerprint of the values it showed, and
the approving service compares it with the values as they are, read under a row lock, so that
what is approved is exactly what was seen. A registrant may change a pending app's settings, or
an approved app's held changes, at any time: between a look and a click is enough."""

import hashlib
import json

from server import policies


class ChangedSinceShown(policies.PolicyError):
    """The values to approve are not those the operator was shown: nothing was approved."""


def fingerprint(values: dict | None) -> str:
    """A digest of `values` (field -> stored value): the same values, the same digest."""
    text = json.dumps(values or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
