"""The console's "active tokens of this client" in an index range, without `revoked_at`.

`token_expires (expires_at)` becomes `token_expires_client (expires_at, client)`: the same range
scans (`expires_at > now`, cleartokens, the planner's estimate of the active tokens), and a
client's unexpired tokens are found in the index without reading the heap rows of every other
client's (the token list filtered by client and status, the client list's counts, the count
before disabling a client). At ten million tokens, 300,000 of them unexpired, one client's
active tokens cost a heap read per unexpired token of ANY client before, and only of its own now.

Not a partial index `WHERE revoked_at IS NULL`: a column named anywhere in an index, its WHERE
included, makes every update of it write every index (no heap-only update), and revoking would
go from seconds to minutes again (server.0003). `expires_at` and `client_id` are never updated.
The new index replaces the old one, so a token INSERT writes as many index entries as before.

PostgreSQL builds it with CREATE INDEX CONCURRENTLY (then drops the old one the same way): the
token table stays writable while it is built (minutes at ten million rows), so this migration is
not atomic. Elsewhere (SQLite) plain CREATE/DROP INDEX.
"""

from django.db import migrations, models

from server.concurrent_indexes import AddIndexConcurrentlyOnPostgreSQL, RemoveIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("server", "0017_logout_delivery_frontchannel")]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="token",
            index=models.Index(fields=["expires_at", "client"], name="token_expires_client"),
        ),
        RemoveIndexConcurrentlyOnPostgreSQL(model_name="token", name="token_expires"),
    ]
