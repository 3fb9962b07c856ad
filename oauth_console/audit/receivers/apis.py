"""API events (`server.signals.api_*`): an API (resource server) registered, changed or deleted.
Recorders (`records`): each commits with the change it reports."""

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType
from oauth_console.audit.receivers.common import actor_fields, records


def _api_detail(api) -> dict:
    return {"api_id": api.pk, "identifier": api.identifier, "name": api.name, "default": api.is_default}


@records("api_created")
def on_api_created(sender, api=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_api_detail(api), "scopes": sorted(api.scopes), "token_format": api.token_format}
    recorder.record_with_fact(EventType.API_CREATED, at=at, detail=detail, **actor_fields(actor))


@records("api_changed")
def on_api_changed(sender, api=None, changes=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_api_detail(api), "changes": changes or {}}
    recorder.record_with_fact(EventType.API_CHANGED, at=at, detail=detail, **actor_fields(actor))


@records("api_deleted")
def on_api_deleted(
    sender, api_id=None, identifier="", name="", tokens_revoked=0, actor=None, at=None, **kwargs
) -> None:
    detail = {"api_id": api_id, "identifier": identifier, "name": name, "tokens_revoked": tokens_revoked}
    recorder.record_with_fact(EventType.API_DELETED, at=at, detail=detail, **actor_fields(actor))
