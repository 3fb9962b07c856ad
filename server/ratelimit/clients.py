"""Secret guessing: failed client authentications lock a client_id, except where it is known.

A client_id that failed too often from one address is locked at that address
(`auth_failures_client_ip`); one that failed too often across addresses (`auth_failures_client`, a
higher threshold) is locked everywhere except at addresses from which it authenticated
successfully before, so a distributed guesser cannot lock the real client out.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.conf import server_settings

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


def record_failure(claim: Claim, now: float) -> None:
    """Count a failed client authentication (`client_authentication_failed` was sent)."""
    count("auth_failures_client_ip", f"{claim.client_id}|{claim.ip}", now)
    count("auth_failures_client", claim.client_id, now)


def record_success(claim: Claim) -> None:
    """Remember the address of a successful client authentication (`client_authenticated`)."""
    if not claim.trusted:
        cache().add(
            _trusted_key(claim.client_id, claim.ip),
            1,
            timeout=server_settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL,
        )
