from click.testing import CliRunner

from wfm_pipeline.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_services_and_groups_roundtrip(wfm_env) -> None:
    assert run("services", "add", "SALES", "--name", "Sales line", "--time-zone", "Europe/Moscow").exit_code == 0
    assert run("groups", "add", "SALES", "VIP", "--name", "VIP callers").exit_code == 0
    listing = run("services", "list")
    assert "SALES" in listing.output and "Europe/Moscow" in listing.output and "VIP" in listing.output


def test_usage_errors_exit_2_with_a_clear_message(wfm_env) -> None:
    bad_tz = run("services", "add", "X", "--name", "x", "--time-zone", "Nowhere/Land")
    assert bad_tz.exit_code == 2 and 'invalid time zone "Nowhere/Land"' in bad_tz.output
    unknown = run("groups", "add", "NOPE", "G", "--name", "g")
    assert unknown.exit_code == 2 and "unknown service 'NOPE'" in unknown.output
    run("services", "add", "A", "--name", "a", "--time-zone", "UTC")
    for reserved in ("calls", "Agents"):  # landing/<service>/calls|agents/ hold other kinds of file
        refused = run("groups", "add", "A", reserved, "--name", "x")
        assert refused.exit_code == 2 and "is reserved" in refused.output, refused.output
    assert "calls" not in run("services", "list").output
    dup = run("services", "add", "A", "--name", "a", "--time-zone", "UTC")
    assert dup.exit_code == 2 and "already exists" in dup.output


def test_db_upgrade_twice_applies_nothing_the_second_time(wfm_env) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0 and "database is up to date" in result.output
    assert run("db", "url").output.strip().startswith("postgresql://")
