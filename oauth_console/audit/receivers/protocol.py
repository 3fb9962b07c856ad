"""Protocol events, from `server.oauth2.signals` (each carries the Django request).

`token_issued`, `consent_granted` and `token_revoked` report writes: they are recorders
(`records`), run inside the transaction of the token, code or revocation. The others are
observations, written after commit and never raising (`guarded`)."""

import functools
import hashlib

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from oauth_console.audit import recorder
from oauth_console.audit.context import DeferredEvent, context_for, current_request
from oauth_console.audit.models import ActorKind, EventType, Outcome
from oauth_console.audit.receivers.common import (
    client_actor,
    client_id_of,
    guarded,
    records,
    token_fields,
    user_fields,
)
from server import cache_marks, services
from server.oauth2 import signals as oauth2_signals


@receiver(oauth2_signals.client_authenticated, dispatch_uid="audit.client_authenticated")
@guarded
def on_client_authenticated(sender, client=None, request=None, method=None, **kwargs) -> None:
    client_id = client_id_of(client)
    context = current_request.get()
    if context is not None and client_id in context.issued_to:
        # A provisional client's, announced once its token's statement confirmed it: the
        # token_issued event already says the client authenticated, and how. Asked before the
        # event's makings (the clock, its fields) are gathered: every such token request ends
        # here.
        return
    build = functools.partial(
        recorder.build_event,
        EventType.CLIENT_AUTHENTICATED,
        client_id=client_id,
        request=request,
        detail={"method": method},
        at=timezone.now(),
        **client_actor(client_id),
    )
    if context is not None:
        # Held until the request ends, unbuilt: if the same request issues a token,
        # `token_issued` says the client authenticated (and how), and the token endpoint pays
        # for one event, not two (nor for hashing one it throws away). If nothing absorbs it
        # (introspection, revocation), it is written once per window (`_first_in_window`).
        key = _client_auth_window_key(client_id, getattr(request, "path", ""), context.ip_address)
        held = functools.partial(_first_in_window, key, build, request)
        context.deferred.append(DeferredEvent(EventType.CLIENT_AUTHENTICATED, client_id, method, held))
    else:
        recorder.write(build())


@functools.lru_cache(maxsize=4096)
def _client_auth_window_key(client_id: str, path: str, ip: str | None) -> str:
    # Kept: every introspection and revocation asks for it twice (the mark read with the rate
    # limiter's round trip, then the deferred event), with the same client, path and address.
    ident = hashlib.sha256(f"{client_id}\x00{path}\x00{ip or ''}".encode()).hexdigest()[:32]
    return f"audit:client-auth:{ident}"


@cache_marks.read_with_protocol_requests
def _client_auth_marks(request, client_id: str) -> list[str]:
    # Read in the rate limiter's round trip, so that in the steady state an introspection or
    # revocation asks the cache nothing more; the key is the one `on_client_authenticated` uses.
    if settings.AUDIT_CLIENT_AUTH_INTERVAL <= 0:
        return []
    ip = context_for(request).ip_address
    return [_client_auth_window_key(client_id, getattr(request, "path", ""), ip)]


def _first_in_window(key: str, build, request=None):
    """The event, if it is the first for its client, endpoint and address in
    AUDIT_CLIENT_AUTH_INTERVAL seconds, else None: the mark read in the request's round trip
    decides, or else one cache claim (`server.cache_marks.first_in_interval`). A resource server
    introspecting on every API call would otherwise write an event per call."""
    if not cache_marks.first_in_interval(key, settings.AUDIT_CLIENT_AUTH_INTERVAL, request=request):
        return None
    return build()


@receiver(oauth2_signals.client_authentication_failed, dispatch_uid="audit.client_authentication_failed")
@guarded
def on_client_authentication_failed(
    sender, client_id=None, request=None, method=None, reason=None, **kwargs
) -> None:
    client_id = client_id if isinstance(client_id, str) else ""
    recorder.record(
        EventType.CLIENT_AUTHENTICATION_FAILED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail={"method": method, "reason": reason},
        **client_actor(client_id),
    )


def take_deferred_authentication(client_id: str) -> DeferredEvent | None:
    """Remove and return this request's held `client_authenticated` event for `client_id`."""
    context = current_request.get()
    if context is None:
        return None
    for index, event in enumerate(context.deferred):
        if event.event_type == EventType.CLIENT_AUTHENTICATED and event.client_id == client_id:
            return context.deferred.pop(index)
    return None


@records("token_issued")
def on_token_issued(
    sender,
    token=None,
    client=None,
    user=None,
    grant_type=None,
    scope=None,
    request=None,
    record=None,
    **kwargs,
) -> None:
    client_id = client_id_of(client)
    fields = token_fields(record)
    if not fields.get("token_prefix") and isinstance(token, dict) and token.get("access_token"):
        # Only the display prefix, which the design treats as non-secret; never the value.
        fields["token_prefix"] = str(token["access_token"])[:12]
    detail = {
        "grant_type": grant_type,
        "scope": scope if scope is not None else (token or {}).get("scope", ""),
        "expires_in": (token or {}).get("expires_in"),
        "refresh_token_issued": bool((token or {}).get("refresh_token")),
    }
    parent_id = getattr(record, "parent_id", None)
    if parent_id:
        detail["parent_token_id"] = parent_id
    authenticated = take_deferred_authentication(client_id)
    # A provisional client is announced only after this (`server.oauth2.provisional`): the
    # signal says how it authenticated.
    method = authenticated.method if authenticated is not None else kwargs.get("client_auth_method")
    if method:
        detail["client_auth_method"] = method
    context = current_request.get()
    if context is not None:
        context.issued_to.add(client_id)
    recorder.record_with_fact(
        EventType.TOKEN_ISSUED,
        client_id=client_id,
        request=request,
        detail=detail,
        **client_actor(client_id),
        **user_fields(user),
        **fields,
    )


