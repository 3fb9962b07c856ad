"""The server's management commands, driven through call_command: output, rows, refusals."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from server import credentials, demo, services, signals
from server.actors import Actor
from server.models import Client, ClientSecret, Token

pytestmark = pytest.mark.django_db(transaction=False)


def run(*args, **options) -> tuple[str, str]:
    """Run a command; return (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, skip_checks=True, **options)
    return out.getvalue(), err.getvalue()


def issue_token(client, user=None, *, issued_ago=timedelta(0), lifetime=timedelta(hours=1), refresh=None):
    """Store a token through the service, then move its times (tests need old and expired ones)."""
    token = {"access_token": credentials.generate("access_token"), "expires_in": 3600, "scope": "profile"}
    if refresh is not None:
        token["refresh_token"] = credentials.generate("refresh_token")
    row = services.store_token(token, client=client, user=user, grant_type="client_credentials")
    issued = timezone.now() - issued_ago
    row.issued_at, row.expires_at = issued, issued + lifetime
    row.refresh_expires_at = issued + refresh if refresh is not None else None
    row.save(update_fields=["issued_at", "expires_at", "refresh_expires_at"])
    return row


class FakeTerminal(io.StringIO):
    """A stdin that claims to be a terminal, with the operator's typed answer."""

    def isatty(self) -> bool:
        return True


# --- create_oauth_client ---------------------------------------------------------------------


def test_create_client_json_prints_one_object_with_a_working_secret():
    out, err = run(
        "create_oauth_client",
        "Billing app",
        "--redirect-uris",
        "https://billing.example.com/cb,https://billing.example.com/cb2",
        "--scopes",
        "profile email",
        "--json",
    )
    document = json.loads(out)  # exactly one JSON document, nothing else on stdout
    assert set(document) >= {"client_id", "client_secret", "name", "redirect_uris", "grant_types", "scope"}
    assert document["name"] == "Billing app"
    assert document["redirect_uris"] == ["https://billing.example.com/cb", "https://billing.example.com/cb2"]
    assert document["grant_types"] == ["authorization_code", "refresh_token"]
    assert document["scope"] == "profile email"
    client = Client.objects.get(client_id=document["client_id"])
    assert client.source == Client.Source.COMMAND
    assert client.client_type == Client.Type.CONFIDENTIAL
    assert client.check_client_secret(document["client_secret"])
    assert not client.check_client_secret(document["client_secret"] + "x")
    # The plain secret is stored nowhere: only its digest.
    assert ClientSecret.objects.get(client=client).digest == credentials.digest(document["client_secret"])
    assert "not be shown again" in err


def test_create_client_text_output_warns_the_secret_is_shown_once():
    out, _ = run("create_oauth_client", "Web", "--redirect-uris", "https://web.example.com/cb")
    client = Client.objects.get(name="Web")
    assert client.client_id in out
    secret = next(line.split()[-1] for line in out.splitlines() if line.startswith("client_secret:"))
    assert client.check_client_secret(secret)
    assert "will not be shown again" in out
    assert client.scope == "profile"  # the default


def test_create_client_accepts_space_separated_and_repeated_values():
    out, _ = run(
        "create_oauth_client",
        "Multi",
        "--redirect-uris",
        "https://a.example.com/cb https://b.example.com/cb",
        "--redirect-uris",
        "https://c.example.com/cb",
        "--scopes",
        "read",
        "write,email",
        "--json",
    )
    client = Client.objects.get(client_id=json.loads(out)["client_id"])
    assert client.redirect_uri_list == [
        "https://a.example.com/cb",
        "https://b.example.com/cb",
        "https://c.example.com/cb",
    ]
    assert client.scope_list == ["read", "write", "email"]


def test_create_public_client_has_no_secret():
    out, err = run(
        "create_oauth_client", "Mobile", "--public", "--redirect-uris", "com.example.app:/callback", "--json"
    )
    document = json.loads(out)
    assert document["client_secret"] is None
    assert document["token_endpoint_auth_method"] == "none"
    client = Client.objects.get(client_id=document["client_id"])
    assert client.is_public
    assert not client.secrets.exists()
    assert err == ""


