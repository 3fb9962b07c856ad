"""Clients: create, change settings, change status, delete.

Each write runs in one transaction and sends one signal after commit; a refused setting raises
`policies.PolicyError` before anything is written.
"""

from collections.abc import Iterable
from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from server import credentials, policies, signals
from server.actors import Actor
from server.models import MAX_CLIENT_ID_LENGTH, Client, Token, is_well_formed_client_id
from server.oauth2.digits import looks_numeric
from server.services._after_commit import send_after_commit
from server.services.secrets import _new_secret
from server.services.shown_values import ChangedSinceShown, fingerprint

CLIENT_FIELDS_EDITABLE = (
    "name",
    "description",
    "redirect_uris",
    "grant_types",
    "scope",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "contacts",
    "require_consent",
    "can_introspect_any_token",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    *policies.OIDC_METADATA_FIELDS,
)


def create_client(
    *,
    name: str,
    actor: Actor,
    client_type: str = Client.Type.CONFIDENTIAL,
    redirect_uris: Iterable[str] = (),
    grant_types: Iterable[str] = ("authorization_code", "refresh_token"),
    scope: Iterable[str] = (),
    owner=None,
    status: str = Client.Status.ACTIVE,
    source: str = Client.Source.OPERATOR,
    description: str = "",
    client_uri: str = "",
    logo_uri: str = "",
    policy_uri: str = "",
    tos_uri: str = "",
    contacts: list | None = None,
    token_endpoint_auth_method: str | None = None,
    require_consent: bool = False,
    can_introspect_any_token: bool = False,
    client_id: str | None = None,
    id_token_signed_response_alg: str | None = None,
    subject_type: str | None = None,
    default_max_age: int | None = None,
    require_auth_time: bool = False,
    post_logout_redirect_uris: Iterable[str] = (),
    operator_scopes_allowed: Iterable[str] = (),
    jwks: dict | None = None,
    jwks_uri: str = "",
    backchannel_logout_uri: str = "",
    backchannel_logout_session_required: bool = False,
    frontchannel_logout_uri: str = "",
    frontchannel_logout_session_required: bool = False,
    userinfo_signed_response_alg: str | None = None,
    token_endpoint_auth_signing_alg: str | None = None,
    sector_identifier_uri: str = "",
) -> tuple[Client, str | None]:
    """Create a client; return it and its plain-text secret (None for public clients and for
    private_key_jwt clients, which authenticate with their keys: `jwks` or `jwks_uri`).

    The secret exists in clear only in this return value: show it once, store it nowhere.
    `client_id` is generated unless given (imports keep their ids); a taken id raises PolicyError.
    `operator_scopes_allowed`: the operator scopes (console:...) the calling door may grant.
    """
    valid = policies.validate_client_settings(
        client_type=client_type,
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        scope=scope,
        token_endpoint_auth_method=token_endpoint_auth_method,
        name=name or "",
        client_uri=client_uri,
        logo_uri=logo_uri,
        policy_uri=policy_uri,
        tos_uri=tos_uri,
        id_token_signed_response_alg=id_token_signed_response_alg,
        subject_type=subject_type,
        default_max_age=default_max_age,
        require_auth_time=require_auth_time,
        post_logout_redirect_uris=post_logout_redirect_uris,
        operator_scopes_allowed=operator_scopes_allowed,
        jwks=jwks,
        jwks_uri=jwks_uri,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        frontchannel_logout_uri=frontchannel_logout_uri,
        frontchannel_logout_session_required=frontchannel_logout_session_required,
        userinfo_signed_response_alg=userinfo_signed_response_alg,
        token_endpoint_auth_signing_alg=token_endpoint_auth_signing_alg,
        sector_identifier_uri=sector_identifier_uri or "",
    )
    if client_id is not None:
        client_id = client_id.strip()
        if not is_well_formed_client_id(client_id):
            raise policies.PolicyError(
                f"A client_id is 1 to {MAX_CLIENT_ID_LENGTH} printable characters without spaces.",
                field="client_id",
            )
        if "/" in client_id or client_id in (".", ".."):
            # Pages link to an app by its id in the address (/developers/apps/<id>/, the end
            # user's /account/apps/<id>/revoke/, /api/v1/clients/<id>): "../../admin" made those
            # links end elsewhere on the site (a browser resolves dot segments), "app/edit" at
            # app "app"'s edit page, and the operator API could not name such a client at all.
            raise policies.PolicyError(
                "A client_id cannot contain a slash, or be . or ..: pages name an app by its id "
                "in their address.",
                field="client_id",
            )
        if looks_numeric(client_id):
            # A user's public `sub` is their primary key as text, and a client_credentials JWT
            # access token's `sub` is the client_id (RFC 9068 §2.2): "42" would read as user 42
            # at a resource server (§5), and so would "٤٢" at one that calls int(). Generated ids
            # are never all digits.
            raise policies.PolicyError(
                "A client_id cannot be only digits: it would look like a user's subject identifier.",
                field="client_id",
            )
    now = timezone.now()
    with transaction.atomic():
        if client_id is not None and Client.objects.filter(client_id=client_id).exists():
            raise policies.PolicyError(f"The client_id {client_id!r} is already taken.", field="client_id")
        client = Client.objects.create(
            client_id=client_id or credentials.generate_client_id(),
            **asdict(valid),
            description=description,
            owner=owner,
            client_type=client_type,
            status=status,
            source=source,
            contacts=contacts or [],
            require_consent=require_consent,
            can_introspect_any_token=can_introspect_any_token,
            created_at=now,
        )
        secret = None if client.is_public or client.uses_private_key_jwt else _new_secret(client, now=now)[0]
        send_after_commit(signals.client_created, client=client, secret=secret, actor=actor, at=now)
    return client, secret


