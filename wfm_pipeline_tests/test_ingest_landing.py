"""The landing folder helpers: partition keys, scanning, locating, archiving, rejecting (no database)."""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

from wfm_pipeline.argus.errors import FILE_UNREADABLE, RowError
from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.ingest import landing

SHA = "0123456789abcdef" * 4


@pytest.mark.parametrize("name", ["jan.xlsx", "отчёт за январь.xlsx", "a...b@c,d[1]/e.csv", "tab\there.xls",
                                  "漢" * 200 + ".xlsx"])
def test_partition_keys_are_dagster_legal_readable_and_parse_back(name: str) -> None:
    key = landing.partition_key("S1", "G1", name, SHA)
    dg.StaticPartitionsDefinition([key])  # raises on substrings Dagster forbids ('...', control characters)
    parsed = landing.parse_partition_key(key)
    assert (parsed.service_code, parsed.group_code, parsed.sha_prefix) == ("S1", "G1", SHA[:12])
    assert "@" not in parsed.name and "," not in parsed.name and "/" not in parsed.name
    assert len(parsed.name) <= landing.MAX_NAME_LEN and parsed.name.endswith((".xlsx", ".csv", ".xls"))
    assert len(f"{parsed.name}@{SHA[:12]}".encode()) <= 255  # the IO manager stores outputs under the key


def test_service_level_keys_use_an_underscore_group() -> None:
    key = landing.partition_key("S1", None, "jan.xlsx", SHA)
    assert key == f"S1/_/jan.xlsx@{SHA[:12]}"
    assert landing.parse_partition_key(key).group_code is None
    with pytest.raises(ValueError, match="not an Argus file partition key"):
        landing.parse_partition_key("2024-01-01")


def test_scan_finds_service_and_group_files_and_flags_misplaced_ones(tmp_path: Path) -> None:
    for rel in ("S1/a.csv", "S1/G1/b.xlsx", "S1/G1/deep/c.xls", "top.csv", "S1/~$a.xlsx", "S1/a.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found = {f.rel: (f.service_code, f.group_code) for f in landing.scan_landing(tmp_path)}
    assert found == {"S1/a.csv": ("S1", None), "S1/G1/b.xlsx": ("S1", "G1"),
                     "S1/G1/deep/c.xls": (None, None), "top.csv": (None, None)}
    assert landing.scan_landing(tmp_path / "missing") == []


def test_locate_confirms_content_and_finds_archived_files_even_after_a_name_clash(tmp_path: Path) -> None:
    landing_dir, archive_dir = tmp_path / "landing", tmp_path / "archive"
    (landing_dir / "S1").mkdir(parents=True)
    first = landing_dir / "S1" / "jan.csv"
    first.write_text("first")
    key_1 = landing.partition_key("S1", None, "jan.csv", file_sha256(first))
    assert landing.locate(key_1, landing_dir, archive_dir) == (first, file_sha256(first))

    when = datetime(2026, 3, 5, tzinfo=timezone.utc)
    archived_1 = landing.archive(first, "S1", file_sha256(first), archive_dir, now=when)
    assert archived_1 == archive_dir / "S1" / "2026" / "03" / "jan.csv"
    second = landing_dir / "S1" / "jan.csv"  # a corrected file with the same name
    second.write_text("second")
    sha_2 = file_sha256(second)
    key_2 = landing.partition_key("S1", None, "jan.csv", sha_2)
    assert landing.locate(key_1, landing_dir, archive_dir)[0] == archived_1   # not the new file
    archived_2 = landing.archive(second, "S1", sha_2, archive_dir, now=when)
    assert archived_2.name == f"jan.{sha_2[:12]}.csv" and archived_1.read_text() == "first"
    assert landing.locate(key_2, landing_dir, archive_dir)[0] == archived_2
    assert landing.locate(f"S1/_/jan.csv@{'f' * 12}", landing_dir, archive_dir) is None


def test_reject_keeps_the_landing_path_never_overwrites_and_explains(tmp_path: Path) -> None:
    landing_dir, rejected_dir = tmp_path / "landing", tmp_path / "rejected"
    error = RowError(None, None, FILE_UNREADABLE, "bad.xlsx: not a readable Excel file", None)
    targets = []
    for content in ("one", "two"):
        path = landing_dir / "S1" / "G1" / "bad.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        targets.append(landing.reject(path, [error], rejected_dir, landing_dir))
    assert targets[0] == rejected_dir / "S1" / "G1" / "bad.xlsx"
    assert targets[1] != targets[0] and targets[1].read_text() == "two" and targets[0].read_text() == "one"
    for target in targets:
        (line,) = landing.read_errors_csv(Path(f"{target}.errors.csv"))
        assert line == {"file": "bad.xlsx", "row": "", "column": "", "code": FILE_UNREADABLE,
                        "message": "bad.xlsx: not a readable Excel file", "value": ""}
