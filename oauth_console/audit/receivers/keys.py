"""Signing-key events (`server.signals.signing_key_*`): every change to the OpenID Provider's
keys reaches the log, naming the key by kid and algorithm, never its private half. Recorders
(`records`): each commits with the key change it reports."""

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType
from oauth_console.audit.receivers.common import actor_fields, records


def _key_detail(key) -> dict:
    return {"kid": key.kid, "alg": key.alg, "state": key.state}


@records("signing_key_created")
def on_signing_key_created(sender, key=None, actor=None, at=None, **kwargs) -> None:
    recorder.record_with_fact(
        EventType.SIGNING_KEY_CREATED, at=at, detail=_key_detail(key), **actor_fields(actor)
    )


@records("signing_key_activated")
def on_signing_key_activated(sender, key=None, retired=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_key_detail(key), "retired_kid": retired.kid if retired is not None else None}
    recorder.record_with_fact(EventType.SIGNING_KEY_ACTIVATED, at=at, detail=detail, **actor_fields(actor))


@records("signing_key_retired")
def on_signing_key_retired(sender, key=None, actor=None, at=None, **kwargs) -> None:
    recorder.record_with_fact(
        EventType.SIGNING_KEY_RETIRED, at=at, detail=_key_detail(key), **actor_fields(actor)
    )


@records("signing_key_revoked")
def on_signing_key_revoked(
    sender, key=None, previous_state="", reason="", actor=None, at=None, **kwargs
) -> None:
    detail = {**_key_detail(key), "previous_state": previous_state, "reason": reason}
    recorder.record_with_fact(EventType.SIGNING_KEY_REVOKED, at=at, detail=detail, **actor_fields(actor))
