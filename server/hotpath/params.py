"""A row's values as the database takes them, for the hot paths' hand-built INSERTs.

`Field.get_db_prep_save` walks three or four methods per field to hand a string or an integer
back unchanged; a token's INSERT has 22 fields, its audit event 13. A value whose type the
column takes as it is (a str for a text column, an int for an integer one, a bool for a
boolean, None for a date or UUID column) goes as it is; anything else (a datetime, a UUID,
JSON, a lazy string, None for a JSON column) through the field's own preparation, so the result
is what the ORM would send.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

_TEXT = ("CharField", "TextField", "SlugField", "EmailField", "URLField")
_INTEGER = (
    "AutoField",
    "BigAutoField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "SmallIntegerField",
    "PositiveSmallIntegerField",
)

# Columns whose NULL is None as it is (a JSON column's None is not: it may mean JSON null).
_NULL_AS_IS = ("DateTimeField", "DateField", "UUIDField")


_TEXT_TYPES = (str, type(None))


def _text_as_is(value: Any) -> bool:
    """A text column takes any str as it is, a subclass too (the choices' enums: TextChoices
    members): CharField's and TextField's preparation hands back every str unchanged, and
    prepares only lazy strings (not str instances) and expressions (`as_sql`)."""
    return isinstance(value, str) and not hasattr(value, "as_sql")


def _passes_as_is(field: Field) -> tuple[type, ...]:
    """The value types `field` stores unchanged (none: always prepare). Text columns: also any
    str subclass (`_text_as_is`)."""
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind in _TEXT:
        return _TEXT_TYPES
    if kind in _INTEGER:
        return (int, type(None))
    if kind == "BooleanField":
        return (bool,)
    if kind in _NULL_AS_IS:
        return (type(None),)
    return ()


# Columns whose prepared value is a function of the text alone, kept per (vendor, text): an
# address column's preparation parses the address (`ipaddress.ip_address` on PostgreSQL) every
# time, and an audit event carries its client's address, the same few again and again.
_KEPT = ("GenericIPAddressField",)
# Prepared values kept per column at most; past it all are forgotten (each costs one parse).
MAX_KEPT = 1_000


class Row:
    """The columns of one hand-built INSERT, and how each value goes to the database."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = tuple(fields)
        # Per column: the field, the types it takes as they are, and its kept values (or None).
        self._plan = tuple(
            (field, _passes_as_is(field), {} if field.get_internal_type() in _KEPT else None)
            for field in self.fields
        )

    def prepared(self, values: Iterable[Any], db: BaseDatabaseWrapper | None = None) -> list[Any]:
        """`[field.get_db_prep_save(value, connection) ...]`, without the walk for values a
        column takes as they are. `db`: the default database's wrapper when the caller holds it
        (`server.hotpath.prepared.database()`); the fields' preparation then reads it directly,
        not through `django.db.connection`, which finds the thread's wrapper again on every
        attribute read (ops, features: a few a field)."""
        wrapper = db if db is not None else connections[DEFAULT_DB_ALIAS]
        params = []
        for (field, as_is, kept), value in zip(self._plan, values, strict=True):
            if type(value) in as_is or (as_is is _TEXT_TYPES and _text_as_is(value)):
                params.append(value)
            elif kept is not None and type(value) is str:
                params.append(_kept_value(kept, field, value, wrapper))
            else:
                params.append(field.get_db_prep_save(value, wrapper))
        return params


def _kept_value(kept: dict, field: Field, value: str, wrapper: BaseDatabaseWrapper) -> Any:
    """`field.get_db_prep_save(value, wrapper)`, prepared once per vendor and text (an address
    object is immutable: every INSERT may send the same one). A value the field refuses raises
    as before and is not kept."""
    key = (wrapper.vendor, value)
    prepared = kept.get(key, kept)
    if prepared is kept:
        if len(kept) >= MAX_KEPT:
            kept.clear()
        prepared = kept[key] = field.get_db_prep_save(value, wrapper)
    return prepared
