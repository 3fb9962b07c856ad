"""bench.pooler's pure parts: PgBouncer's configuration and the settings an instance gets behind it."""

from pathlib import Path

from bench import pooler


def test_config_is_transaction_mode_on_loopback_for_one_database():
    text = pooler.config(
        database="bench_scaleout", port=16432, pool_size=8, prepared=False, folder=Path("/x")
    )
    assert "bench_scaleout = host=127.0.0.1 port=5432 dbname=bench_scaleout" in text
    assert "pool_mode = transaction" in text and "listen_addr = 127.0.0.1" in text
    assert "listen_port = 16432" in text and "default_pool_size = 8" in text
    assert "max_prepared_statements" not in text
    assert "max_prepared_statements = 100" in pooler.config(
        database="d", port=1, pool_size=1, prepared=True, folder=Path("/x")
    )


def test_instances_behind_it_follow_the_deployment_docs():
    old = pooler.Pooler(port=16432, version=(1, 18, 0), pool_size=8)
    new = pooler.Pooler(port=16432, version=(1, 21, 0), pool_size=8)
    assert old.django_env() == {
        "CONN_MAX_AGE": "0",
        "DB_DISABLE_SERVER_SIDE_CURSORS": "1",
        "OAUTH2_PREPARED_STATEMENTS": "0",  # PgBouncer < 1.21 loses them between transactions
    }
    assert new.django_env()["OAUTH2_PREPARED_STATEMENTS"] == "1"
    assert old.url("postgres://postgres@127.0.0.1:5432/bench_scaleout") == (
        "postgres://postgres@127.0.0.1:16432/bench_scaleout"
    )
    assert "OAUTH2_PREPARED_STATEMENTS=0" in old.describe() and "transaction" in old.describe()
