"""How the events of the catalogue (server/events.py) are recorded: which the audit log records
inside the transaction of the fact they report, by whom, and which it deliberately leaves out.
A new event is added to the catalogue first, then here when it reports a write."""

# Events the audit log deliberately does not record, and why.
NOT_AUDITED: dict[str, str] = {
    "bearer_token_refused": (
        "an API called with a missing, expired or wrong token is refused on every call, so one "
        "misconfigured resource client (or anyone at all) could flood the log; the refusals are "
        "counted by outcome in the metrics (oauth_bearer_checks_total)"
    ),
    "backing_service_failed": (
        "an outage is an operational fact, not a security one, and while the database is down the "
        "log cannot be written anyway; it is logged at once and counted in the metrics "
        "(oauth_backing_service_errors_total)"
    ),
}

# The events recorded inside the transaction of the fact they report, and who runs the recorders.
_SERVICE = "the service, with `emit`"
IN_TRANSACTION: dict[str, str] = {
    "token_issued": "AuthorizationServer.save_token: the signal, sent in the token's transaction",
    "consent_granted": "AuthorizationServer (authorize): the signal, sent in the code's transaction",
    "token_revoked": "services.tokens (RFC 7009 revocations), with `record`",
    **{
        name: _SERVICE
        for name in (
            "client_created",
            "client_changed",
            "client_status_changed",
            "client_deleted",
            "client_secret_rotated",
            "client_secret_expired",
            "tokens_revoked",
            "consent_revoked",
            "user_access_revoked",
            "developer_signed_up",
            "initial_access_token_created",
            "initial_access_token_revoked",
            "expired_tokens_cleared",
            "authorization_codes_expired",
            "registration_access_token_issued",
            "signing_key_created",
            "signing_key_activated",
            "signing_key_retired",
            "signing_key_revoked",
            "device_authorization_requested",
            "device_authorization_approved",
            "device_authorization_denied",
            "device_authorizations_revoked",
            "user_logged_out",
            "backchannel_logout_failed",
            "webhook_subscription_created",
            "webhook_subscription_changed",
            "webhook_subscription_deleted",
            "webhook_secret_rotated",
            "webhook_test_event_sent",
            "webhook_delivery_replayed",
            "webhook_delivery_dead_lettered",
            "api_created",
            "api_changed",
            "api_deleted",
        )
    },
}
