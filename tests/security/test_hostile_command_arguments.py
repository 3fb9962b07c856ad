"""Hostile arguments to the management commands: each ends with a CommandError saying what is
wrong (what `manage.py` prints as one line), never a traceback, and writes nothing, on SQLite
and PostgreSQL. "\\udcff" is what Python makes of a shell argument that is not UTF-8 (its byte
0xff, decoded with surrogateescape); PostgreSQL refuses a NUL in a query's parameter."""

import io

import pytest
from django.core.management import CommandError, call_command

from oauth_console.audit.models import AuditEvent
from server.models import Client, Token

pytestmark = pytest.mark.django_db

NOT_UTF8 = "\udcff"
CASES = [
    # (argv, a word the message must contain)
    (["rotate_client_secret", "a\x00b"], "client"),
    (["rotate_client_secret", NOT_UTF8], "client"),
    (["revoke_tokens", "--client", "a\x00b", "--yes", "--reason", "x"], "client"),
    (["revoke_tokens", "--client", NOT_UTF8, "--yes", "--reason", "x"], "client"),
    (["revoke_tokens", "--user", "a\x00b", "--yes", "--reason", "x"], "user"),
    (["revoke_tokens", "--user", NOT_UTF8, "--yes", "--reason", "x"], "user"),
    (["rotate_signing_keys", "--revoke", "a\x00b"], "kid"),
    (["rotate_signing_keys", "--revoke", NOT_UTF8], "kid"),
    (["cleartokens", "--batch-size", "9" * 23], "batch"),
    (["prune_audit_log", "--older-than", "9" * 20 + "d"], "older-than"),
    # int() refuses more than 4300 digits (a traceback); "٣٦٥" is no number to a command line.
    (["prune_audit_log", "--older-than", "9" * 5000 + "d"], "older-than"),
    (["prune_audit_log", "--older-than", "\u0663\u0666\u0665d"], "older-than"),
    (["export_audit_log", "--output", "/nonexistent-folder/audit.jsonl"], "--output"),
    (["export_audit_log", "--output", "audit\x00.jsonl"], "--output"),
]


@pytest.mark.parametrize("argv, word", CASES, ids=[repr(argv)[:70] for argv, _word in CASES])
def test_a_hostile_argument_is_a_command_error(make_client, argv, word):
    make_client("Present")
    clients, tokens, events = Client.objects.count(), Token.objects.count(), AuditEvent.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command(*argv, stdout=io.StringIO(), stderr=io.StringIO())
    assert word in str(refused.value).lower(), str(refused.value)
    assert (Client.objects.count(), Token.objects.count()) == (clients, tokens)
    assert AuditEvent.objects.count() == events, "a refused command records nothing"
