"""The hostile-values matrix (see the package's docstring): every door by every field by every value,
each stored value checked in every output.

A cell is (door, field, value). The door either refuses the value (a 4xx or a form error, and
nothing written: no row, no change, no audit event) or stores it; whatever is stored must pass
the field's oracle (unless written around the services, as the `legacy row` door does: a value
stored before a policy existed must be rendered inert too) and then be inert in every output of
`outputs.OUTPUTS`. New fields, doors and outputs join by adding a row to FIELDS, DOORS or OUTPUTS.
"""

import json

import pytest

from oauth_console.audit.models import AuditEvent
from server.models import Client

from . import oracles
from .doors import DOORS, Passage, World, values_for
from .outputs import CLIENT_EVENTS, OUTPUTS
from .values import BASE, FIELDS, GOOD_OIDC_SCALARS, HOSTILE_OIDC_SCALARS, LONE_SURROGATE_URI

pytestmark = pytest.mark.django_db

CELLS = [(door, field, value) for door in DOORS for field, row in FIELDS.items() for value in row.values]


def _cell_ids(cells):
    return [f"{door}|{field}|{value[:24]!r}" for door, field, value in cells]


def through_the_door(world: World, capture_on_commit, door: str, field: str, value: str) -> Passage:
    """Send the value through the door, its after-commit work (signals, audit events) run as in
    production. A refusal must leave every client row and the audit log as they were (the 7592 door
    registers a clean client first: that one must be there, unchanged)."""
    before = {row["id"]: row for row in Client.objects.values()}
    client_events = AuditEvent.objects.filter(event_type__in=CLIENT_EVENTS).order_by("id")
    events_before = set(client_events.values_list("id", flat=True))
    with capture_on_commit(execute=True):
        passage = DOORS[door].send(world, values_for(field, value))
    passage.through_services = DOORS[door].through_services
    if passage.client is None:
        after = {row["id"]: row for row in Client.objects.values()}
        grown = {pk: row for pk, row in after.items() if pk not in before}
        logged = [event.event_type for event in client_events.exclude(id__in=events_before)]
        if DOORS[door].updates:
            assert len(grown) == 1, "only the clean client registered before the update"
            (row,) = grown.values()
            assert (row["client_uri"], row["name"]) == (BASE["client_uri"], BASE["name"])
            assert logged == ["client_created"], "the log has the clean client's creation, no change"
        else:
            assert not grown, "a refused value wrote nothing"
            assert logged == [], "a refused value logged no client event"
        assert {pk: after[pk] for pk in before} == before, "a refused value changed nothing"
    return passage


@pytest.mark.parametrize("door, field, value", CELLS, ids=_cell_ids(CELLS))
def test_a_hostile_value_is_refused_at_the_door_or_stored_and_inert_in_every_output(
    world, django_capture_on_commit_callbacks, door, field, value
):
    passage = through_the_door(world, django_capture_on_commit_callbacks, door, field, value)
    if passage.client is None:
        return
    row = FIELDS[field]
    if row.uri and passage.through_services:
        for uri in row.stored_strings(passage.client):
            assert oracles.uri_is_safe(uri, redirect=row.redirect), f"{door} stored {field}={uri!r}"
    for output, check in OUTPUTS.items():
        try:
            check(world, passage, field)
        except AssertionError as error:
            raise AssertionError(f"{door}/{field} in the output {output!r}: {error}") from error


# A lone surrogate reaches only the doors whose wire can hold one: JSON ("\\ud800") and Python
# callers. UTF-8 cannot encode it, so a form or CSV door never receives it as such.
SURROGATE_DOORS = ("services", "registration", "registration update", "operator API")
SURROGATE_CELLS = [
    (d, f, LONE_SURROGATE_URI) for d in SURROGATE_DOORS for f, row in FIELDS.items() if row.uri
]


@pytest.mark.parametrize("door, field, value", SURROGATE_CELLS, ids=_cell_ids(SURROGATE_CELLS))
def test_a_lone_surrogate_in_a_client_uri_is_refused_at_every_door_that_can_carry_it(
    world, django_capture_on_commit_callbacks, door, field, value
):
    passage = through_the_door(world, django_capture_on_commit_callbacks, door, field, value)
    assert passage.client is None, f"{door} stored {field}={value!r}"


# OpenID Connect metadata that is not a URI: every value of HOSTILE_OIDC_SCALARS is one the policy
# refuses, at every door that takes it, with nothing written (the legacy row writes past the policy).
SCALAR_CELLS = [(d, f, v) for d in DOORS if DOORS[d].through_services for f, v in HOSTILE_OIDC_SCALARS]


@pytest.mark.parametrize("door, field, value", SCALAR_CELLS, ids=_cell_ids(SCALAR_CELLS))
def test_hostile_openid_connect_metadata_is_refused_at_every_door(
    world, django_capture_on_commit_callbacks, door, field, value
):
    passage = through_the_door(world, django_capture_on_commit_callbacks, door, field, value)
    assert passage.client is None, f"{door} stored {field}={value!r}"


@pytest.mark.parametrize("door", [d for d in DOORS if DOORS[d].through_services])
def test_the_openid_connect_metadata_reaches_the_client_through_every_door(world, door):
    """The control of the refusals above: the same doors store good values as given."""
    values = {**values_for("name", "Matrix OIDC"), **GOOD_OIDC_SCALARS}
    client = DOORS[door].send(world, values).client
    assert client is not None, door
    stored = (client.id_token_signed_response_alg, client.subject_type, client.default_max_age)
    assert stored == ("ES256", "pairwise", 600)
    assert client.sector_identifier == "app.example.com", "the redirect URIs' host"
    signing = (client.userinfo_signed_response_alg, client.token_endpoint_auth_signing_alg)
    assert signing == ("ES256", "PS256")
    assert client.post_logout_redirect_uris == BASE["post_logout_redirect_uris"]
    assert client.backchannel_logout_uri == BASE["backchannel_logout_uri"]
    assert client.frontchannel_logout_uri == BASE["frontchannel_logout_uri"]


@pytest.mark.parametrize("door", [d for d in DOORS if DOORS[d].through_services])
def test_a_sector_identifier_uri_reaches_the_client_through_every_door(world, door, https_server):
    """Every door takes a good sector_identifier_uri (a document on a loopback HTTPS server the
    guard may reach, listing the redirect URI): its host becomes the pairwise sector."""
    https_server.routes["/sector.json"] = (200, {}, json.dumps([BASE["redirect_uris"]]).encode())
    url = https_server.url("/sector.json")
    values = {**values_for("sector_identifier_uri", url), "subject_type": "pairwise"}
    client = DOORS[door].send(world, values).client
    assert client is not None, door
    assert (client.sector_identifier_uri, client.sector_identifier) == (url, "127.0.0.1")
    assert https_server.hits["/sector.json"] >= 1


@pytest.mark.parametrize("door", [d for d in DOORS if DOORS[d].through_services])
def test_a_sector_document_missing_the_redirect_uri_is_refused_at_every_door(
    world, django_capture_on_commit_callbacks, door, https_server
):
    """The document is read (the guard may reach it) but does not list the redirect URI: every
    door refuses it (a 400 or a form error) and writes nothing, no event."""
    https_server.routes["/other.json"] = (200, {}, json.dumps(["https://elsewhere.example/cb"]).encode())
    url = https_server.url("/other.json")
    passage = through_the_door(world, django_capture_on_commit_callbacks, door, "sector_identifier_uri", url)
    assert passage.client is None, door
    assert https_server.hits.get("/other.json"), "refused after reading it, not before"
