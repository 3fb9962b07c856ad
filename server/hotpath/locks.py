"""The locking rules that order token issuance against revocation, in one place.

The guarantee: no token issued before a revocation instant stays active
(tests/security/test_races.py). On PostgreSQL it rests on the client row:

- Issuers share-lock it (FOR KEY SHARE; they never block each other): `hold_client_for_issuance`
  before a code or refresh token is claimed (`services.redeem_authorization_code`,
  `services.rotate_refresh_token`), and `token_insert.insert_token` takes the same lock in its INSERT (a
  CTE) and stamps `issued_at` from the database clock *after* the lock is granted.
- Bulk revocations (`services.revoke_tokens`, `revoke_refresh_token_family`, `revoke_consent`,
  `revoke_user_access`) lock the same rows FOR UPDATE with `hold_clients_for_revocation`, in
  primary-key order so revocations never deadlock each other, and only then read the database
  clock (`sql.database_now`) for `revoked_at`.

So a bulk revocation waits for issuances in flight and revokes them, and an issuance that
starts meanwhile waits for the revocation and is stamped after its instant. A single-token
revocation (RFC 7009, `services.revoke_single_token`) takes no lock: one existing row has no
issuance in flight. SQLite serialises writers already, so these are no-ops there.
"""

from django.db import connection
from django.db.models import Q

from server.hotpath.prepared import database
from server.models import Client


def hold_client_for_issuance(client_pk: int) -> None:
    """Share-lock a client row until the transaction ends, before a code or refresh token is
    claimed for a new token (the rules: this module's docstring)."""
    db = database()
    if db.vendor != "postgresql":
        return
    table = db.ops.quote_name(Client._meta.db_table)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [client_pk])  # noqa: S608


def hold_clients_for_revocation(clients: Q) -> None:
    """Lock the `clients` rows FOR UPDATE (in primary-key order, so revocations never deadlock
    each other), before reading the clock for `revoked_at` (the rules: this module's docstring)."""
    if connection.vendor != "postgresql":
        return
    locked = Client.objects.filter(clients).order_by("pk").select_for_update(of=("self",))
    list(locked.values_list("pk", flat=True))
