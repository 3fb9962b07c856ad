"""The back-channel logout fields (`backchannel_logout_uri`, `backchannel_logout_session_required`)
on the operator's doors: the client page, import/export (a round trip keeps them) and the operator
API's answer. Hostile values at every door: tests/properties/hostile (a row in FIELDS)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from server import services
from server.actors import Actor
from server.models import Client

from .test_client_admin import add_url, create_form
from .test_import_export import confirm, export, preview

pytestmark = pytest.mark.django_db

BCL = "https://rp.example.com/backchannel-logout"


def test_the_client_page_stores_a_backchannel_uri_and_refuses_plain_http(ops):
    page = ops.get(add_url())
    assert page.status_code == 200 and b'name="backchannel_logout_uri"' in page.content
    refused = ops.post(
        add_url(), create_form(name="Logout RP", backchannel_logout_uri="http://rp.example.com/b")
    )
    assert refused.status_code == 400 and b"use https" in refused.content
    assert not Client.objects.exists()

    form = create_form(name="Logout RP", backchannel_logout_uri=BCL, backchannel_logout_session_required="on")
    assert ops.post(add_url(), form).status_code == 302
    client = Client.objects.get(name="Logout RP")
    assert (client.backchannel_logout_uri, client.backchannel_logout_session_required) == (BCL, True)


def test_export_then_import_keeps_the_backchannel_settings(ops, make_client):
    client, _ = make_client("Logout RP", scope=["openid"])
    services.update_client(
        client,
        actor=Actor.system("tests"),
        backchannel_logout_uri=BCL,
        backchannel_logout_session_required=True,
    )
    exported = export(ops, "csv", extra=("backchannel_logout_uri", "backchannel_logout_session_required"))
    assert BCL.encode() in exported
    Client.objects.all().delete()
    response = preview(ops, SimpleUploadedFile("clients.csv", exported, content_type="text/csv"))
    assert not response.context["result"].has_validation_errors(), response.context["result"].invalid_rows
    confirm(ops, response)
    again = Client.objects.get(client_id=client.client_id)
    assert (again.backchannel_logout_uri, again.backchannel_logout_session_required) == (BCL, True)
