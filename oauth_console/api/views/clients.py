"""Clients: list, retrieve, create, PUT (create or replace, idempotent), PATCH, delete, and the
status changes (disable, enable, approve, reject)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from oauth_console.api import approval_serializers as approving
from oauth_console.api import selectors
from oauth_console.api import serializers as s
from oauth_console.api.auth import READ_CLIENTS, WRITE_CLIENTS
from oauth_console.api.base import OperatorAPIView
from oauth_console.api.idempotency import idempotent
from oauth_console.api.pagination import OffsetPage
from oauth_console.api.problems import Problem, field_problem
from server import services
from server.models import Client, is_well_formed_client_id

Status = Client.Status
TAG = ["clients"]
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Retrying with the same key returns the first answer without a second write (24 h).",
)


def _owner(username: str | None):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise field_problem("owner", "There is no user with this user name.")
    return user


def _settings(data: dict) -> dict:
    return {name: data[name] for name in services.CLIENT_FIELDS_EDITABLE if name in data}


def _created(client: Client, secret: str | None) -> Response:
    return Response({**s.ClientOut(client).data, "client_secret": secret}, status=201)


class ClientList(OperatorAPIView):
    scopes = {"GET": (READ_CLIENTS,), "POST": (WRITE_CLIENTS,)}
    pagination_class = OffsetPage
    serializer_class = s.ClientOut

    @extend_schema(tags=TAG, operation_id="clients_list", parameters=[s.ClientQuery])
    def get(self, request):
        filters = self.query_values(s.ClientQuery)
        filters.pop("limit", None), filters.pop("offset", None)
        page = self.paginate_queryset(selectors.clients(**filters))
        return self.get_paginated_response(s.ClientOut(page, many=True).data)

    @extend_schema(
        tags=TAG,
        operation_id="clients_create",
        request=s.ClientCreateIn,
        responses={201: s.ClientCreatedOut},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request):
        return idempotent(request, request.user.label, self._create)

    def _create(self) -> Response:
        data = self.validated(s.ClientCreateIn)
        client, secret = services.create_client(
            actor=self.actor,
            client_id=data.get("client_id"),
            client_type=data["client_type"],
            owner=_owner(data["owner"]),
            source=Client.Source.OPERATOR,
            operator_scopes_allowed=self.request.user.operator_scopes,
            **_settings(data),
        )
        return _created(client, secret)


class ClientDetail(OperatorAPIView):
    scopes = {
        "GET": (READ_CLIENTS,),
        "PUT": (WRITE_CLIENTS,),
        "PATCH": (WRITE_CLIENTS,),
        "DELETE": (WRITE_CLIENTS,),
    }
    serializer_class = s.ClientOut

    @extend_schema(tags=TAG, operation_id="clients_retrieve")
    def get(self, request, client_id: str):
        return Response(s.ClientOut(selectors.client(client_id)).data)

    @extend_schema(
        tags=TAG,
        operation_id="clients_put",
        request=s.ClientIn,
        responses={200: s.ClientOut, 201: s.ClientCreatedOut},
        description="Create the client with this client_id, or set every setting of the existing one "
        "(fields left out get their defaults). Repeating it changes nothing and records nothing.",
    )
    def put(self, request, client_id: str):
        data = self.validated(s.ClientIn)
        held = request.user.operator_scopes
        with transaction.atomic():
            # An id no client can have names none (a NUL would fail the query on PostgreSQL):
            # create_client refuses it with the client_id rule's message.
            existing = None
            if is_well_formed_client_id(client_id):
                existing = Client.objects.select_for_update().filter(client_id=client_id).first()
            if existing is None:
                client, secret = services.create_client(
                    actor=self.actor,
                    client_id=client_id,
                    client_type=data["client_type"],
                    owner=_owner(data["owner"]),
                    source=Client.Source.OPERATOR,
                    operator_scopes_allowed=held,
                    **_settings(data),
                )
                return _created(client, secret)
            given = request.data
            if "client_type" in given and data["client_type"] != existing.client_type:
                raise field_problem(
                    "client_type", "A client's type cannot be changed; create another client."
                )
            owner = existing.owner.get_username() if existing.owner else None
            if "owner" in given and data["owner"] != owner:
                raise field_problem("owner", "The owner cannot be changed through the API.")
            client = services.update_client(
                existing, actor=self.actor, operator_scopes_allowed=held, **_settings(data)
            )
        return Response(s.ClientOut(client).data)

    @extend_schema(tags=TAG, operation_id="clients_patch", request=s.ClientSettingsIn)
    def patch(self, request, client_id: str):
        client = selectors.client(client_id)
        data = self.validated(s.ClientSettingsIn, partial=True)
        client = services.update_client(
            client, actor=self.actor, operator_scopes_allowed=request.user.operator_scopes, **data
        )
        return Response(s.ClientOut(client).data)

    @extend_schema(tags=TAG, operation_id="clients_delete", responses={204: None})
    def delete(self, request, client_id: str):
        services.delete_client(selectors.client(client_id), actor=self.actor)
        return Response(status=204)


class ClientStatusChange(OperatorAPIView):
    """POST /clients/{id}/{action}: one status change, with a reason for the audit log."""

    scopes = {"POST": (WRITE_CLIENTS,)}
    serializer_class = s.ClientOut
    # action -> (the statuses it may start from, the status it sets)
    action = ""
    ACTIONS = {
        "disable": ((Status.ACTIVE, Status.PENDING, Status.DISABLED), Status.DISABLED),
        "enable": ((Status.DISABLED, Status.ACTIVE), Status.ACTIVE),
        "approve": ((Status.PENDING,), Status.ACTIVE),
        "reject": ((Status.PENDING,), Status.REJECTED),
    }

    @extend_schema(tags=TAG, request=s.ReasonIn, responses=s.ClientOut)
    def post(self, request, client_id: str):
        client = selectors.client(client_id)
        reason = self.validated(s.ReasonIn)["reason"]
        return self._change(client, reason)

    def _change(self, client: Client, reason: str, **shown) -> Response:
        starts, target = self.ACTIONS[self.action]
        if client.status not in starts:
            raise Problem(
                409,
                "conflict",
                f"A {client.status} client cannot be {self.action}d (it must be {' or '.join(starts)}).",
            )
        if client.status != target:
            try:
                client = services.set_client_status(client, target, actor=self.actor, reason=reason, **shown)
            except services.ChangedSinceShown as error:
                # set_client_status read the client again: the answer shows it as it is now.
                raise Problem(
                    409, "settings-changed", str(error), extra={"client": s.ClientOut(client).data}
                ) from None
        return Response(s.ClientOut(client).data)


class ClientApproval(ClientStatusChange):
    """POST /clients/{id}/approve: approves the settings the caller read, and only those."""

    @extend_schema(
        tags=TAG,
        request=approving.ApproveIn,
        responses={
            200: s.ClientOut,
            409: OpenApiResponse(
                approving.SettingsChangedOut, description="The settings changed since they were read."
            ),
        },
        description="Approve a pending client with the settings you reviewed: send back the "
        "`settings_fingerprint` of the client you read. If its settings changed since (its registrant "
        "may change them until then), the answer is 409 `settings-changed` with the client as it is "
        "now under `client`, and nothing is approved. Without `settings_fingerprint`, the client is "
        "approved with its settings as they are then.",
    )
    def post(self, request, client_id: str):
        client = selectors.client(client_id)
        data = self.validated(approving.ApproveIn)
        # Optional, so that callers written before it keep working: without it, the settings
        # are approved as they are (what such a caller asked for); with it, only as they were read.
        return self._change(client, data["reason"], reviewed=data.get("settings_fingerprint"))


def status_view(action: str):
    view = ClientApproval if action == "approve" else ClientStatusChange
    return view.as_view(action=action)


__all__ = ["ClientDetail", "ClientList", "status_view"]
