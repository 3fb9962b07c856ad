"""RFC 6749 §2.3 / RFC 9700 §4.x: client authentication attacks (live server)."""

from datetime import timedelta

import pytest
import requests

from server import services
from server.actors import Actor
from server.models import Client, Token
from tests.security.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = Actor.system("tests")


def client_credentials(live, auth=None, data=None, params=None):
    return requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials", **(data or {})},
        params=params,
        auth=auth,
        timeout=10,
    )


def assert_invalid_client(response, *, sent_basic=True):
    if sent_basic:
        # RFC 6749 §5.2: a client that authenticated with the Authorization header MUST get 401.
        assert response.status_code == 401, response.text
    else:
        # RFC 6749 §5.2: otherwise the server MAY answer 401, or 400.
        assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert Token.objects.count() == 0


def test_client_authentication_wrong_secret_is_refused(live, confidential):
    app, secret = confidential
    assert_invalid_client(client_credentials(live, auth=basic(app.client_id, secret + "x")))
    assert_invalid_client(client_credentials(live, auth=basic(app.client_id, "")))
    assert_invalid_client(
        client_credentials(live, data={"client_id": app.client_id, "client_secret": secret[:-1]}),
        sent_basic=False,
    )


def test_client_authentication_unknown_client_is_refused(live, confidential):
    _, secret = confidential
    assert_invalid_client(client_credentials(live, auth=basic("no-such-client", secret)))


def test_client_authentication_with_an_expired_secret_after_rotation_is_refused(live, confidential):
    app, old_secret = confidential
    new_secret, *_ = services.rotate_client_secret(app, actor=ACTOR, grace=timedelta(0))
    assert_invalid_client(client_credentials(live, auth=basic(app.client_id, old_secret)))
    assert client_credentials(live, auth=basic(app.client_id, new_secret)).status_code == 200


def test_client_authentication_after_grace_period_ends_refuses_the_old_secret(live, confidential):
    app, old_secret = confidential
    services.rotate_client_secret(app, actor=ACTOR, grace=timedelta(hours=1))
    assert client_credentials(live, auth=basic(app.client_id, old_secret)).status_code == 200
    old_row = app.secrets.order_by("created_at").first()
    services.expire_client_secret(old_row, actor=ACTOR)
    Token.objects.all().delete()
    assert_invalid_client(client_credentials(live, auth=basic(app.client_id, old_secret)))


@pytest.mark.parametrize("status", [Client.Status.DISABLED, Client.Status.PENDING, Client.Status.REJECTED])
def test_client_authentication_of_an_inactive_client_is_refused(live, confidential, status):
    app, secret = confidential
    services.set_client_status(app, status, actor=ACTOR, reason="security test")
    assert_invalid_client(client_credentials(live, auth=basic(app.client_id, secret)))


def test_client_authentication_with_secret_in_the_query_string_is_refused(live, confidential):
    """Secrets in URLs end up in logs and Referer headers (RFC 6749 §2.3.1 forbids it)."""
    app, secret = confidential
    response = client_credentials(live, params={"client_id": app.client_id, "client_secret": secret})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    response = requests.post(
        live + "/oauth/token",
        params={"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert Token.objects.count() == 0


def test_client_authentication_with_two_methods_at_once_is_refused(live, confidential):
    app, secret = confidential
    response = client_credentials(
        live, auth=basic(app.client_id, secret), data={"client_id": app.client_id, "client_secret": secret}
    )
    # RFC 6749 §2.3 forbids more than one method; §5.2 names it invalid_request, 400.
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert Token.objects.count() == 0


def test_client_authentication_public_client_cannot_use_client_credentials(live, make_client):
    app, _ = make_client("SPA", client_type=Client.Type.PUBLIC)
    response = client_credentials(live, data={"client_id": app.client_id})
    # A public client cannot authenticate, so invalid_client; without an Authorization header
    # RFC 6749 §5.2 allows 401 or 400.
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    assert Token.objects.count() == 0
