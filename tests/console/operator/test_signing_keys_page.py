"""The signing-key page (oauth_console/keys): the keys with their dates and fingerprints, never a
private key; "rotate now" and "revoke" each behind a confirmation page, through the services;
read-only operators see, operators change, nobody adds, edits, deletes or exports a key."""

import pytest
from django.urls import NoReverseMatch, reverse

from oauth_console.audit.models import AuditEvent
from server import key_crypto, services
from server.actors import Actor
from server.models import SigningKey
from server.oauth2.keys import public_key_fingerprint

pytestmark = pytest.mark.django_db

LIST = "/admin/server/signingkey/"
ROTATE = "/admin/server/signingkey/rotate/"
ACTOR = Actor.system("tests")


def revoke_url(key) -> str:
    return reverse("admin:server_signingkey_revoke", args=[key.pk])


@pytest.fixture(autouse=True)
def committed(django_capture_on_commit_callbacks):
    """Run each test's after-commit callbacks (the services' events, hence the audit log) as the
    test ends its block: the test's own transaction never commits."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def keys(committed):
    """An active RS256 key, a retired one before it, a next one after it, and a revoked one."""
    retired = committed(lambda: services.signing_key_for("RS256"))
    active = committed(
        lambda: services.activate_signing_key(services.create_signing_key(actor=ACTOR), actor=ACTOR)
    )
    upcoming = committed(lambda: services.create_signing_key(actor=ACTOR))
    revoked = committed(
        lambda: services.revoke_signing_key(services.create_signing_key(actor=ACTOR), actor=ACTOR, reason="t")
    )
    return {
        "active": active,
        "next": upcoming,
        "retired": SigningKey.objects.get(pk=retired.pk),
        "revoked": revoked,
    }


def private_parts(key) -> list[str]:
    """Strings that would only be on a page that leaked the key's private half."""
    private = key_crypto.decrypt_private_key(key.kid, key.private_key_encrypted)
    return [key.private_key_encrypted[:40], private[:60]]


def test_the_list_shows_every_key_its_state_dates_and_fingerprint_and_no_private_key(ops, keys):
    page = ops.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    for state, key in keys.items():
        assert key.kid in html
        assert f"key-state-{state}" in html
        assert public_key_fingerprint(key.public_jwk)[:11] in html
        for secret in private_parts(key):
            assert secret not in html
    # Current first: active, next, retired, revoked.
    positions = [html.index(keys[state].kid) for state in ("active", "next", "retired", "revoked")]
    assert positions == sorted(positions)
    assert 'href="/admin/server/signingkey/rotate/"' in html
    assert html.count("revoke-key") == 3  # not on the revoked key
    assert "Recent key events" in html and "Signing key revoked" in html


