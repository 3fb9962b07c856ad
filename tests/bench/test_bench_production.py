"""`make bench` measures production (issue 13, item 1): ours as docs/deployment.md deploys it,
with Redis, beside a secondary local-memory instance; the references at their own defaults."""

import runpy

import pytest

from bench import databases, report, scenarios, servers
from tests.bench.test_bench_harness import CREDS, HOSTS, m, measurements_for

LOCAL_HOSTS = HOSTS | {"ours-local": "127.0.0.1:4"}


def env_of(name: str, monkeypatch, **outside: str) -> dict[str, str]:
    for key, value in outside.items():
        monkeypatch.setenv(key, value)
    spec = servers.specs(18401, local_memory=True)[name]
    return servers.server_env(spec, database="sqlite:///x", secret_key="k" * 50, conn_max_age=60)


def test_ours_runs_with_the_production_environment_of_the_deployment_docs(monkeypatch):
    env = env_of("ours", monkeypatch, REDIS_URL="redis://elsewhere:1/0")
    assert env["REDIS_URL"] == servers.REDIS_URL == "redis://127.0.0.1:6379/12"
    assert env["DEBUG"] == "0" and env["SECURE_SSL_REDIRECT"] == "1"
    assert env["SECURE_PROXY_SSL_HEADER"] == "1" and env["OAUTH2_ISSUER"] == "https://127.0.0.1:18401"
    # The credential and audit keys are their own, not derived from SECRET_KEY; the run's cache
    # keys have a prefix of their own.
    assert len({env["OAUTH2_CREDENTIAL_KEY"], env["AUDIT_HASH_KEY"], env["SECRET_KEY"]}) == 3
    assert env["CACHE_KEY_PREFIX"].startswith("bench-")
    assert "CACHE_URL" not in env
    # The run stops unless `check --deploy` finds nothing to warn about.
    spec = servers.specs(18401)["ours"]
    assert ["manage.py", "check", "--deploy", "--fail-level", "WARNING"] in spec.setup


def test_the_local_memory_instance_shares_ours_database_and_keys(monkeypatch):
    ours, local = env_of("ours", monkeypatch), env_of("ours-local", monkeypatch)
    spec = servers.specs(18401, local_memory=True)["ours-local"]
    assert spec.shares == "ours" and spec.port == 18404
    assert databases.database_url(spec, "postgres://u@h:5432/x").endswith("/bench_ours")
    assert local["CACHE_URL"] == "locmem://" and "REDIS_URL" not in local
    for key in ("OAUTH2_CREDENTIAL_KEY", "AUDIT_HASH_KEY", "SECRET_KEY"):
        assert local[key] == ours[key]  # tokens issued by either verify on both
    assert "ours-local" not in servers.specs(18401)


@pytest.mark.parametrize("name", ["dot", "bare"])
def test_references_get_no_cache_of_ours_and_no_connection_health_checks(name, monkeypatch):
    env = env_of(name, monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0", CACHE_URL="redis://x/1")
    assert "REDIS_URL" not in env and "CACHE_URL" not in env and "SECURE_SSL_REDIRECT" not in env
    # Django's defaults, as the references' users run them (Django's CONN_HEALTH_CHECKS is off).
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h:5432/bench_x")
    spec = servers.specs(18401)[name]
    settings = runpy.run_path(str(spec.project_dir / "settings.py"))
    assert settings["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is False
    assert settings["DATABASES"]["default"]["CONN_MAX_AGE"] == 60


def test_every_scenario_measures_the_local_memory_instance_as_a_secondary_line():
    for scenario in scenarios.build(CREDS, LOCAL_HOSTS):
        local = scenario.target("ours-local")
        ours = scenario.target("ours")
        assert scenario.secondary == ("ours-local",)
        assert local.template == ours.template and local.token_file == ours.token_file
        headers = local.params.get("HEADERS") or local.params["AUTHORIZE_HEADERS"]
        assert headers["Host"] == "127.0.0.1:4"
        assert "local-memory cache" in local.label and "Redis" not in local.label
    assert all(not s.secondary for s in scenarios.build(CREDS, HOSTS))


def with_local(built):
    data = measurements_for(built)
    cc = built[0]
    return data + [m(report.key(cc, "ours-local"), n, rate) for n, rate in ((1, 1000), (2, 1200))]


def test_results_show_the_secondary_line_under_ours_and_leave_it_out_of_the_goals():
    built = scenarios.build(CREDS, LOCAL_HOSTS)
    data = with_local(built)
    lines = report.results_table(built[:1], data).splitlines()
    assert "Redis (production)" in lines[2]
    assert "local-memory cache" in lines[3]
    assert lines[3].split("|")[7].strip() == "1.10x"  # vs bare: median of 1000/1000 and 1200/1000
    assert "2.00x (plain)" in lines[3]  # median of 1000/500 and 1200/600
    summary = report.production_table(built[:1], data)
    assert "| client_credentials ÷ DOT (hashing off) | 1.37x | 2.00x |" in summary
    assert "| client_credentials ÷ bare Django | 0.75x | 1.10x |" in summary
    goals = report.goals_table(built, data)
    assert "2.00x" not in goals and "1.10x" not in goals


def test_the_page_states_the_targets_of_issue_13():
    built = scenarios.build(CREDS, LOCAL_HOSTS)[:1]
    page = report.render_markdown(built, with_local(built), {"date": "d", "database": "PostgreSQL"}, None)
    assert "## Production at a glance" in page
    assert "Target (issue 13, 14)" in page and "python -m bench.profile" in page


def test_a_database_prefix_keeps_another_bench_s_databases():
    # Two benches on one PostgreSQL server (a helper's beside `make bench`): bench_<prefix><name>,
    # so neither drops the other's databases; anything but a plain name is refused.
    spec = servers.specs(18401)["ours"]
    assert databases.database_url(spec, "postgres://u@h:5432/x", "t13h_").endswith("/bench_t13h_ours")
    assert databases.database_url(spec, "postgres://u@h:5432/x").endswith("/bench_ours")
    with pytest.raises(ValueError):
        databases.database_url(spec, "postgres://u@h:5432/x", "x; DROP")
