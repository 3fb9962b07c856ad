"""Signing-key events (`server.signals.signing_key_*`): every change to the OpenID Provider's
keys reaches the log, naming the key by kid and algorithm, never its private half."""

from django.dispatch import receiver

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType
from oauth_console.audit.receivers.common import actor_fields, guarded
from server import signals as server_signals


def _key_detail(key) -> dict:
    return {"kid": key.kid, "alg": key.alg, "state": key.state}


@receiver(server_signals.signing_key_created, dispatch_uid="audit.signing_key_created")
@guarded
def on_signing_key_created(sender, key=None, actor=None, at=None, **kwargs) -> None:
    recorder.record(EventType.SIGNING_KEY_CREATED, at=at, detail=_key_detail(key), **actor_fields(actor))


@receiver(server_signals.signing_key_activated, dispatch_uid="audit.signing_key_activated")
@guarded
def on_signing_key_activated(sender, key=None, retired=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_key_detail(key), "retired_kid": retired.kid if retired is not None else None}
    recorder.record(EventType.SIGNING_KEY_ACTIVATED, at=at, detail=detail, **actor_fields(actor))


@receiver(server_signals.signing_key_retired, dispatch_uid="audit.signing_key_retired")
@guarded
def on_signing_key_retired(sender, key=None, actor=None, at=None, **kwargs) -> None:
    recorder.record(EventType.SIGNING_KEY_RETIRED, at=at, detail=_key_detail(key), **actor_fields(actor))


@receiver(server_signals.signing_key_revoked, dispatch_uid="audit.signing_key_revoked")
@guarded
def on_signing_key_revoked(
    sender, key=None, previous_state="", reason="", actor=None, at=None, **kwargs
) -> None:
    detail = {**_key_detail(key), "previous_state": previous_state, "reason": reason}
    recorder.record(EventType.SIGNING_KEY_REVOKED, at=at, detail=detail, **actor_fields(actor))
