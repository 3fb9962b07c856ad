"""Smaller console defects of issue 11, item 20: labels, tabs, badges, help texts, counts."""

import pytest
from django.urls import reverse

from server.models import Client
from server.services import set_client_status

pytestmark = pytest.mark.django_db


def test_bulk_revoke_highlights_the_tokens_tab_and_names_criteria_in_words(ops, make_client, make_token):
    client, _ = make_client()
    make_token(client)
    url = reverse("admin:server_token_bulk_revoke")
    page = ops.get(url)
    assert page.context["console_section"] == "tokens"
    assert 'nav-link active" href="/admin/server/token/"' in page.content.decode()

    confirm = ops.post(url, {"client_id": client.client_id, "reason": "test"})
    body = confirm.content.decode()
    assert confirm.context["console_section"] == "tokens"
    assert ">client_id<" not in body
    assert ">Client<" in body


def test_a_disabled_client_shows_a_status_badge_in_the_list_and_on_its_page(ops, make_client):
    client, _ = make_client("Switched off")
    from server.actors import Actor

    set_client_status(client, Client.Status.DISABLED, actor=Actor.system("tests"), reason="")
    listing = ops.get(reverse("admin:server_client_changelist")).content.decode()
    assert 'class="status-badge status-disabled">Disabled</span>' in listing
    page = ops.get(reverse("admin:server_client_change", args=[client.pk])).content.decode()
    assert 'class="status-badge status-disabled">Disabled</span>' in page


def test_require_consent_and_introspect_any_token_explain_themselves(ops, make_client):
    client, _ = make_client()
    add = ops.get(reverse("admin:server_client_add")).context["form"]
    change = ops.get(reverse("admin:server_client_change", args=[client.pk])).context["adminform"].form
    for form in (add, change):
        assert "every time" in str(form.fields["require_consent"].help_text)
        assert "other clients" in str(form.fields["can_introspect_any_token"].help_text)


def test_the_admin_delete_confirmation_says_how_many_tokens_are_active(ops, make_client, make_token):
    client, _ = make_client()
    for _ in range(2):
        make_token(client)
    make_token(client, revoked=True)
    confirm = ops.get(reverse("admin:server_client_delete", args=[client.pk]))
    counts = dict(confirm.context["model_count"])
    assert counts["tokens"] == 3
    assert counts["active tokens (they stop working at once)"] == 2
    assert "Active tokens (they stop working at once): 2" in confirm.content.decode()