def test_create_client_credentials_client_needs_no_redirect_uri():
    out, _ = run(
        "create_oauth_client",
        "Batch job",
        "--grant-types",
        "client_credentials",
        "--scopes",
        "read",
        "--json",
    )
    client = Client.objects.get(client_id=json.loads(out)["client_id"])
    assert client.grant_type_list == ["client_credentials"]
    assert client.redirect_uri_list == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redirect-uris", "http://evil.example.com/cb"], "plain http is only allowed for loopback"),
        (["--redirect-uris", "https://app.example.com/*"], "wildcards are not allowed"),
        (["--redirect-uris", "https://app.example.com/cb", "--scopes", "admin"], "Unknown scope(s): admin"),
        (["--redirect-uris", "https://app.example.com/cb", "--grant-types", "password"], "Unsupported grant"),
        ([], "needs at least one redirect URI"),
        (
            ["--public", "--grant-types", "client_credentials"],
            "public client has no secret, so it cannot use client_credentials",
        ),
    ],
)
def test_create_client_refuses_bad_settings_and_writes_nothing(args, message):
    with pytest.raises(CommandError) as refused:
        run("create_oauth_client", "Bad", *args)
    assert message in str(refused.value)
    assert not Client.objects.exists()
    assert not ClientSecret.objects.exists()


# --- rotate_client_secret --------------------------------------------------------------------


def freeze(time_machine):
    """Stop the clock at the current instant (time-machine); returns that instant."""
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    return now


def test_rotate_with_grace_keeps_both_secrets_valid_until_the_grace_ends(make_client, time_machine):
    client, old_secret = make_client()
    rotated_at = freeze(time_machine)
    out, _ = run("rotate_client_secret", "--grace", "2h", "--json", "--", client.client_id)
    document = json.loads(out)
    assert document["client_id"] == client.client_id
    new_secret = document["client_secret"]
    assert new_secret != old_secret
    assert client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)
    old_row = ClientSecret.objects.get(digest=credentials.digest(old_secret))
    assert old_row.expires_at == rotated_at + timedelta(hours=2)
    assert document["previous_secrets_expire_at"] == old_row.expires_at.isoformat()
    assert ClientSecret.objects.get(digest=credentials.digest(new_secret)).expires_at is None

    # Once the grace period is over only the new secret works.
    time_machine.shift(timedelta(hours=2) - timedelta(seconds=1))
    assert client.check_client_secret(old_secret)  # the last second of the grace period
    time_machine.shift(timedelta(seconds=1))
    assert not client.check_client_secret(old_secret)
    assert not client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)


def test_rotate_immediately_stops_the_old_secret_at_once(make_client):
    client, old_secret = make_client()
    out, _ = run("rotate_client_secret", "--grace", "immediately", "--", client.client_id)
    new_secret = next(line.split()[-1] for line in out.splitlines() if line.startswith("client_secret:"))
    assert "no longer work" in out
    assert not client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)


