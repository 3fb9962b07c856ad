"""A fact and the rows that record it, written by one statement (PostgreSQL).

Issuing a token writes two rows that must commit together: the token and its audit event
(`server.events.IN_TRANSACTION`). As a transaction that is BEGIN, INSERT, INSERT, COMMIT: four
round trips to the database. Inside `one_statement()` the fact's INSERT waits (`defer_fact`)
while the recorders of its event run; a recorder that only adds a row hands it over (`ride`)
instead of writing it; when the unit ends, the fact and its riders go as one statement with
data-modifying CTEs, which PostgreSQL runs atomically, in autocommit: one round trip, and a
crash can lose neither row without the other. Each rider is an `INSERT ... SELECT ... FROM
fact`, so a fact that writes no row (its client deleted meanwhile) writes no rider either.

Whatever else runs a statement inside the unit (a receiver that reads, a listener that writes
a row of its own) first gets a real transaction (`transaction.atomic`, entered then) with the
fact written in it, and the unit commits at its end as any transaction would. Outside
PostgreSQL, or with nothing deferred, the unit is an ordinary `transaction.atomic`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from server.hotpath.prepared import cursor as prepared_cursor
from server.hotpath.prepared import database


@dataclass
class _Rider:
    table: str
    columns: Sequence[str]
    params: list[Any]
    after: Callable[[], None] | None
    ignore_conflict: bool = False


@dataclass
class _Fact:
    sql: str  # an INSERT or UPDATE ... RETURNING, run as the CTE `fact`
    params: list[Any]
    done: Callable[[tuple | None], None]  # gets the RETURNING row (None: nothing was written)


@dataclass
class _Unit:
    db: Any = None  # the default database's wrapper, looked up once for the whole unit
    fact: _Fact | None = None
    riders: list[_Rider] = field(default_factory=list)
    atomic: Any = None  # the transaction entered when something else had to run
    flushing: bool = False  # its own statement, or one `aside()`, is running


_current: ContextVar[_Unit | None] = ContextVar("server.hotpath.riders", default=None)


def unit_database():
    """`prepared.database()`, the wrapper `one_statement` looked up already when inside one: the
    token, its event's ids and its event's row each looked the thread's connection up again
    through asgiref's Local (a few thousand instructions a time)."""
    unit = _current.get()
    if unit is None:
        return database()
    return unit.db


def deferring() -> bool:
    """Whether a fact written now may wait for its riders (inside `one_statement`, on
    PostgreSQL, with no fact waiting yet)."""
    unit = _current.get()
    return unit is not None and unit.fact is None and not unit.flushing


def defer_fact(sql: str, params: list[Any], done: Callable[[tuple | None], None]) -> None:
    """Write the fact `sql` (one INSERT or UPDATE ... RETURNING) when the unit ends, with its riders;
    `done` then gets its RETURNING row, or None if it wrote nothing. Call only if `deferring()`."""
    unit = _current.get()
    assert unit is not None and unit.fact is None
    unit.fact = _Fact(sql, params, done)


def riding() -> bool:
    """Whether a row written now can ride on a waiting fact's statement."""
    unit = _current.get()
    return unit is not None and unit.fact is not None and not unit.flushing


def ride(
    table: str,
    columns: Sequence[str],
    params: list[Any],
    *,
    after: Callable[[], None] | None = None,
    ignore_conflict: bool = False,
) -> None:
    """Write one row of `table` in the waiting fact's statement (only if the fact writes its
    row); `after` runs once that statement commits. `ignore_conflict`: a row a unique constraint
    already holds is left out (ON CONFLICT DO NOTHING), as `bulk_create(ignore_conflicts=True)`
    does. Call only if `riding()`."""
    unit = _current.get()
    assert unit is not None and unit.fact is not None
    unit.riders.append(_Rider(table, tuple(columns), params, after, ignore_conflict))


@contextmanager
def aside():
    """Run a statement that neither reads nor writes rows (`nextval`) without writing the
    waiting fact first: it needs no transaction with it."""
    unit = _current.get()
    if unit is None or unit.flushing:
        yield
        return
    unit.flushing = True
    try:
        yield
    finally:
        unit.flushing = False


def _statement(db, unit: _Unit) -> tuple[str, list[Any]]:
    params = list(unit.fact.params)
    for rider in unit.riders:
        params += rider.params
    shape = tuple((rider.table, tuple(rider.columns), rider.ignore_conflict) for rider in unit.riders)
    return _statement_sql(db.vendor, unit.fact.sql, shape), params


@lru_cache(maxsize=64)
def _statement_sql(vendor: str, fact_sql: str, shape: tuple) -> str:
    """The statement of a fact and its riders (each a table, its columns, and whether it
    ignores a conflict): the same few shapes on every request, so the text is built once each
    (per vendor: its quoting)."""
    del vendor  # the cache key
    q = connection.ops.quote_name
    parts = [f"WITH fact AS ({fact_sql})"]
    for index, (table, rider_columns, ignore_conflict) in enumerate(shape):
        placeholders = ", ".join(["%s"] * len(rider_columns))
        columns = ", ".join(q(column) for column in rider_columns)
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflict else ""
        insert = f"INSERT INTO {q(table)} ({columns}) SELECT {placeholders} FROM fact{conflict}"  # noqa: S608
        parts.append(f", rider{index} AS ({insert})")
    # Names from the models' metadata, quoted; values only as parameters.
    return " ".join(parts) + " SELECT * FROM fact"  # noqa: S608


def _flush(db, unit: _Unit) -> None:
    fact, riders = unit.fact, unit.riders
    unit.fact, unit.riders = None, []
    sql, params = _statement(db, _Unit(db, fact, riders))
    unit.flushing = True
    try:
        with prepared_cursor(db) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    finally:
        unit.flushing = False
    fact.done(row)
    if row is not None:
        for rider in riders:
            if rider.after is not None:
                # In autocommit the statement has committed, and this runs at once.
                db.on_commit(rider.after)


@contextmanager
def one_statement():
    """The unit of a fact and its records: see the module docstring."""
    db = database()
    if db.vendor != "postgresql":
        with transaction.atomic(savepoint=False):
            yield
        return
    unit = _Unit(db)

    def before_any_other(execute, sql, params, many, context):
        if unit.fact is not None and not unit.flushing:
            if unit.atomic is None and not db.in_atomic_block:
                unit.atomic = transaction.atomic(savepoint=False)
                unit.atomic.__enter__()
            _flush(db, unit)
        return execute(sql, params, many, context)

    token = _current.set(unit)
    try:
        with db.execute_wrapper(before_any_other):
            try:
                yield
                if unit.fact is not None:
                    _flush(db, unit)
            except BaseException as error:
                if unit.atomic is not None:
                    unit.atomic.__exit__(type(error), error, error.__traceback__)  # rolls back
                raise
            if unit.atomic is not None:
                unit.atomic.__exit__(None, None, None)
    finally:
        _current.reset(token)
