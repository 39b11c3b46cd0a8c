import shutil
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.db import migrations
from wfm_pipeline.settings import get_settings


def test_upgrade_applies_everything_once_then_nothing(empty_db_url: str) -> None:
    first = migrations.upgrade(empty_db_url)
    assert first == [m.path.name for m in migrations.discover()]
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