@pytest.mark.parametrize(
    ("grace", "expected"),
    [("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)), ("3d", timedelta(days=3))],
)
def test_rotate_accepts_custom_grace_periods(make_client, grace, expected, time_machine):
    client, old_secret = make_client()
    rotated_at = freeze(time_machine)
    run("rotate_client_secret", "--grace", grace, "--", client.client_id)
    old_row = ClientSecret.objects.get(digest=credentials.digest(old_secret))
    assert old_row.expires_at == rotated_at + expected


# "\u0667d": regex \\d took the Arabic-Indic 7 (and int() read it).
@pytest.mark.parametrize(
    "grace",
    ["5y", "-1h", "soon", "", "9999d", "999999999d", "\u0667d", "9" * 5000 + "d"],
    ids=lambda g: ascii(g)[:20],
)
def test_rotate_refuses_a_bad_grace_and_writes_nothing(make_client, grace):
    client, old_secret = make_client()
    with pytest.raises(CommandError, match="grace period"):
        run("rotate_client_secret", f"--grace={grace}", "--", client.client_id)
    assert client.secrets.count() == 1
    assert client.check_client_secret(old_secret)


def test_rotate_refuses_unknown_and_public_clients(make_client):
    with pytest.raises(CommandError, match="No client with client_id 'nope'"):
        run("rotate_client_secret", "nope")
    public, _ = make_client(client_type=Client.Type.PUBLIC)
    with pytest.raises(CommandError, match="public client has no secret"):
        run("rotate_client_secret", "--", public.client_id)
    assert not ClientSecret.objects.filter(client=public).exists()


def test_rotate_handles_a_client_id_that_looks_like_an_option(make_client):
    # Generated ids are URL-safe base64 and may start with "-": after "--" they are positional.
    client, old_secret = make_client(client_id="-starts-with-a-dash")
    out, _ = run("rotate_client_secret", "--grace=immediately", "--", "-starts-with-a-dash")
    assert client.check_client_secret(secret_from(out))
    assert not client.check_client_secret(old_secret)


# --- revoke_tokens ---------------------------------------------------------------------------


@pytest.fixture
def tokens(make_client, end_user, django_user_model):
    """Tokens of two clients and two users, one already revoked, one issued 10 days ago."""
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    first, _ = make_client("First")
    second, _ = make_client("Second")
    rows = {
        "first_alice": issue_token(first, end_user),
        "first_bob": issue_token(first, bob),
        "first_old": issue_token(first, end_user, issued_ago=timedelta(days=10)),
        "second_alice": issue_token(second, end_user),
        "second_bob": issue_token(second, bob),
    }
    already = issue_token(second, bob)
    services.revoke_single_token(already, actor=Actor.system("tests"), reason="earlier")
    rows["second_revoked"] = already
    return {"first": first, "second": second, "bob": bob, "alice": end_user, **rows}


def revoked_ids() -> set[int]:
    return set(Token.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True))


def test_revoke_by_client_counts_and_revokes_only_that_clients_tokens(tokens):
    out, _ = run("revoke_tokens", f"--client={tokens['first'].client_id}", "--yes", "--reason", "leaked")
    assert "3 token(s)" in out and "will be revoked" in out
    assert "Revoked 3 token(s)." in out
    expected = {tokens[k].pk for k in ("first_alice", "first_bob", "first_old", "second_revoked")}
    assert revoked_ids() == expected
    row = Token.objects.get(pk=tokens["first_bob"].pk)
    assert row.revoked_reason == "leaked"
    assert row.revoked_by == "system:revoke_tokens"


def test_revoke_by_user(tokens):
    out, _ = run("revoke_tokens", "--user", "alice", "--yes")
    assert "Revoked 3 token(s)." in out
    assert revoked_ids() == {
        tokens[k].pk for k in ("first_alice", "first_old", "second_alice", "second_revoked")
    }


def test_revoke_all_before_a_date(tokens):
    before = (timezone.now() - timedelta(days=5)).date().isoformat()
    out, _ = run("revoke_tokens", "--all", "--before", before, "--yes")
    assert "Revoked 1 token(s)." in out
    assert revoked_ids() == {tokens["first_old"].pk, tokens["second_revoked"].pk}


def test_revoke_all(tokens):
    out, _ = run("revoke_tokens", "--all", "--yes")
    assert "Revoked 5 token(s)." in out
    assert not Token.objects.filter(revoked_at__isnull=True).exists()


def test_revoke_sends_one_signal_naming_the_command_and_criteria(tokens, django_capture_on_commit_callbacks):
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.tokens_revoked.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run("revoke_tokens", "--user", "bob", "--before", "2999-01-01", "--yes", "--reason", "offboarded")
    finally:
        signals.tokens_revoked.disconnect(receiver)
    assert len(received) == 1
    event = received[0]
    assert event["count"] == 2
    assert event["reason"] == "offboarded"
    assert event["actor"].label == "system:revoke_tokens"
    assert event["criteria"]["user"] == "bob"
    assert event["criteria"]["issued_before"].startswith("2999-01-01T00:00:00")


def test_create_client_sends_client_created_by_the_command(django_capture_on_commit_callbacks):
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.client_created.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            out, _ = run(
                "create_oauth_client", "Signal app", "--redirect-uris", "https://s.example/cb", "--json"
            )
    finally:
        signals.client_created.disconnect(receiver)
    assert [event["client"].client_id for event in received] == [json.loads(out)["client_id"]]
    assert received[0]["actor"].label == "system:create_oauth_client"


def test_revoke_without_yes_and_without_a_terminal_refuses(tokens):
    # pytest's stdin is not a terminal, like cron's or a pipe's.
    with pytest.raises(CommandError, match="pass --yes"):
        run("revoke_tokens", "--all")
    with pytest.raises(CommandError, match="pass --yes"):
        run("revoke_tokens", "--all", stdin=io.StringIO("yes\n"))
    assert revoked_ids() == {tokens["second_revoked"].pk}


def test_revoke_asks_on_a_terminal_and_honours_the_answer(tokens):
    with pytest.raises(CommandError, match="Cancelled"):
        run("revoke_tokens", "--user", "bob", stdin=FakeTerminal("no\n"))
    assert revoked_ids() == {tokens["second_revoked"].pk}

    out, _ = run("revoke_tokens", "--user", "bob", stdin=FakeTerminal("yes\n"))
    assert "2 token(s) of user 'bob' will be revoked" in out
    assert "Type 'yes'" in out
    assert "Revoked 2 token(s)." in out
    assert revoked_ids() == {tokens[k].pk for k in ("first_bob", "second_bob", "second_revoked")}


def test_revoke_with_nothing_to_revoke_says_so(make_client):
    client, _ = make_client()
    out, _ = run("revoke_tokens", f"--client={client.client_id}")  # no prompt needed: nothing to do
    assert "nothing to do" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client", "nope", "--yes"], "No client with client_id 'nope'"),
        (["--user", "nobody", "--yes"], "No user named 'nobody'"),
        (["--all", "--before", "last tuesday", "--yes"], "Invalid date"),
        (["--all", "--before", "2026-02-30", "--yes"], "Invalid date"),
        (["--all", "--reason", "  ", "--yes"], "reason cannot be empty"),
        ([], "one of the arguments --client --user --all is required"),
        (["--all", "--user", "alice"], "not allowed with argument"),
    ],
)
def test_revoke_refuses_bad_input_and_revokes_nothing(tokens, args, message):
    with pytest.raises(CommandError, match=message):
        run("revoke_tokens", *args)
    assert revoked_ids() == {tokens["second_revoked"].pk}


