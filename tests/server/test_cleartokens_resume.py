"""cleartokens walks the tokens by key and resumes where an interrupted run stopped."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from server import services
from server.models import SweepPosition, Token
from tests.server.test_commands import issue_token, run

pytestmark = pytest.mark.django_db(transaction=False)


class Interrupted(Exception):
    pass


def stop_after_first_batch(deleted_so_far: int, last_key: int) -> None:
    raise Interrupted(last_key)


def id_reads(queries) -> list[str]:
    """The statements that look for the next batch of expired tokens."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "server_token"."id"') and '"server_token"."expires_at" <=' in q["sql"]
    ]


@pytest.fixture
def six_expired_and_one_live(make_client):
    client, _ = make_client()
    expired = [issue_token(client, issued_ago=timedelta(hours=3)) for _ in range(6)]
    live = issue_token(client)
    return sorted(token.pk for token in expired), live


def test_an_interrupted_run_resumes_after_its_last_key_and_reads_nothing_before_it(six_expired_and_one_live):
    expired, live = six_expired_and_one_live
    with pytest.raises(Interrupted):
        services.clear_expired_tokens(batch_size=2, progress=stop_after_first_batch)
    # The first batch is gone and its last key recorded, in the batch's own transaction.
    assert not Token.objects.filter(pk__in=expired[:2]).exists()
    assert SweepPosition.objects.get(name="cleartokens").last_key == expired[1]

    with CaptureQueriesContext(connection) as queries:
        out, _ = run("cleartokens", "--batch-size", "2")
    assert f"resuming after token #{expired[1]}" in out
    assert "Deleted 4 expired token(s)." in out
    progress = [line.strip() for line in out.splitlines() if "so far" in line]
    assert progress == [
        f"deleted 2 expired token(s) so far (through token #{expired[3]})",
        f"deleted 4 expired token(s) so far (through token #{expired[5]})",
    ]
    # Three reads (two full batches, then the end), the first starting after the recorded key;
    # each batch's UPDATE and DELETE name a key range, not a list of ids.
    reads = id_reads(queries.captured_queries)
    assert len(reads) == 3
    assert f'"server_token"."id" > {expired[1]}' in reads[0]
    assert f'"server_token"."id" > {expired[3]}' in reads[1]
    deletes = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "server_token"')
    ]
    assert len(deletes) == 2 and f'"server_token"."id" <= {expired[3]}' in deletes[0]
    assert set(Token.objects.values_list("pk", flat=True)) == {live.pk}
    # A finished pass leaves the next run to start from the beginning.
    assert SweepPosition.objects.get(name="cleartokens").last_key == 0


@pytest.fixture
def interrupted_with_a_token_expiring_behind_the_key(make_client):
    """One live token at the lowest key, four expired; a run stopped after deleting two; then
    the first token expires, behind the recorded key."""
    client, _ = make_client()
    first = issue_token(client)
    for _ in range(4):
        issue_token(client, issued_ago=timedelta(hours=3))
    with pytest.raises(Interrupted):
        services.clear_expired_tokens(batch_size=2, progress=stop_after_first_batch)
    Token.objects.filter(pk=first.pk).update(expires_at=first.issued_at - timedelta(hours=2))
    return first


def test_a_resumed_run_leaves_what_expired_behind_its_key_to_the_next_pass(
    interrupted_with_a_token_expiring_behind_the_key,
):
    first = interrupted_with_a_token_expiring_behind_the_key
    assert "Deleted 2 expired token(s)." in run("cleartokens", "--batch-size", "2")[0]
    assert list(Token.objects.values_list("pk", flat=True)) == [first.pk]
    out, _ = run("cleartokens")  # the pass finished: this one starts from the beginning
    assert "resuming" not in out and "Deleted 1 expired token(s)." in out
    assert not Token.objects.exists()


def test_from_start_ignores_the_recorded_position(interrupted_with_a_token_expiring_behind_the_key):
    out, _ = run("cleartokens", "--from-start")
    assert "resuming" not in out
    assert "Deleted 3 expired token(s)." in out
    assert not Token.objects.exists()


def test_a_complete_run_starts_at_the_beginning_and_reports_each_batch(six_expired_and_one_live):
    expired, _ = six_expired_and_one_live
    with CaptureQueriesContext(connection) as queries:
        out, _ = run("cleartokens", "--batch-size", "4")
    assert "resuming" not in out
    assert [line.strip() for line in out.splitlines() if "so far" in line] == [
        f"deleted 4 expired token(s) so far (through token #{expired[3]})",
        f"deleted 6 expired token(s) so far (through token #{expired[5]})",
    ]
    # A full batch of four, then a short one (its end read with MAX), and nothing read again.
    reads = id_reads(queries.captured_queries)
    assert len(reads) == 2 and '"server_token"."id" > 0' in reads[0]
    assert f'"server_token"."id" > {expired[3]}' in reads[1]