def update_client(
    client: Client, *, actor: Actor, operator_scopes_allowed: Iterable[str] = (), **changes
) -> Client:
    """Change a client's editable settings (CLIENT_FIELDS_EDITABLE); validates like create_client.
    `operator_scopes_allowed` must cover every operator scope the client holds (a door that
    could not grant one cannot take over a client holding it: its keys, auth method, scopes) and
    every new one."""
    policies.check_operator_scopes_within(client.scope_list, operator_scopes_allowed)
    diff = changed_settings(client, changes, operator_scopes_allowed=operator_scopes_allowed)
    if not diff:
        return client
    now = timezone.now()
    with transaction.atomic():
        for field, (_old, new) in diff.items():
            setattr(client, field, new)
        client.save(update_fields=[*diff, "updated_at"])
        send_after_commit(signals.client_changed, client=client, changes=diff, actor=actor, at=now)
    return client


def changed_settings(
    client: Client, changes: dict, *, operator_scopes_allowed: Iterable[str] = ()
) -> dict[str, list]:
    """Validate `changes` as the settings the client would have; return {field: [old, new]} of
    the fields whose stored value would change. Raises PolicyError."""
    # The sector identifier is derived by the policy (below), never taken as given; a diff
    # passed back in (`propose_client_changes`) may hold it.
    unknown = set(changes) - set(CLIENT_FIELDS_EDITABLE) - {"sector_identifier"}
    if unknown:
        raise policies.PolicyError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changes = dict(changes)

    def listed(field, current):
        value = changes.get(field, current)
        return value.split() if isinstance(value, str) else list(value)

    valid = policies.validate_client_settings(
        client_type=client.client_type,
        redirect_uris=listed("redirect_uris", client.redirect_uris),
        grant_types=listed("grant_types", client.grant_types),
        scope=listed("scope", client.scope),
        token_endpoint_auth_method=changes.get(
            "token_endpoint_auth_method", client.token_endpoint_auth_method
        ),
        # The values the client will have, changed or not: a stored value from before the
        # policy is refused too, so an edit cannot keep a hostile link alive.
        name=changes.get("name", client.name) or "",
        **{
            field: changes.get(field, getattr(client, field)) or ""
            for field in policies.CLIENT_WEB_URI_FIELDS
        },
        id_token_signed_response_alg=changes.get(
            "id_token_signed_response_alg", client.id_token_signed_response_alg
        ),
        subject_type=changes.get("subject_type", client.subject_type),
        default_max_age=changes.get("default_max_age", client.default_max_age),
        require_auth_time=changes.get("require_auth_time", client.require_auth_time),
        post_logout_redirect_uris=listed("post_logout_redirect_uris", client.post_logout_redirect_uris),
        # What the client holds already stays; only an operator's door adds operator scopes.
        operator_scopes_allowed={*operator_scopes_allowed, *client.scope_list},
        jwks=changes.get("jwks", client.jwks),
        jwks_uri=changes.get("jwks_uri", client.jwks_uri) or "",
        backchannel_logout_uri=changes.get("backchannel_logout_uri", client.backchannel_logout_uri) or "",
        backchannel_logout_session_required=changes.get(
            "backchannel_logout_session_required", client.backchannel_logout_session_required
        ),
        frontchannel_logout_uri=changes.get("frontchannel_logout_uri", client.frontchannel_logout_uri) or "",
        frontchannel_logout_session_required=changes.get(
            "frontchannel_logout_session_required", client.frontchannel_logout_session_required
        ),
        userinfo_signed_response_alg=changes.get(
            "userinfo_signed_response_alg", client.userinfo_signed_response_alg
        ),
        token_endpoint_auth_signing_alg=changes.get(
            "token_endpoint_auth_signing_alg", client.token_endpoint_auth_signing_alg
        ),
        sector_identifier_uri=changes.get("sector_identifier_uri", client.sector_identifier_uri) or "",
        stored_sector=policies.StoredSector.of(client),
    )
    changes.update(asdict(valid))
    return {
        field: [getattr(client, field), value]
        for field, value in changes.items()
        if getattr(client, field) != value
    }


