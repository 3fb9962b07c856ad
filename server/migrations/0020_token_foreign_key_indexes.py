"""A token INSERT writes four index entries fewer.

Django gave each foreign key of the token table an index of its own. Two repeat the leading
column of an index the table has anyway: `client_id` (`token_client_issued`) and `user_id`
(`token_user_issued`, which leaves out tokens without a user: a lookup `user_id = x` implies
`user_id IS NOT NULL`, so both databases use it). The other two, `parent_id` and
`authorization_code_id`, become partial: only a refreshed token has a parent and only a code
grant's token a code, so a client_credentials token is in neither. Every lookup by these columns
(the cascades and SET NULLs, the console's filters, a code's replay) names a value, which implies
NOT NULL.

Measured with `bench.request_cost --endpoints token` (PostgreSQL, 200,000 tokens): PostgreSQL's
CPU per client_credentials token 0.30 -> 0.27 ms. Built and dropped CONCURRENTLY on PostgreSQL
(server.concurrent_indexes), so the migration is not atomic and the table stays writable.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from server.concurrent_indexes import AddIndexConcurrentlyOnPostgreSQL, DropForeignKeyIndex


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("server", "0019_client_policy_tos_uri"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="token",
            index=models.Index(
                condition=models.Q(("parent__isnull", False)), fields=["parent"], name="token_parent"
            ),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="token",
            index=models.Index(
                condition=models.Q(("authorization_code__isnull", False)),
                fields=["authorization_code"],
                name="token_authorization_code",
            ),
        ),
        DropForeignKeyIndex(
            model_name="token",
            name="authorization_code",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tokens",
                to="server.authorizationcode",
            ),
        ),
        DropForeignKeyIndex(
            model_name="token",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tokens",
                to="server.client",
            ),
        ),
        DropForeignKeyIndex(
            model_name="token",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="children",
                to="server.token",
            ),
        ),
        DropForeignKeyIndex(
            model_name="token",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="oauth_tokens",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
