"""`server.hotpath.params.Row.prepared` sends what the ORM's `get_db_prep_save` would."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.utils.functional import lazy

from oauth_console.audit.models import AuditEvent
from server.hotpath.params import Row
from server.models import Token

pytestmark = pytest.mark.django_db

SAMPLES = {
    "CharField": ["a-value", "", None],
    "TextField": ["read write", None],
    "BigAutoField": [7, None],
    "AutoField": [7, None],
    "ForeignKey": [3, None],
    "BooleanField": [True, False],
    "PositiveIntegerField": [5, None],
    "BigIntegerField": [5, None],
    "DateTimeField": [None],
    "UUIDField": [None],
}


@pytest.mark.parametrize("model", [Token, AuditEvent])
def test_plain_values_go_as_the_orm_sends_them(model):
    fields = [field for field in model._meta.concrete_fields if field.get_internal_type() in SAMPLES]
    assert fields
    for field in fields:
        for value in SAMPLES[field.get_internal_type()]:
            expected = [field.get_db_prep_save(value, connection)]
            assert Row([field]).prepared([value]) == expected, (field, value)


def test_other_values_are_prepared_by_their_field():
    fields = {field.name: field for field in Token._meta.concrete_fields}
    when = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    family = uuid.uuid4()
    lazy_scope = lazy(lambda: "read", str)()
    got = Row([fields["issued_at"], fields["family_id"], fields["scope"], fields["client"]]).prepared(
        [when, family, lazy_scope, True]
    )
    expected = [
        fields["issued_at"].get_db_prep_save(when, connection),
        fields["family_id"].get_db_prep_save(family, connection),
        "read",  # a lazy string becomes a str, as the field's preparation makes it
        fields["client"].get_db_prep_save(True, connection),  # a bool in an integer column: int(True)
    ]
    assert got == expected
    assert type(got[2]) is str


def test_json_goes_through_its_field():
    field = Token._meta.get_field("claims")
    (value,) = Row([field]).prepared([{"userinfo": {"email": None}}])
    assert repr(value) == repr(field.get_db_prep_save({"userinfo": {"email": None}}, connection))


def test_a_choices_enum_in_a_text_column_goes_as_it_is(monkeypatch):
    # TextChoices members are str: the field's preparation hands them back unchanged, so the
    # walk through it is skipped (before: get_db_prep_save for each of an audit event's three).
    from oauth_console.audit.models import ActorKind, EventType, Outcome

    fields = [AuditEvent._meta.get_field(name) for name in ("event_type", "outcome", "actor_kind")]
    values = [EventType.TOKEN_ISSUED, Outcome.SUCCESS, ActorKind.CLIENT]
    expected = [
        field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)
    ]
    walked = []
    for field in fields:
        original = field.get_db_prep_save
        monkeypatch.setattr(
            field, "get_db_prep_save", lambda *a, _o=original, **k: walked.append(a) or _o(*a, **k)
        )
    got = Row(fields).prepared(values)
    assert got == expected and [type(v) for v in got] == [type(v) for v in expected]
    assert walked == []


def test_an_address_is_prepared_once_per_text(monkeypatch):
    # An audit event's address (PostgreSQL: ipaddress.ip_address of it) is the same few again
    # and again: prepared once per text, the same value the field prepares.
    from server.hotpath import params

    field = AuditEvent._meta.get_field("ip_address")
    row = Row([field])
    addresses = ["127.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"]
    first = [row.prepared([address])[0] for address in addresses]
    assert first == [field.get_db_prep_save(address, connection) for address in addresses]
    assert [type(value) for value in first] == [
        type(field.get_db_prep_save(address, connection)) for address in addresses
    ]
    prepared = []
    original = type(field).get_db_prep_save

    def counted(self, value, connection):
        prepared.append(value)
        return original(self, value, connection)

    monkeypatch.setattr(type(field), "get_db_prep_save", counted)
    again = [row.prepared([address])[0] for address in addresses]
    assert again == first and prepared == []
    assert row.prepared([None]) == [field.get_db_prep_save(None, connection)]
    monkeypatch.setattr(params, "MAX_KEPT", 3)
    row.prepared(["10.0.0.2"])  # past the bound: all forgotten, this one kept
    assert [value for value in row._plan[0][2]] == [(connection.vendor, "10.0.0.2")]