# --- cleartokens -----------------------------------------------------------------------------


def test_cleartokens_deletes_only_expired_tokens_in_batches(make_client):
    client, _ = make_client()
    expired = [issue_token(client, issued_ago=timedelta(hours=3)) for _ in range(5)]
    live = issue_token(client)
    # The access token expired but its refresh token still works: keep it.
    refreshable = issue_token(client, issued_ago=timedelta(hours=3), refresh=timedelta(days=30))
    refresh_expired = issue_token(client, issued_ago=timedelta(hours=3), refresh=timedelta(hours=2))

    out, _ = run("cleartokens", "--batch-size", "2")
    assert "Deleted 6 expired token(s)." in out
    progress = [line for line in out.splitlines() if "so far" in line]
    assert len(progress) == 3  # 2 + 2 + 2
    assert "deleted 2 expired" in progress[0] and "deleted 6 expired" in progress[-1]
    remaining = set(Token.objects.values_list("pk", flat=True))
    assert remaining == {live.pk, refreshable.pk}
    assert not Token.objects.filter(pk__in=[t.pk for t in [*expired, refresh_expired]]).exists()

    out, _ = run("cleartokens")
    assert "Deleted 0 expired token(s)." in out


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_cleartokens_refuses_a_bad_batch_size(make_client, size):
    client, _ = make_client()
    issue_token(client, issued_ago=timedelta(hours=3))
    with pytest.raises(CommandError, match="batch-size"):
        run("cleartokens", "--batch-size", size)
    assert Token.objects.count() == 1


