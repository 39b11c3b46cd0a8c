"""Against WFM_DATABASE_URL only `wfm db upgrade` / `wfm dev` migrate; everything else checks.

Data commands and the Dagster resource compare the database's recorded checksums with this
copy's SQL files (one query) and stop with "N migrations pending: run `wfm db upgrade`";
the embedded default is still migrated on first use.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from wfm_pipeline.cli import common
from wfm_pipeline.cli.main import cli
from wfm_pipeline.db import migrations
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.settings import get_settings

_EXTRA = """CREATE OR REPLACE FUNCTION wfm.test_pending_probe() RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = wfm, pg_catalog, pg_temp AS $$ SELECT 7 $$;
COMMENT ON FUNCTION wfm.test_pending_probe() IS 'test';
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _schema_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass('wfm.schema_migrations')").fetchone()[0] is not None


def _sql_with_new_function(tmp_path: Path) -> Path:
    """A copy of this checkout's sql/ plus one new repeatable file."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    (sql_dir / "functions" / "testing").mkdir()
    (sql_dir / "functions" / "testing" / "test_pending_probe.sql").write_text(_EXTRA)
    return sql_dir


@pytest.fixture
def external_env(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`wfm` pointed by WFM_DATABASE_URL at a database with no migrations applied."""
    monkeypatch.setenv("WFM_DATABASE_URL", empty_db_url)
    monkeypatch.setenv("WFM_HOME", str(tmp_path / "home"))
    return empty_db_url


def test_pending_lists_every_file_then_nothing_then_a_changed_one(empty_db_url: str, tmp_path: Path) -> None:
    every = ([m.path.name for m in migrations.discover()]
             + [f"functions/{r.name}" for r in migrations.discover_repeatables()])
    assert migrations.pending(empty_db_url) == every
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    migrations.upgrade(empty_db_url, sql_dir)
    assert migrations.pending(empty_db_url, sql_dir) == []

    first = sorted(sql_dir.glob("0*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    assert migrations.pending(empty_db_url, sql_dir) == [f"{first.name} (changed since applied)"]


def test_a_data_command_against_wfm_database_url_fails_fast_and_migrates_nothing(external_env: str) -> None:
    result = run("batches", "list")
    assert result.exit_code == 1
    count = len(migrations.pending(external_env))
    assert f"{count} migrations pending: run `wfm db upgrade`" in result.output
    assert not _schema_exists(external_env)

    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0 and "applied 001_" in upgraded.output
    listed = run("batches", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert migrations.pending(external_env) == []


def test_a_changed_function_file_is_pending_until_db_upgrade(wfm_env: Path, db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFM_SQL_DIR", str(_sql_with_new_function(tmp_path)))
    result = run("services", "list")
    assert result.exit_code == 1
    assert "1 migration pending: run `wfm db upgrade` (functions/testing/test_pending_probe.sql)" in result.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regprocedure('wfm.test_pending_probe()')").fetchone()[0] is None

    assert run("db", "upgrade").output.strip() == "applied functions/testing/test_pending_probe.sql"
    assert run("services", "list").exit_code == 0


def test_data_commands_no_longer_premake_partitions(wfm_env: Path, conn: psycopg.Connection) -> None:
    last = conn.execute(
        """SELECT partition::text FROM wfm.partitions WHERE parent_table = 'wfm.contact_statistics'::regclass
           AND NOT is_guard ORDER BY range_start DESC LIMIT 1""").fetchone()[0]
    conn.execute(f"DROP TABLE {last}")
    conn.commit()
    assert run("batches", "list").exit_code == 0
    # `wfm batches list` used to run the migrations and premake: the month would be back.
    assert conn.execute("SELECT count(*) FROM wfm.missing_premade_partitions").fetchone()[0] == 1
    assert run("db", "upgrade").exit_code == 0
    assert conn.execute("SELECT count(*) FROM wfm.missing_premade_partitions").fetchone()[0] == 0


def test_the_embedded_default_still_migrates_on_first_use(empty_db_url: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # No WFM_DATABASE_URL: the embedded server's database is the one in use. The test stands an
    # empty database of the test server in for it (a second server would cost a GB of buffers).
    monkeypatch.delenv("WFM_DATABASE_URL", raising=False)
    monkeypatch.setenv("WFM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(common.connection, "database_url", lambda settings=None: empty_db_url)
    result = run("services", "list")
    assert result.exit_code == 0, result.output
    assert "no services yet" in result.output
    assert migrations.pending(empty_db_url) == []


def test_the_dagster_resource_fails_fast_on_an_unmigrated_database(empty_db_url: str) -> None:
    resource = WfmDatabase(url=empty_db_url)
    with pytest.raises(migrations.PendingMigrations, match=r"\d+ migrations pending: run `wfm db upgrade`"):
        resource.resolved_url()
    assert not _schema_exists(empty_db_url)

    from wfm_pipeline.defs.warehouse import partition_premake_job

    failed = partition_premake_job.execute_in_process(resources={"wfm_db": resource}, raise_on_error=False)
    assert not failed.success
    errors = [e.event_specific_data.error.to_string() for e in failed.all_events
              if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert errors and "migrations pending: run `wfm db upgrade`" in errors[0], errors

    migrations.upgrade(empty_db_url)
    assert resource.resolved_url() == empty_db_url
    assert partition_premake_job.execute_in_process(resources={"wfm_db": resource}).success


def test_the_dagster_resource_reads_wfm_database_url_at_use(empty_db_url: str, db_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    resource = WfmDatabase()   # as definitions.py binds it: the settings decide
    monkeypatch.setenv("WFM_DATABASE_URL", empty_db_url)
    with pytest.raises(migrations.PendingMigrations):
        resource.resolved_url()
    monkeypatch.setenv("WFM_DATABASE_URL", db_url)
    assert resource.resolved_url() == db_url