def settings_fingerprint(client: Client) -> str:
    """A digest of the client's settings (every one its registrant or an operator may change,
    CLIENT_FIELDS_EDITABLE): an approval page shows them and posts this back, so that approving
    a pending app approves the settings the operator saw (`set_client_status(reviewed=...)`)."""
    return fingerprint({field: getattr(client, field) for field in CLIENT_FIELDS_EDITABLE})


def set_client_status(
    client: Client, status: str, *, actor: Actor, reason: str = "", reviewed: str | None = None
) -> Client:
    """Activate, approve, disable or reject a client. A client that is not active gets no tokens
    and its existing tokens stop validating at once; nothing is deleted, so enabling again
    restores the tokens that have not expired.

    `reviewed`: the `settings_fingerprint` of the client as the operator was shown it (every
    operator's approval passes one: a pending app's registrant may change its settings until the
    click). The settings are read locked and, if they are not those any more, ChangedSinceShown
    (a PolicyError) is raised and nothing changes. None: the status whatever the settings are."""
    if status not in Client.Status.values:
        raise policies.PolicyError(f"Unknown status {status!r}.", field="status")
    old = client.status
    if old == status and client.status_reason == reason:
        return client
    now = timezone.now()
    with transaction.atomic():
        if reviewed is not None:
            # The settings as they are now, locked until the status is written: the registrant's
            # edit (services.propose_client_changes) takes the same lock.
            client.refresh_from_db(from_queryset=Client.objects.select_for_update())
            if reviewed != settings_fingerprint(client):
                raise ChangedSinceShown(
                    f"The settings of {client.name} changed after they were shown to you; review them again."
                )
            old = client.status
            if old == status and client.status_reason == reason:
                return client
        Client.objects.filter(pk=client.pk).update(status=status, status_reason=reason[:500], updated_at=now)
        client.status, client.status_reason = status, reason[:500]
        send_after_commit(
            signals.client_status_changed,
            client=client,
            old_status=old,
            new_status=status,
            reason=reason,
            actor=actor,
            at=now,
        )
    return client


def delete_client(client: Client, *, actor: Actor) -> int:
    """Delete a client with its secrets, codes and tokens; return how many active tokens it had."""
    now = timezone.now()
    client_id, name = client.client_id, client.name
    with transaction.atomic():
        active = Token.objects.filter(client=client, revoked_at__isnull=True, expires_at__gt=now).count()
        # One DELETE for the tokens: Django's cascade would load every token to clear `parent`
        # links (all within this client's own rows, so nothing outside dangles).
        tokens = Token.objects.filter(client=client)
        tokens._raw_delete(tokens.db)
        client.delete()
        send_after_commit(
            signals.client_deleted, client_id=client_id, name=name, tokens_revoked=active, actor=actor, at=now
        )
    return active