def test_a_key_page_is_read_only_with_its_public_key_and_whole_fingerprint(ops, keys):
    key = keys["active"]
    page = ops.get(reverse("admin:server_signingkey_change", args=[key.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert public_key_fingerprint(key.public_jwk) in html
    assert "&quot;kid&quot;: &quot;" + key.kid in html and "&quot;use&quot;: &quot;sig&quot;" in html
    for secret in private_parts(key):
        assert secret not in html
    assert 'name="_save"' not in html  # nothing to save
    assert (
        ops.post(reverse("admin:server_signingkey_change", args=[key.pk]), {"state": "revoked"}).status_code
        == 403
    )
    assert SigningKey.objects.get(pk=key.pk).state == "active"


def test_nobody_adds_deletes_or_exports_keys_here(ops, keys, operator):
    from django.test import Client as HttpClient

    root = HttpClient()
    root.force_login(operator)  # a superuser: every permission Django has
    for http in (ops, root):
        assert http.get("/admin/server/signingkey/add/").status_code == 403
        assert http.get(reverse("admin:server_signingkey_delete", args=[keys["next"].pk])).status_code == 403
    with pytest.raises(NoReverseMatch):
        reverse("admin:server_signingkey_export")
    assert SigningKey.objects.count() == 4


def test_rotate_now_confirms_then_rotates_through_the_service(ops, keys, committed):
    page = ops.get(ROTATE)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"The next key {keys['next'].kid} starts signing RS256 ID tokens at once." in html
    assert f"The active key {keys['active'].kid} is retired" in html
    assert SigningKey.objects.get(pk=keys["next"].pk).state == "next"  # the GET changed nothing

    response = committed(lambda: ops.post(ROTATE, {"alg": ""}))
    assert response.status_code == 302 and response["Location"] == LIST
    assert SigningKey.objects.get(pk=keys["next"].pk).state == "active"
    assert SigningKey.objects.get(pk=keys["active"].pk).state == "retired"
    assert SigningKey.objects.filter(state="next").count() == 1
    events = AuditEvent.objects.filter(event_type="signing_key_activated").order_by("-id")
    assert events[0].detail["kid"] == keys["next"].kid
    assert events[0].detail["retired_kid"] == keys["active"].kid
    assert events[0].actor_label.endswith(":olga")


def test_rotate_now_without_a_next_key_only_publishes_one(ops):
    first = services.signing_key_for("RS256")
    assert "No next key is published yet" in ops.get(ROTATE).content.decode()
    ops.post(ROTATE, {"alg": "RS256"})
    assert SigningKey.objects.get(pk=first.pk).state == "active"
    assert SigningKey.objects.filter(state="next").count() == 1


def test_rotate_an_unknown_algorithm_is_refused_with_the_form(ops, keys):
    response = ops.post(ROTATE, {"alg": "none"})
    assert response.status_code == 400
    assert SigningKey.objects.get(pk=keys["next"].pk).state == "next"


def test_revoke_asks_for_the_kid_and_a_reason_then_revokes(ops, keys, committed):
    key = keys["active"]
    page = ops.get(revoke_url(key))
    assert page.status_code == 200
    html = page.content.decode()
    assert "cannot be undone" in html and "stops verifying" in html
    assert f"signed by the next key {keys['next'].kid}" in html

    wrong = ops.post(revoke_url(key), {"reason": "leaked", "confirm_kid": "abcdefgh"})
    assert wrong.status_code == 400
    assert "not the beginning of this key" in wrong.content.decode()
    assert ops.post(revoke_url(key), {"reason": "", "confirm_kid": key.kid[:8]}).status_code == 400
    assert SigningKey.objects.get(pk=key.pk).state == "active"

    response = committed(
        lambda: ops.post(revoke_url(key), {"reason": "private key in a backup", "confirm_kid": key.kid[:8]})
    )
    assert response.status_code == 302
    assert SigningKey.objects.get(pk=key.pk).state == "revoked"
    event = AuditEvent.objects.filter(event_type="signing_key_revoked").latest("id")
    assert event.detail == {
        "kid": key.kid,
        "alg": "RS256",
        "state": "revoked",
        "previous_state": "active",
        "reason": "private key in a backup",
    }
    # Unpublished at once; the next ID token is signed by the next key.
    assert key.kid not in ops.get("/oauth/jwks").content.decode()
    assert services.signing_key_for("RS256").pk == keys["next"].pk


def test_revoking_a_revoked_key_changes_nothing(ops, keys):
    response = ops.post(revoke_url(keys["revoked"]), {"reason": "x", "confirm_kid": keys["revoked"].kid[:8]})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event_type="signing_key_revoked").count() == 1


def test_read_only_operators_see_the_keys_but_cannot_rotate_or_revoke(readonly, keys):
    page = readonly.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "rotate-keys" not in html and "revoke-key" not in html
    assert readonly.get(ROTATE).status_code == 403
    assert readonly.post(ROTATE, {"alg": ""}).status_code == 403
    key = keys["active"]
    assert readonly.post(revoke_url(key), {"reason": "x", "confirm_kid": key.kid[:8]}).status_code == 403
    assert SigningKey.objects.get(pk=key.pk).state == "active"
    assert SigningKey.objects.get(pk=keys["next"].pk).state == "next"


def test_staff_without_the_permission_do_not_see_the_page(staff_without_permissions, keys):
    from django.test import Client as HttpClient

    http = HttpClient()
    http.force_login(staff_without_permissions)
    assert http.get(LIST).status_code == 403
    assert http.get(ROTATE).status_code == 403


def test_the_key_events_link_opens_the_audit_log_filtered_to_key_events(ops, keys, operator):
    from django.test import Client as HttpClient

    assert "key-audit-log" not in ops.get(LIST).content.decode()  # operators do not read the log
    ops = HttpClient()
    ops.force_login(operator)  # a superuser reads it
    html = ops.get(LIST).content.decode()
    assert "event_type__in=" in html
    url = html.split('class="key-audit-log"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    log = ops.get(url)
    assert log.status_code == 200
    text = log.content.decode()
    assert "Signing key revoked" in text and "Signing key activated" in text