# --- seed_demo -------------------------------------------------------------------------------


def secret_from(out: str) -> str:
    return next(line.split()[-1] for line in out.splitlines() if "client_secret:" in line)


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo")
    assert not get_user_model().objects.exists()
    assert not Client.objects.exists()


def test_seed_demo_is_idempotent_and_prints_working_credentials(settings):
    settings.DEBUG = True
    user_model = get_user_model()
    first, _ = run("seed_demo")

    for expected in (
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/developers/",
        "http://127.0.0.1:8000/account/apps/",
        "http://127.0.0.1:8000/.well-known/oauth-authorization-server",
        "admin-demo-password",
        "alice-demo-password",
        demo.CONFIDENTIAL_CLIENT_ID,
        demo.PUBLIC_CLIENT_ID,
        "grant_type=client_credentials",
    ):
        assert expected in first
    first_secret = secret_from(first)
    assert f"curl -s -u '{demo.CONFIDENTIAL_CLIENT_ID}:{first_secret}'" in first
    confidential = Client.objects.get(client_id=demo.CONFIDENTIAL_CLIENT_ID)
    assert confidential.check_client_secret(first_secret)

    # Play with the demo: change a password and a client, then seed again.
    alice = user_model.objects.get(username="alice")
    alice.set_password("something-else-123")
    alice.save()
    services.update_client(confidential, actor=Actor.system("tests"), scope=["profile"])
    services.set_client_status(confidential, Client.Status.DISABLED, actor=Actor.system("tests"))

    second, _ = run("seed_demo")
    assert user_model.objects.filter(username="admin").count() == 1
    assert user_model.objects.filter(username="alice").count() == 1
    assert user_model.objects.count() == 4  # admin, alice, dev, security (issue 11: one per role)
    assert Client.objects.count() == 2
    assert "NEW secret" in second
    second_secret = secret_from(second)
    confidential.refresh_from_db()
    assert not confidential.check_client_secret(first_secret)  # rotated with no grace
    assert confidential.check_client_secret(second_secret)
    assert confidential.is_active
    assert confidential.scope_list == ["profile", "email", "read", "write"]

    admin = user_model.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin-demo-password")
    alice = user_model.objects.get(username="alice")
    assert not alice.is_staff and alice.check_password("alice-demo-password")


def test_seed_demo_clients_have_the_demo_settings(settings):
    settings.DEBUG = True
    run("seed_demo")
    confidential = Client.objects.get(client_id=demo.CONFIDENTIAL_CLIENT_ID)
    assert confidential.client_type == Client.Type.CONFIDENTIAL
    assert confidential.redirect_uri_list == [
        "http://127.0.0.1:8000/demo/callback",
        "http://127.0.0.1:8765/callback",
    ]
    assert confidential.grant_type_list == ["authorization_code", "refresh_token", "client_credentials"]
    assert confidential.scope_list == ["profile", "email", "read", "write"]
    public = Client.objects.get(client_id=demo.PUBLIC_CLIENT_ID)
    assert public.is_public and public.token_endpoint_auth_method == "none"
    assert public.redirect_uri_list == ["http://127.0.0.1:8765/callback"]
    assert not public.secrets.exists()


def test_seed_demo_with_force_runs_without_debug(settings):
    settings.DEBUG = False
    out, err = run("seed_demo", "--force")
    assert "admin-demo-password" in out
    assert "DEBUG is off" in err
    assert Client.objects.count() == 2
