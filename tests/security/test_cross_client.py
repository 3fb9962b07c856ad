"""Cross-client revocation and introspection; bearer tokens in URLs (RFC 6750 §5.3, RFC 9700)."""

import pytest
import requests

from tests.security.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)


def issue(live, client_id, secret, scope="profile"):
    response = requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=basic(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200
    return response.json()["access_token"]


def api_me(live, token, **kwargs):
    return requests.get(live + "/api/me", timeout=10, **kwargs)


@pytest.fixture
def two_clients(make_client):
    return make_client("Victim"), make_client("Other")


def test_cross_client_revoke_does_not_touch_another_clients_token(live, two_clients):
    (victim, victim_secret), (other, other_secret) = two_clients
    token = issue(live, victim.client_id, victim_secret)
    response = requests.post(
        live + "/oauth/revoke", data={"token": token}, auth=basic(other.client_id, other_secret), timeout=10
    )
    # RFC 7009 §2.2: another client's token is, to this client, an invalid token: 200, which does
    # not reveal whether the token exists.
    assert response.status_code == 200
    assert api_me(live, token, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_cross_client_introspect_reveals_nothing(live, two_clients):
    (victim, victim_secret), (other, other_secret) = two_clients
    token = issue(live, victim.client_id, victim_secret)
    response = requests.post(
        live + "/oauth/introspect",
        data={"token": token},
        auth=basic(other.client_id, other_secret),
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {"active": False}
    own = requests.post(
        live + "/oauth/introspect",
        data={"token": token},
        auth=basic(victim.client_id, victim_secret),
        timeout=10,
    )
    assert own.json()["active"] is True


def test_token_in_url_query_is_refused_at_resources(live, two_clients):
    (victim, victim_secret), _ = two_clients
    token = issue(live, victim.client_id, victim_secret)
    response = api_me(live, token, params={"access_token": token})
    # RFC 6750 §3.1: an unsupported parameter is invalid_request, 400.
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert token not in response.text
    assert "client_id" not in response.json()


def test_token_in_form_body_is_refused_at_resources(live, two_clients):
    (victim, victim_secret), _ = two_clients
    token = issue(live, victim.client_id, victim_secret)
    response = requests.post(live + "/api/me", data={"access_token": token}, timeout=10)
    # The form-body method (RFC 6750 §2.2) is not supported: the request has no credentials, so
    # 401 with a bare Bearer challenge (RFC 6750 §3.1); never served.
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "client_id" not in response.text


def test_token_in_query_and_header_at_once_is_refused(live, two_clients):
    (victim, victim_secret), _ = two_clients
    token = issue(live, victim.client_id, victim_secret)
    response = api_me(
        live, token, params={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    # RFC 6750 §2 and §3.1: more than one method is invalid_request, 400.
    assert response.status_code == 400
