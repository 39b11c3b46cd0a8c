import re
import shutil
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.db import migrations
from wfm_pipeline.settings import get_settings


def test_upgrade_applies_everything_once_then_nothing(empty_db_url: str) -> None:
    first = migrations.upgrade(empty_db_url)
    numbered = [m.path.name for m in migrations.discover()]
    repeatable = [f"functions/{r.name}" for r in migrations.discover_repeatables()]
    assert sorted(first) == sorted(numbered + repeatable)          # every file, each once
    assert [name for name in first if not name.startswith("functions/")] == numbered
    # What a file requires was applied before it (the versioned files' right before them).
    for name, requires in [(m.path.name, m.requires) for m in migrations.discover()] + [
            (f"functions/{r.name}", r.requires) for r in migrations.discover_repeatables()]:
        for required in requires:
            assert first.index(f"functions/{required}") < first.index(name), (name, required)
    assert first.index("functions/reference/services_validate_time_zone.sql") == first.index("003_services_groups.sql") - 1
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


# ---------------------------------------------------------------- legacy checksums (release 0.2 rewrite)

def _rewrite_after_apply(tmp_path: Path, name: str = "003_services_groups.sql") -> tuple[Path, str]:
    """A copy of the sql/ that db_url was migrated with, one file rewritten; returns the copy and
    the checksum the database recorded for that file."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    target = sql_dir / name
    recorded = migrations.Migration(name[:3], target).sha256
    target.write_text(target.read_text() + "\n-- rewritten: same objects, other text\n")
    return sql_dir, recorded


def test_rewritten_migration_is_accepted_with_its_legacy_checksum(db_url: str, tmp_path: Path) -> None:
    sql_dir, recorded = _rewrite_after_apply(tmp_path)
    with pytest.raises(migrations.MigrationError, match="003_services_groups.sql was applied"):
        migrations.upgrade(db_url, sql_dir)
    legacy = sql_dir / migrations.LEGACY_CHECKSUMS_FILE
    legacy.write_text(legacy.read_text() + f"003_services_groups.sql {recorded}  # the text the database applied\n")
    assert recorded in migrations.legacy_checksums(sql_dir)["003_services_groups.sql"]
    assert migrations.upgrade(db_url, sql_dir) == []


def test_legacy_checksum_counts_only_for_its_own_file(db_url: str, tmp_path: Path) -> None:
    sql_dir, recorded = _rewrite_after_apply(tmp_path)
    legacy = sql_dir / migrations.LEGACY_CHECKSUMS_FILE
    legacy.write_text(legacy.read_text() + f"004_import_audit.sql {recorded}\n")
    with pytest.raises(migrations.MigrationError, match="003_services_groups.sql was applied .* must not change"):
        migrations.upgrade(db_url, sql_dir)


def test_every_rewritten_release_01_file_has_its_legacy_checksum(previous_release_sql: Path) -> None:
    """The shipped table covers the files release 0.2 rewrote, and only those (fixture: 0.1's sql/)."""
    old = previous_release_sql
    legacy = migrations.legacy_checksums()
    current = {m.path.name: m.sha256 for m in migrations.discover()}
    rewritten = {m.path.name: m.sha256 for m in migrations.discover(old) if current.get(m.path.name) != m.sha256}
    assert rewritten and set(rewritten) <= set(current)        # rewritten, not renamed or dropped
    assert {name: {sha} for name, sha in rewritten.items()} == {name: set(shas) for name, shas in legacy.items()}


@pytest.mark.parametrize("line, error", [
    ("003_services_groups.sql", "expected 'NNN_name.sql <sha256>'"),
    ("003_services_groups.sql abc", "expected 'NNN_name.sql <sha256>'"),
    (f"999_gone.sql {'0' * 64}", "999_gone.sql is not a migration file"),
])
def test_malformed_legacy_checksums_are_refused(tmp_path: Path, line: str, error: str) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    (sql_dir / migrations.LEGACY_CHECKSUMS_FILE).write_text(f"# comment\n\n{line}\n")
    with pytest.raises(migrations.MigrationError, match=f"legacy_checksums.txt:3: .*{error}"):
        migrations.legacy_checksums(sql_dir)


# ---------------------------------------------------------------- -- requires: headers

_USES_ANSWER = """-- requires: functions/area/test_answer.sql
-- A versioned file whose column default calls a function of sql/functions/.
CREATE TABLE wfm.test_uses_answer (x integer DEFAULT wfm.test_answer());
"""


def test_required_repeatable_is_applied_just_before_the_migration(db_url: str, tmp_path: Path) -> None:
    sql_dir = _with_function_file(tmp_path, "area/test_answer.sql", _ANSWER.format(value=7))
    (sql_dir / "999_uses_answer.sql").write_text(_USES_ANSWER)
    # Applied once, right before the file that needs it (not again with the other repeatables).
    assert migrations.upgrade(db_url, sql_dir) == ["functions/area/test_answer.sql", "999_uses_answer.sql"]
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO wfm.test_uses_answer DEFAULT VALUES")
        assert conn.execute("SELECT x FROM wfm.test_uses_answer").fetchone()[0] == 7
    assert migrations.upgrade(db_url, sql_dir) == []


def test_without_its_requires_header_the_migration_fails(db_url: str, tmp_path: Path) -> None:
    sql_dir = _with_function_file(tmp_path, "area/test_answer.sql", _ANSWER.format(value=7))
    (sql_dir / "999_uses_answer.sql").write_text(_USES_ANSWER.split("\n", 1)[1])
    with pytest.raises(migrations.MigrationError, match="999_uses_answer.sql failed: .*test_answer"):
        migrations.upgrade(db_url, sql_dir)


def test_failing_required_repeatable_rolls_back_the_migration(db_url: str, tmp_path: Path) -> None:
    sql_dir = _with_function_file(tmp_path, "area/test_answer.sql", "SELECT 1/0;\n")
    (sql_dir / "999_uses_answer.sql").write_text(_USES_ANSWER)
    with pytest.raises(migrations.MigrationError, match="999_uses_answer.sql failed: sql/functions/area/test_answer.sql failed"):
        migrations.upgrade(db_url, sql_dir)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM wfm.schema_migrations WHERE version = '999'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM wfm.schema_repeatables WHERE path = 'area/test_answer.sql'").fetchone()[0] == 0


def test_requires_are_transitive_and_order_repeatables(db_url: str, tmp_path: Path) -> None:
    # Views need an order: v1 reads v2, v2 reads v3, and the file names sort the other way round.
    _with_function_file(tmp_path, "area/v1.sql", "-- requires: functions/area/v2.sql\n"
                        "CREATE OR REPLACE VIEW wfm.test_v1 AS SELECT x + 1 AS x FROM wfm.test_v2;\n")
    _with_function_file(tmp_path, "area/v2.sql", "-- requires: functions/area/v3.sql\n"
                        "CREATE OR REPLACE VIEW wfm.test_v2 AS SELECT x + 1 AS x FROM wfm.test_v3;\n")
    sql_dir = _with_function_file(tmp_path, "area/v3.sql", "CREATE OR REPLACE VIEW wfm.test_v3 AS SELECT 1 AS x;\n")
    (sql_dir / "999_reads_v1.sql").write_text("-- requires: functions/area/v1.sql\n"
                                              "CREATE MATERIALIZED VIEW wfm.test_mv AS SELECT x FROM wfm.test_v1;\n")
    assert migrations.upgrade(db_url, sql_dir) == [
        "functions/area/v3.sql", "functions/area/v2.sql", "functions/area/v1.sql", "999_reads_v1.sql"]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT x FROM wfm.test_mv").fetchone()[0] == 3

    # Changed later without a versioned file: the repeatables alone, still in dependency order.
    for name in ("v1", "v2", "v3"):
        path = sql_dir / "functions" / "area" / f"{name}.sql"
        path.write_text(path.read_text() + "-- touched\n")
    assert migrations.upgrade(db_url, sql_dir) == [
        "functions/area/v3.sql", "functions/area/v2.sql", "functions/area/v1.sql"]


def test_requires_header_only_counts_in_the_leading_comments(tmp_path: Path) -> None:
    path = tmp_path / "999_x.sql"
    path.write_text("-- A header.\n-- requires: functions/a/b.sql, functions/a/c.sql\n\n"
                    "-- REQUIRES: functions/a/d.sql\nSELECT 1;\n-- requires: functions/a/late.sql\n")
    assert migrations.Migration("999", path).requires == ("a/b.sql", "a/c.sql", "a/d.sql")


@pytest.mark.parametrize("files, error", [
    ({"999_x.sql": "-- requires: functions/area/missing.sql\nSELECT 1;\n"},
     "999_x.sql requires functions/area/missing.sql, which does not exist"),
    ({"999_x.sql": "-- requires: area/test_answer.sql\nSELECT 1;\n"}, "name a file as functions/"),
    ({"999_x.sql": "-- requires: functions/area/p.sql\nSELECT 1;\n",
      "functions/area/p.sql": "-- requires: functions/area/q.sql\nSELECT 1;\n",
      "functions/area/q.sql": "-- requires: functions/area/p.sql\nSELECT 1;\n"},
     "requires form a cycle: functions/area/p.sql -> functions/area/q.sql -> functions/area/p.sql"),
])
def test_bad_requires_are_clear_errors(db_url: str, tmp_path: Path, files: dict, error: str) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(get_settings().sql_dir, sql_dir)
    for name, text in files.items():
        (sql_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (sql_dir / name).write_text(text)
    with pytest.raises(migrations.MigrationError, match=re.escape(error)):
        migrations.upgrade(db_url, sql_dir)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM wfm.schema_migrations WHERE version = '999'").fetchone()[0] == 0
