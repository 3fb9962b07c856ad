"""Migration operations that build and drop indexes without stopping writes on PostgreSQL.

On PostgreSQL an index of the token table is built (or dropped) CONCURRENTLY: the table stays
writable meanwhile (minutes at ten million rows), so a migration using these is not atomic
(`atomic = False`). Elsewhere (SQLite) they are a plain CREATE/DROP INDEX.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


def _on_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class _PlainElsewhere:
    """The operation's own way (CONCURRENTLY) on PostgreSQL, `plain`'s way elsewhere."""

    plain: type

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgresql(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgresql(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrentlyOnPostgreSQL(_PlainElsewhere, AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, a plain CREATE INDEX elsewhere."""

    plain = migrations.AddIndex


class RemoveIndexConcurrentlyOnPostgreSQL(_PlainElsewhere, RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL, a plain DROP INDEX elsewhere."""

    plain = migrations.RemoveIndex


class DropForeignKeyIndex(migrations.AlterField):
    """A foreign key's `db_index=True` -> `db_index=False` (`field`, the new field) as a DROP
    INDEX (CONCURRENTLY on PostgreSQL) of the index Django made for it, instead of AlterField's
    way on SQLite: copying the whole table into a new one."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, from_state, app_label, create=False)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, to_state, app_label, create=True)

    def _run(self, schema_editor, indexed_state, app_label, *, create: bool):
        model = indexed_state.apps.get_model(app_label, self.model_name)
        table, column = model._meta.db_table, model._meta.get_field(self.name).column
        quote = schema_editor.quote_name
        name = quote(schema_editor._create_index_name(table, [column]))
        concurrently = " CONCURRENTLY" if _on_postgresql(schema_editor) else ""
        if create:
            target = f"{quote(table)} ({quote(column)})"
            schema_editor.execute(f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {target}")
        else:
            schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {name}")

    def describe(self):
        return f"Drop the index of {self.model_name}.{self.name} (its own, made for the foreign key)"
