"""Properties of refresh-token rotation at the HTTP level: a chain of refreshes never widens.

Random client scopes, a random first grant (through the production `/oauth/authorize` → consent →
`/oauth/token`), then a random chain of steps on `/oauth/token`: refreshes asking for no scope, an
empty one, a subset of the current scope (reordered, duplicated), the same, more, or scopes that
do not exist; and replays of refresh tokens already rotated. Confidential and public clients. For
every step (docs/security.md "Refresh token", RFC 6749 §6, RFC 9700 §4.14):

- a refresh with no scope gets the scope of the refresh token it presents, one with a scope within
  it gets exactly that scope; either way the issued scope ⊆ the previous one, so along the chain
  every token's scope ⊆ the first grant's ⊆ the client's. What the token endpoint answers is what
  introspection (a resource server's view) reports;
- a refresh asking for anything beyond the presented token's scope is 400 `invalid_scope` and
  spends nothing: the same refresh token works at the next step;
- every successful refresh rotates: the presented refresh token is spent, a new one is issued;
- presenting a rotated refresh token again is 400 `invalid_grant` and revokes the whole family:
  the live refresh token is refused from then on, and every access token of the chain is inactive.

The consent property (test_consent_scope.py) checks a single refresh step; this one checks chains.
"""

import itertools
import secrets

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from server.models import Client
from tests.server.helpers import basic_auth, exchange_code, form, get_code

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SCOPES = ["profile", "email", "read", "write"]
# Each example's requests come from an address of their own: the token and introspection
# endpoints' per-address limits would otherwise stop a long `make fuzz` run.
_ADDRESSES = (f"10.17.{100 + n // 250}.{n % 250 + 1}" for n in itertools.count())


def scope_subsets(pool, min_size=1):
    return st.lists(st.sampled_from(sorted(pool)), unique=True, min_size=min_size)


@st.composite
def requested_scopes(draw, current: set[str]):
    """A refresh request's `scope` for a token holding `current`: None (absent) or a string,
    messy (reordered, duplicated, double spaces) and narrower, the same, wider or unrelated."""
    kind = draw(
        st.sampled_from(
            ["absent", "absent", "empty", "blank", "narrower", "narrower", "narrower", "same", "wider", "any"]
        )
    )
    if kind == "absent":
        return None
    if kind == "empty":
        return ""
    if kind == "blank":
        return draw(st.sampled_from([" ", "  "]))
    if kind == "narrower" and current:
        names = draw(scope_subsets(current))
    elif kind == "wider":
        outside = sorted({*SCOPES, "admin"} - current)
        names = [*current, draw(st.sampled_from(outside))]
    elif kind == "any":
        names = draw(st.lists(st.sampled_from([*SCOPES, "admin"]), min_size=1, max_size=5))
    else:
        names = sorted(current)
    names = draw(st.permutations(names)) + draw(st.lists(st.sampled_from(names), max_size=2))
    return draw(st.sampled_from([" ", "  "])).join(names)


def _split(scope: str | None) -> set[str]:
    return set((scope or "").split())


def _refresh(http, client: Client, secret: str | None, refresh_token: str, scope: str | None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope is not None:
        data["scope"] = scope
    if secret is None:
        data["client_id"] = client.client_id
        return form(http, "/oauth/token", data)
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


def _introspect(http, resource_server, access_token: str) -> dict:
    rs_client, rs_secret = resource_server
    response = form(
        http,
        "/oauth/introspect",
        {"token": access_token, "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth(rs_client.client_id, rs_secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


@EXAMPLES
@given(
    allowed=scope_subsets(SCOPES),
    data=st.data(),
    public=st.booleans(),
    length=st.integers(min_value=2, max_value=7),
)
def test_a_chain_of_refreshes_never_widens_and_a_replay_ends_the_family(
    django_user_model, make_client, allowed, data, public, length
):
    first_grant = data.draw(scope_subsets(allowed), label="first grant")
    user = django_user_model.objects.create_user("u-" + secrets.token_hex(6))  # no password: no hashing
    kind = Client.Type.PUBLIC if public else Client.Type.CONFIDENTIAL
    client, secret = make_client("Refresh app", client_type=kind, scope=allowed)
    resource_server = make_client("Resource server", can_introspect_any_token=True)
    http = HttpClient(HTTP_HOST="testserver", secure=True, REMOTE_ADDR=next(_ADDRESSES))
    http.force_login(user)

    code, verifier = get_code(http, client.client_id, scope=" ".join(first_grant))
    issued = exchange_code(http, client.client_id, secret, code, verifier)
    assert issued.status_code == 200, issued.content
    body = issued.json()
    scope = _split(body["scope"])
    assert scope == set(first_grant)
    live = body["refresh_token"]
    spent: list[str] = []
    access_tokens = [body["access_token"]]
    family_alive = True

    for _ in range(length):
        action = data.draw(st.sampled_from(["refresh", "refresh", "replay"]), label="step")
        if action == "replay":
            if not spent:
                continue
            event("replay")
            replayed = _refresh(
                http, client, secret, data.draw(st.sampled_from(spent), label="replayed"), None
            )
            assert replayed.status_code == 400, replayed.content
            assert replayed.json()["error"] == "invalid_grant", replayed.json()
            family_alive = False
            continue

        argument = data.draw(requested_scopes(scope), label="scope")
        response = _refresh(http, client, secret, live, argument)
        if not family_alive:
            # RFC 9700 §4.14.2: after a replay, no token of the family is honoured.
            assert response.status_code == 400, response.content
            assert response.json()["error"] == "invalid_grant", response.json()
            continue
        asked = _split(argument)
        if argument and not asked:
            # A blank scope (" "): not a scope at all (RFC 6749 §3.3 needs one scope-token). The
            # server issues a token with no scope for it today: narrower, never wider, but not
            # what an omitted or empty scope gets (the presented token's). Found by this property
            # (issue 17); only "never wider" is checked until that is decided, and the chain ends.
            event("blank scope (only never-wider checked)")
            if response.status_code == 200:
                assert _split(response.json().get("scope")) <= scope, response.json()
            else:
                assert response.status_code == 400, response.content
                assert response.json()["error"] in {"invalid_request", "invalid_scope"}, response.json()
            return
        if not asked <= scope:
            event("refresh asking for more: refused")
            assert response.status_code == 400, (scope, argument, response.content)
            assert response.json()["error"] == "invalid_scope", response.json()
            continue  # nothing spent: `live` is still the refresh token to use

        event("refresh within scope" if asked else "refresh without scope")
        assert response.status_code == 200, (scope, argument, response.content)
        body = response.json()
        granted = _split(body.get("scope"))
        assert granted == (asked or scope), (scope, argument, granted)
        assert granted <= scope <= set(first_grant) <= set(allowed)
        seen = _introspect(http, resource_server, body["access_token"])
        assert seen["active"] is True
        assert _split(seen["scope"]) == granted
        assert body["refresh_token"] != live
        spent.append(live)
        live = body["refresh_token"]
        access_tokens.append(body["access_token"])
        scope = granted

    if not family_alive:
        for access_token in access_tokens:
            assert _introspect(http, resource_server, access_token)["active"] is False
        again = _refresh(http, client, secret, live, None)
        assert again.status_code == 400, again.content
        assert again.json()["error"] == "invalid_grant", again.json()
