"""Where an authorization error may go before any grant validated the request (RFC 6749 §4.1.2.1).

An error is redirected to the client only once `client_id` and `redirect_uri` are validated as a
pair; otherwise it is shown to the person and nothing is redirected (an open redirector else).
The authorization server uses this one rule for a missing or unsupported `response_type` and for
parameters the parser refused (repeated, a client secret in the URL, a value too long).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .requests import within_limit

__all__ = ["echoable_state", "verified_redirect_uri"]


def verified_redirect_uri(
    query_client: Callable[[str], Any], params: Mapping[str, list[str]], limits: Mapping[str, int]
) -> str | None:
    """The request's `redirect_uri` when the client it names is known and registered that URI,
    the client's default when it names none; None when the client or the URI is unknown, or
    either is named more than once or is over its length limit, or the request asks to be
    answered other than in the query. `params`: every value of each parameter (a payload's
    `datalist`, or what the parser read)."""
    client_ids = params.get("client_id") or []
    uris = params.get("redirect_uri") or []
    if len(client_ids) != 1 or len(uris) > 1:
        return None
    if (params.get("response_mode") or ["query"]) != ["query"]:
        # The client reads its answer where it asked for it (Multiple Response Type Encoding
        # Practices §2.1): in the query, an error would reach nobody. The grant's rule too.
        return None
    named = {"client_id": client_ids[0], "redirect_uri": uris[0] if uris else ""}
    if any(within_limit(named, name, limits) is None for name in named):
        return None
    client = query_client(named["client_id"])
    if client is None:
        return None
    requested = named["redirect_uri"]
    if requested:
        return requested if client.check_redirect_uri(requested) else None
    return client.get_default_redirect_uri() or None


def echoable_state(params: Mapping[str, list[str]], limits: Mapping[str, int]) -> str | None:
    """The `state` to repeat in such an error: named once and within its limit, else None (which
    of two states the client meant is unknown)."""
    states = params.get("state") or []
    state = states[0] if len(states) == 1 else None
    return within_limit({"state": state}, "state", limits)
