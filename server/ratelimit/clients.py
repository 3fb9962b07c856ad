"""Secret guessing: failed client authentications lock a client_id, except where it is known.

A client_id that failed too often from one address is locked at that address
(`auth_failures_client_ip`); one that failed too often across addresses (`auth_failures_client`, a
higher threshold) is locked everywhere except at addresses from which it authenticated
successfully before, so a distributed guesser cannot lock the real client out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse

from server.conf import server_settings
from server.oauth2.bodies import parse_media_type

from .counters import cache, count, counter_key, key, rate, window


@dataclass(frozen=True)
class Claim:
    """Who a protocol request says it is: the client_id it claims, from which address, and
    whether that client authenticated from there before."""

    client_id: str
    ip: str
    trusted: bool = False


def _trusted_key(client_id: str, ip: str) -> str:
    return key("trusted", client_id, ip)


def locked(client_id: str, ip: str, now: float) -> tuple[tuple[str, int] | None, bool]:
    """Whether secret guessing for `client_id` is locked at `ip` ((limit name, retry after) or
    None), and whether the client authenticated from `ip` before."""
    per_ip, per_client = rate("auth_failures_client_ip"), rate("auth_failures_client")
    keys = {}
    if per_ip:
        keys["auth_failures_client_ip"] = counter_key(
            "auth_failures_client_ip", f"{client_id}|{ip}", per_ip, now
        )
    if per_client:
        keys["auth_failures_client"] = counter_key("auth_failures_client", client_id, per_client, now)
    if not keys:
        return None, False
    trusted_key = _trusted_key(client_id, ip)
    found = cache().get_many([*keys.values(), trusted_key])
    trusted = bool(found.get(trusted_key))
    for name, counter in keys.items():
        rate_ = per_ip if name == "auth_failures_client_ip" else per_client
        if (found.get(counter) or 0) >= rate_.limit:
            if name == "auth_failures_client" and trusted:
                # Locked across addresses, but the real client authenticated from here before.
                continue
            return (name, window(rate_, now)[1]), trusted
    return None, trusted


def _is_client_auth_failure(response: HttpResponse) -> bool:
    if response.status_code not in (400, 401):
        return False
    if not parse_media_type(response.get("Content-Type")).essence.endswith("json"):
        return False
    return b'"invalid_client"' in response.content


def record_outcome(claim: Claim, response: HttpResponse, now: float) -> None:
    """Count a failed client authentication, or remember the address of a successful one."""
    client_id, ip = claim.client_id, claim.ip
    if _is_client_auth_failure(response):
        count("auth_failures_client_ip", f"{client_id}|{ip}", now)
        count("auth_failures_client", client_id, now)
    elif response.status_code == 200 and not claim.trusted:
        cache().add(
            _trusted_key(client_id, ip), 1, timeout=server_settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL
        )
