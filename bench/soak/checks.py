"""The soak's checks after the load: what the clients saw against the server and its database."""

from __future__ import annotations


def check_revoked_fail(base_url: str, ledger) -> list[str]:
    """Every access token revoked during the run (directly or with its family) fails at /api/me."""
    import requests

    failures = []
    session = requests.Session()
    session.headers["X-Forwarded-Proto"] = "https"
    for token in sorted(ledger.dead_access):
        response = session.get(base_url + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if response.status_code != 401:
            failures.append(f"revoked token {token[:12]}… answered {response.status_code}")
    return failures


def check_database(ledger) -> tuple[dict, list[str]]:
    """Tokens and audit events against what the clients saw."""
    from oauth_console.audit.models import AuditEvent, EventType
    from server.credentials import digest
    from server.models import Token

    failures = []
    access = {digest(value) for value in ledger.issued_access}
    refresh = {digest(value) for value in ledger.issued_refresh}
    stored_access = set(
        Token.objects.filter(access_token_digest__in=access).values_list("access_token_digest", flat=True)
    )
    stored_refresh = set(
        Token.objects.filter(refresh_token_digest__in=refresh).values_list("refresh_token_digest", flat=True)
    )
    total_rows = Token.objects.count()
    if stored_access != access:
        failures.append(f"{len(access - stored_access)} issued access tokens are missing from the database")
    if stored_refresh != refresh:
        failures.append(
            f"{len(refresh - stored_refresh)} issued refresh tokens are missing from the database"
        )
    if total_rows != len(access):
        failures.append(f"{total_rows} token rows for {len(access)} issuances")
    dead = {digest(value) for value in ledger.dead_access}
    still_active = Token.objects.filter(access_token_digest__in=dead, revoked_at__isnull=True).count()
    if still_active:
        failures.append(f"{still_active} revoked tokens are not revoked in the database")

    issued_events = AuditEvent.objects.filter(event_type=EventType.TOKEN_ISSUED)
    issued_ids = list(issued_events.values_list("token_id", flat=True))
    row_ids = set(Token.objects.values_list("pk", flat=True))
    if (
        len(issued_ids) != len(access)
        or set(issued_ids) != row_ids
        or len(set(issued_ids)) != len(issued_ids)
    ):
        failures.append(
            f"audit: {len(issued_ids)} token_issued events ({len(set(issued_ids))} distinct tokens) "
            f"for {len(access)} issuances"
        )
    revocation_events = AuditEvent.objects.filter(
        event_type__in=[EventType.TOKEN_REVOKED, EventType.TOKENS_REVOKED], actor_kind="client"
    ).count()
    if revocation_events != len(ledger.revocations):
        failures.append(
            f"audit: {revocation_events} revocation events for {len(ledger.revocations)} revocations"
        )
    counts = {
        "token_rows": total_rows,
        "issued_access_tokens": len(access),
        "issued_refresh_tokens": len(refresh),
        "revocation_calls": len(ledger.revocations),
        "tokens_revoked_in_db": Token.objects.filter(revoked_at__isnull=False).count(),
        "audit_token_issued": len(issued_ids),
        "audit_revocations": revocation_events,
        "audit_events_total": AuditEvent.objects.count(),
    }
    return counts, failures