@receiver(oauth2_signals.token_request_refused, dispatch_uid="audit.token_request_refused")
@guarded
def on_token_request_refused(
    sender, client=None, grant_type=None, error=None, description=None, request=None, **kwargs
) -> None:
    client_id = client_id_of(client)
    detail = {"grant_type": grant_type, "error": error, "description": description}
    # Like token_issued, the refusal absorbs the request's client_authenticated: one event that
    # says the client authenticated (and how) and what it was refused.
    authenticated = take_deferred_authentication(client_id)
    if authenticated is not None:
        detail["client_auth_method"] = authenticated.method
    recorder.record(
        EventType.TOKEN_REFUSED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail=detail,
        **client_actor(client_id),
    )


@receiver(oauth2_signals.token_authenticated, dispatch_uid="audit.token_authenticated")
@guarded
def on_token_authenticated(sender, token=None, request=None, **kwargs) -> None:
    token_id = getattr(token, "pk", None)
    if token_id is None:
        return
    # The hot path: this worker remembers the token's mark until it ends, so a use inside the
    # interval costs no cache command; a new window costs one claim, the UPDATE and the INSERT.
    if not cache_marks.first_in_interval(f"audit:token-used:{token_id}", settings.AUDIT_TOKEN_USE_INTERVAL):
        return
    now = timezone.now()
    recorder.run_after_write(functools.partial(services.touch_token, token_id, now))
    client_id = client_id_of(getattr(token, "client", None))
    recorder.record(
        EventType.TOKEN_AUTHENTICATED,
        client_id=client_id,
        request=request,
        at=now,
        detail={"scope": getattr(token, "scope", ""), "path": getattr(request, "path", "")},
        **client_actor(client_id),
        **user_fields(getattr(token, "user", None)),
        **token_fields(token),
    )


@records("token_revoked")
def on_token_revoked(sender, token=None, request=None, client=None, **kwargs) -> None:
    # The one event of an RFC 7009 revocation, recorded by the revocation service in its
    # transaction (the endpoint's spec signal follows): the service left on `token` why, how
    # many tokens (a refresh token takes its family) and which.
    client_id = client_id_of(client) or client_id_of(getattr(token, "client", None))
    detail = {"via": "revocation endpoint", "count": getattr(token, "revocation_count", 1)}
    if getattr(token, "revoked_reason", ""):
        detail["reason"] = token.revoked_reason
    criteria = getattr(token, "revocation_criteria", None)
    if isinstance(criteria, dict):
        detail["criteria"] = criteria
    recorder.record_with_fact(
        EventType.TOKEN_REVOKED,
        client_id=client_id,
        request=request,
        detail=detail,
        **client_actor(client_id),
        **user_fields(getattr(token, "user", None)),
        **token_fields(token),
    )


@receiver(oauth2_signals.authorization_code_replayed, dispatch_uid="audit.authorization_code_replayed")
@guarded
def on_authorization_code_replayed(sender, client=None, code=None, request=None, **kwargs) -> None:
    # The grant may report the replay before it has put the client on its request; the code
    # knows its client (a query, but on a rare failure path, not the hot one).
    client_id = client_id_of(client) or client_id_of(getattr(code, "client", None))
    user = getattr(code, "user", None)
    recorder.record(
        EventType.AUTHORIZATION_CODE_REPLAYED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail={"authorization_code_id": getattr(code, "pk", None)},
        **client_actor(client_id),
        **user_fields(user),
    )


@receiver(oauth2_signals.refresh_token_reused, dispatch_uid="audit.refresh_token_reused")
@guarded
def on_refresh_token_reused(sender, client=None, token=None, request=None, **kwargs) -> None:
    client_id = client_id_of(client) or client_id_of(getattr(token, "client", None))
    recorder.record(
        EventType.REFRESH_TOKEN_REUSED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail={
            "family_id": str(getattr(token, "family_id", "")),
            "refresh_token_prefix": getattr(token, "refresh_token_prefix", ""),
        },
        **client_actor(client_id),
        **user_fields(getattr(token, "user", None)),
        **token_fields(token),
    )


def _consent(event_type: str, outcome: str, client, user, scope, request, *, with_fact: bool) -> None:
    person = user_fields(user)
    record = recorder.record_with_fact if with_fact else recorder.record
    record(
        event_type,
        outcome=outcome,
        client_id=client_id_of(client),
        request=request,
        detail={"scope": scope or ""},
        actor_kind=ActorKind.USER if person else ActorKind.ANONYMOUS,
        actor_label=f"user:{person['username']}" if person else "anonymous",
        **person,
    )


@records("consent_granted")
def on_consent_granted(
    sender, client=None, user=None, scope=None, request=None, remembered=False, **kwargs
) -> None:
    # A silent re-authorisation (an earlier consent covered it) is not a new consent: its own
    # event, so "Consent granted" means the person approved on the page.
    event_type = EventType.CONSENT_REMEMBERED if remembered else EventType.CONSENT_GRANTED
    _consent(event_type, Outcome.SUCCESS, client, user, scope, request, with_fact=True)


@receiver(oauth2_signals.consent_denied, dispatch_uid="audit.consent_denied")
@guarded
def on_consent_denied(sender, client=None, user=None, scope=None, request=None, **kwargs) -> None:
    # Nothing is written on a denial: an observed event, like an authentication.
    _consent(EventType.CONSENT_DENIED, Outcome.FAILURE, client, user, scope, request, with_fact=False)
