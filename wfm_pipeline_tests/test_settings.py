"""One configuration object: Settings from the environment, no cache, every variable documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wfm_pipeline import settings as settings_module
from wfm_pipeline.settings import Settings, get_settings, load_settings, packaged_sql_dir

CHECKOUT = Path(__file__).resolve().parent.parent


def test_defaults_and_derived_paths(tmp_path: Path) -> None:
    s = load_settings({"WFM_HOME": str(tmp_path)})
    assert s.embedded and s.database_url is None
    assert (s.landing_dir, s.dagster_home, s.pgdata) == (tmp_path / "landing", tmp_path / "dagster", tmp_path / "pg")
    assert (s.landing_settle_seconds, s.landing_strict) == (20.0, False)
    assert (s.import_lock_timeout_ms, s.import_retries, s.import_retry_backoff_s) == (5000, 3, 0.5)
    assert s.sql_dir == packaged_sql_dir()


def test_every_variable_is_parsed(tmp_path: Path) -> None:
    s = load_settings({
        "WFM_DATABASE_URL": "postgresql://u@h/db", "WFM_HOME": str(tmp_path / "h"),
        "WFM_LANDING_DIR": str(tmp_path / "in"), "DAGSTER_HOME": str(tmp_path / "d"),
        "WFM_SQL_DIR": str(tmp_path / "sql"), "WFM_LANDING_SETTLE_SECONDS": "0",
        "WFM_LANDING_STRICT": "Yes", "WFM_IMPORT_LOCK_TIMEOUT_MS": "250", "WFM_IMPORT_RETRIES": "0",
        "WFM_IMPORT_RETRY_BACKOFF_MS": "20", "WFM_MAX_FILE_MB": "2.5", "WFM_CSV_ENCODING": "cp1251",
    })
    assert s == Settings(
        database_url="postgresql://u@h/db", home=tmp_path / "h", landing_dir=tmp_path / "in",
        dagster_home=tmp_path / "d", sql_dir=tmp_path / "sql", landing_settle_seconds=0.0, landing_strict=True,
        import_lock_timeout_ms=250, import_retries=0, import_retry_backoff_s=0.02, max_file_mb=2.5,
        csv_encoding="cp1251")
    assert not s.embedded


@pytest.mark.parametrize("name, value", [
    ("WFM_LANDING_STRICT", "maybe"), ("WFM_LANDING_SETTLE_SECONDS", "-1"), ("WFM_LANDING_SETTLE_SECONDS", "soon"),
    ("WFM_IMPORT_RETRIES", "1.5"), ("WFM_IMPORT_LOCK_TIMEOUT_MS", "0"), ("WFM_MAX_FILE_MB", "0"),
])
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})


def test_a_changed_environment_counts_at_the_next_call_without_clearing_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFM_HOME", str(tmp_path / "one"))
    monkeypatch.setenv("WFM_LANDING_STRICT", "0")
    assert get_settings().home == tmp_path / "one" and not get_settings().landing_strict
    monkeypatch.setenv("WFM_HOME", str(tmp_path / "two"))
    monkeypatch.setenv("WFM_LANDING_STRICT", "1")
    assert get_settings().home == tmp_path / "two" and get_settings().landing_strict
    assert not hasattr(get_settings, "cache_clear")


def test_the_checkout_uses_its_own_sql_folder() -> None:
    # Imported from this checkout (editable install or PYTHONPATH): its sql/, so edits count at once.
    assert packaged_sql_dir() == CHECKOUT / "sql"


def test_no_test_clears_a_cache_and_no_module_reads_the_environment_itself() -> None:
    offenders = [str(p.relative_to(CHECKOUT)) for p in (CHECKOUT / "wfm_pipeline_tests").glob("*.py")
                 if "cache_clear" in p.read_text() and p.name != Path(__file__).name]
    assert offenders == []
    # Configuration is read in settings.py only; os.environ elsewhere is handed to subprocesses.
    readers = []
    for path in (CHECKOUT / "wfm_pipeline").rglob("*.py"):
        text = path.read_text()
        if path.name != "settings.py" and re.search(r"os\.environ\.get|os\.getenv|os\.environ\[", text):
            readers.append(str(path.relative_to(CHECKOUT)))
    assert readers == []


def test_every_setting_is_in_the_operations_table() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", (CHECKOUT / "docs" / "operations.md").read_text(), re.M))
    read = set(re.findall(r'"((?:WFM|DAGSTER)_[A-Z_]+)"', Path(settings_module.__file__).read_text()))
    assert read and read <= documented, read - documented
