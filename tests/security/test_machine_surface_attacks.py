"""The machine-facing surface attacked again (docs/security.md, "The machine-facing review"):
each test failed before the fix its docstring names."""

import pytest

from server.models import Token
from tests.security.test_rate_limiting import assert_throttled, client_credentials, form_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_a_flood_claiming_a_client_id_does_not_throttle_the_real_client_where_it_is_known(
    rate_limit_cache, client, confidential, settings, path
):
    """Anyone who knows a client_id (it is public) could keep the client throttled everywhere:
    the per-client request counter (`token_client`, `introspect_client`, `revoke_client`) counts
    every request that claims it, authenticated or not, and refused the real client too. It now
    spares the addresses the client authenticated from, as the secret-guessing lockout does."""
    scope = path.rsplit("/", 1)[1]
    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        f"{scope}_client": "4/60",
        "auth_failures_client_ip": "1000/900",
        "auth_failures_client": "1000/900",
    }
    app, secret = confidential
    data = {"token": "oat_nothing"} if scope != "token" else {"grant_type": "client_credentials"}

    def call(client_secret, ip):
        if scope == "token":
            return client_credentials(client, app.client_id, client_secret, ip=ip)
        return form_post(
            client,
            path,
            {**data, "client_id": app.client_id, "client_secret": client_secret},
            REMOTE_ADDR=ip,
        )

    # The real client, from its own address.
    assert call(secret, "192.0.2.10").status_code == 200
    # An attacker who knows only the client_id, from two addresses of their own.
    for n in range(3):
        assert call("ocs_not-the-secret", f"10.9.0.{n % 2}").status_code == 401
    assert_throttled(call("ocs_not-the-secret", "10.9.0.1"))
    assert_throttled(call(secret, "10.9.0.2"))  # a new address still waits for the window
    # The real client where it authenticated before is not throttled by the flood.
    answer = call(secret, "192.0.2.10")
    assert answer.status_code == 200, answer.content
    if scope == "token":
        assert Token.objects.filter(client=app).count() == 2
