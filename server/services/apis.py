"""APIs (resource servers): create, change, delete. One transaction and one event each.

Every door (the admin, the import) calls these; the values go through `server.api_policy`.
The default API (this server's own) can be renamed and given a token format and lifetime, never
an identifier or scopes (those follow the issuer and OAUTH2_SCOPES) and never deleted.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from server import api_policy, signals
from server.actors import Actor
from server.models import Api, Client, Token
from server.policy_rules import PolicyError
from server.services._after_commit import send_after_commit
from server.services.tokens import _revoke_holding_locks

API_FIELDS = (
    "identifier",
    "name",
    "scopes",
    "token_format",
    "access_token_lifetime",
    "allowed_clients",
    "allow_any_client",
    "resource_servers",
)
# Its token lifetime is OAUTH2_ACCESS_TOKEN_LIFETIME: a token naming no resource costs no lookup.
DEFAULT_API_FIELDS = ("name", "token_format")


def _clients_named(client_ids, field: str = "allowed_clients") -> list[Client]:
    # A list (JSON's array): a string or a mapping would be read character by character, key by key.
    if not isinstance(client_ids, list | tuple) or not all(isinstance(value, str) for value in client_ids):
        raise PolicyError("Clients are named by a list of client_ids.", field=field)
    wanted = list(dict.fromkeys(client_ids))
    found = {client.client_id: client for client in Client.objects.filter(client_id__in=wanted)}
    missing = [value for value in wanted if value not in found]
    if missing:
        raise PolicyError(f"No client has the client_id {missing[0][:64]!r}.", field=field)
    return [found[value] for value in wanted]


def _resource_servers_named(client_ids) -> list[Client]:
    return api_policy.validate_resource_servers(_clients_named(client_ids, "resource_servers"))


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise PolicyError("allow_any_client is true or false.", field="allow_any_client")
    return value


def _validated(values: dict, *, default: bool) -> dict:
    allowed = DEFAULT_API_FIELDS if default else API_FIELDS
    unknown = set(values) - set(allowed)
    if unknown:
        raise PolicyError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    checks = {
        "identifier": api_policy.validate_api_identifier,
        "name": api_policy.validate_api_name,
        "scopes": api_policy.validate_api_scopes,
        "token_format": api_policy.validate_token_format,
        "access_token_lifetime": api_policy.validate_access_token_lifetime,
        "allowed_clients": _clients_named,
        "allow_any_client": _flag,
        "resource_servers": _resource_servers_named,
    }
    return {field: checks[field](value) for field, value in values.items()}


def _taken(identifier: str, api: Api | None) -> None:
    others = Api.objects.filter(identifier=identifier)
    if api is not None:
        others = others.exclude(pk=api.pk)
    if others.exists():
        raise PolicyError("Another API has this identifier.", field="identifier")


# The fields that name clients (many-to-many): written with .set(), described as client_ids.
_CLIENT_LISTS = ("allowed_clients", "resource_servers")


def _described(field: str, value):
    if field in _CLIENT_LISTS:
        return sorted(client.client_id for client in value)
    return value


def create_api(*, actor: Actor, identifier: str, name: str, scopes: dict | None = None, **settings) -> Api:
    """Register an API. Raises PolicyError (nothing written) for a value the policy refuses.
    `allowed_clients`: client_ids of the clients that may ask for it; `resource_servers`:
    client_ids of the (confidential) clients that serve it and introspect its tokens, which
    then see only tokens for the APIs they serve as active. Sends `api_created`."""
    values = _validated(
        {"identifier": identifier, "name": name, "scopes": scopes or {}, **settings}, default=False
    )
    lists = {field: values.pop(field, []) for field in _CLIENT_LISTS}
    now = timezone.now()
    with transaction.atomic():
        _taken(values["identifier"], None)
        api = Api.objects.create(**values, created_at=now)
        for field, clients in lists.items():
            getattr(api, field).set(clients)
        send_after_commit(signals.api_created, api=api, actor=actor, at=now)
    return api


def change_api(api: Api, *, actor: Actor, **changes) -> Api:
    """Change an API's settings (API_FIELDS; the default API: DEFAULT_API_FIELDS). Sends
    `api_changed` with {field: [old, new]} when something changed."""
    values = _validated(changes, default=api.is_default)
    now = timezone.now()
    with transaction.atomic():
        api = Api.objects.select_for_update().get(pk=api.pk)
        diff: dict[str, list] = {}
        for field, new in values.items():
            if field in _CLIENT_LISTS:
                old = list(getattr(api, field).all())
                if {c.pk for c in old} != {c.pk for c in new}:
                    diff[field] = [_described(field, old), _described(field, new)]
                    getattr(api, field).set(new)
            elif getattr(api, field) != new:
                diff[field] = [getattr(api, field), new]
                setattr(api, field, new)
        if "identifier" in diff:
            _taken(api.identifier, api)
        if not diff:
            return api
        api.save()
        send_after_commit(signals.api_changed, api=api, changes=diff, actor=actor, at=now)
    return api


def _tokens_for_api(identifier: str):
    """The tokens whose audience names `identifier` (space-separated list: whole words only)."""
    return Token.objects.filter(
        Q(audience=identifier)
        | Q(audience__startswith=identifier + " ")
        | Q(audience__endswith=" " + identifier)
        | Q(audience__contains=" " + identifier + " ")
    )


def delete_api(api: Api, *, actor: Actor) -> int:
    """Delete an API and revoke the tokens issued for it (they would otherwise keep working at a
    resource server that introspects them). Returns how many were revoked. Sends `api_deleted`
    alone (its `tokens_revoked` count is the revocation's record, as with client_deleted)."""
    if api.is_default:
        raise PolicyError("The default API (this server's own) cannot be deleted.")
    now = timezone.now()
    with transaction.atomic():
        revoked, _at = _revoke_holding_locks(
            _tokens_for_api(api.identifier), actor=actor, reason="API deleted", criteria={}
        )
        api_id, identifier, name = api.pk, api.identifier, api.name
        api.delete()
        send_after_commit(
            signals.api_deleted,
            api_id=api_id,
            identifier=identifier,
            name=name,
            tokens_revoked=revoked,
            actor=actor,
            at=now,
        )
    return revoked
