import shutil
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.db import migrations
from wfm_pipeline.settings import get_settings


def test_upgrade_applies_everything_once_then_nothing(empty_db_url: str) -> None:
    first = migrations.upgrade(empty_db_url)
    assert first == [m.path.name for m in migrations.discover()] + \
        [f"functions/{r.name}" for r in migrations.discover_repeatables()]
    assert migrations.upgrade(empty_db_url) == []
    with psycopg.connect(empty_db_url) as conn:
        recorded = conn.execute("SELECT filename, sha256 FROM wfm.schema_migrations ORDER BY version").fetchall()
    assert [(m.path.name, m.sha256) for m in migrations.discover()] == recorded


def test_changed_applied_migration_is_a_clear_error(empty_db_url: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    migrations.upgrade(empty_db_url, sql_dir)
    target = sql_dir / "003_services_groups.sql"
    target.write_text(target.read_text() + "\n-- an edit after the fact\n")
    with pytest.raises(migrations.MigrationError, match="003_services_groups.sql was applied .* must not change"):
        migrations.upgrade(empty_db_url, sql_dir)


def test_failing_migration_is_rolled_back_and_named(empty_db_url: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    (sql_dir / "999_broken.sql").write_text("CREATE TABLE wfm.half_done (id int);\nSELECT 1/0;\n")
    with pytest.raises(migrations.MigrationError, match="999_broken.sql failed"):
        migrations.upgrade(empty_db_url, sql_dir)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('wfm.half_done')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM wfm.schema_migrations WHERE version = '999'").fetchone()[0] == 0


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_x.sql").write_text("SELECT 1;")
    with pytest.raises(migrations.MigrationError, match="NNN_lower_snake.sql"):
        migrations.discover(tmp_path)


def test_status_lists_pending_then_applied(empty_db_url: str) -> None:
    assert {state for _, state in migrations.status(empty_db_url)} == {"pending"}
    migrations.upgrade(empty_db_url)
    assert {state for _, state in migrations.status(empty_db_url)} == {"applied"}


def _with_function_file(tmp_path: Path, name: str, body: str) -> Path:
    sql_dir = tmp_path / "sql"
    if not sql_dir.exists():
        shutil.copytree(get_settings().sql_dir, sql_dir)
    target = sql_dir / "functions" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)
    return sql_dir


_ANSWER = """CREATE OR REPLACE FUNCTION wfm.test_answer() RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = wfm, pg_catalog, pg_temp AS $$ SELECT {value} $$;
COMMENT ON FUNCTION wfm.test_answer() IS 'test';
"""


def test_repeatable_files_apply_once_and_again_when_changed(empty_db_url: str, tmp_path: Path) -> None:
    sql_dir = _with_function_file(tmp_path, "area/test_answer.sql", _ANSWER.format(value=41))
    first = migrations.upgrade(empty_db_url, sql_dir)
    assert "functions/area/test_answer.sql" in first
    assert migrations.upgrade(empty_db_url, sql_dir) == []
    assert ("functions/area/test_answer.sql", "applied") in migrations.status(empty_db_url, sql_dir)

    _with_function_file(tmp_path, "area/test_answer.sql", _ANSWER.format(value=42))
    assert ("functions/area/test_answer.sql", "changed") in migrations.status(empty_db_url, sql_dir)
    assert migrations.upgrade(empty_db_url, sql_dir) == ["functions/area/test_answer.sql"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT wfm.test_answer()").fetchone()[0] == 42


def test_failing_repeatable_file_changes_nothing_and_is_named(empty_db_url: str, tmp_path: Path) -> None:
    sql_dir = _with_function_file(tmp_path, "test_answer.sql", _ANSWER.format(value=1))
    migrations.upgrade(empty_db_url, sql_dir)
    _with_function_file(tmp_path, "test_answer.sql", _ANSWER.format(value=2))
    _with_function_file(tmp_path, "zz_broken.sql", "SELECT 1/0;")
    with pytest.raises(migrations.MigrationError, match="sql/functions/zz_broken.sql failed"):
        migrations.upgrade(empty_db_url, sql_dir)
    with psycopg.connect(empty_db_url) as conn:
        # All changed files are one transaction: the good one did not land without the other.
        assert conn.execute("SELECT wfm.test_answer()").fetchone()[0] == 1


def test_checksum_of_covers_repeatable_files(tmp_path: Path) -> None:
    sql_dir = _with_function_file(tmp_path, "test_answer.sql", _ANSWER.format(value=1))
    before = migrations.checksum_of(sql_dir)
    _with_function_file(tmp_path, "test_answer.sql", _ANSWER.format(value=2))
    assert migrations.checksum_of(sql_dir) != before
