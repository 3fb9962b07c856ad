"""Leave room in server_token's pages so that revoking updates rows in place (PostgreSQL).

Revoking sets `revoked_at`, `revoked_by` and `revoked_reason`, none of them indexed. When the new
row version fits on the same page, PostgreSQL makes it a heap-only tuple (HOT) and touches none
of the table's fourteen indexes; when it does not, every index gets a new entry. Measured on a
million tokens (docs/console.md): revoking the 510k tokens of one client took 89-190 s with
full pages and 4.7 s with fillfactor 50. The same holds for `rotated_at` and `last_used_at`.

Existing pages keep their old fill until the table is
rewritten (VACUUM FULL or pg_repack); new and updated pages use the new setting at once.
Keep `revoked_at` out of every index, or revocation stops being HOT.
"""

from django.db import migrations

FILLFACTOR = 50


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE server_token SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE server_token RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("server", "0002_token_digest_constraints")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
