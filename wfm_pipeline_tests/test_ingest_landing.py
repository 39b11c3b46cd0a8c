"""The landing folder helpers: partition keys, scanning, locating, archiving, rejecting (no database)."""

import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

from wfm_pipeline.argus.errors import FILE_UNREADABLE, RowError
from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.argus import landing

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


# ------------------------------------------------------------------ what is a landing file (issue 9)


def make_landing(tmp_path: Path) -> tuple[Path, Path]:
    """A landing folder with one good file, a FIFO, device/outside/dangling symlinks, an inside symlink."""
    landing_dir, outside = tmp_path / "landing", tmp_path / "secret.csv"
    (landing_dir / "S1").mkdir(parents=True)
    (landing_dir / ".staging").mkdir()
    outside.write_text("password;1;2;3;4\n")
    (landing_dir / "S1" / "good.csv").write_text("good")
    (landing_dir / ".staging" / "real.csv").write_text("linked")
    os.mkfifo(landing_dir / "S1" / "pipe.csv")
    os.symlink("/dev/zero", landing_dir / "S1" / "zero.csv")
    os.symlink(outside, landing_dir / "S1" / "outside.csv")
    os.symlink(landing_dir / "S1" / "missing.csv", landing_dir / "S1" / "dangling.csv")
    os.symlink("../.staging/real.csv", landing_dir / "S1" / "inside.csv")
    os.symlink(tmp_path, landing_dir / "S2")
    return landing_dir, outside


def test_only_regular_files_and_symlinks_resolving_inside_are_landing_files(tmp_path: Path, no_hang) -> None:
    landing_dir, _ = make_landing(tmp_path)
    found = landing.scan(landing_dir)
    assert [f.rel for f in found.files] == ["S1/good.csv", "S1/inside.csv"]
    inside = found.files[1]
    assert (inside.size, inside.service_code) == (len("linked"), "S1")  # the target's stat
    reasons = {s.rel: s.reason for s in found.skipped}
    assert set(reasons) == {"S1/pipe.csv", "S1/zero.csv", "S1/outside.csv", "S1/dangling.csv", "S2"}
    assert "FIFO" in reasons["S1/pipe.csv"] and "outside" in reasons["S1/zero.csv"]
    assert "outside" in reasons["S1/outside.csv"] and "leads nowhere" in reasons["S1/dangling.csv"]
    assert "folder" in reasons["S2"]
    assert landing.scan_landing(landing_dir) == found.files


def test_opening_never_blocks_and_never_leaves_the_folder(tmp_path: Path, no_hang) -> None:
    landing_dir, outside = make_landing(tmp_path)
    s1 = landing_dir / "S1"
    for name in ("pipe.csv", "zero.csv", "outside.csv"):
        with pytest.raises(landing.NotALandingFile):
            landing.sha256_within(s1 / name, landing_dir)
    assert landing.sha256_within(s1 / "inside.csv", landing_dir) == file_sha256(landing_dir / ".staging" / "real.csv")
    # A partition key naming such an entry finds nothing: its content is never read.
    for name, content_of in (("outside.csv", outside), ("pipe.csv", None), ("zero.csv", None)):
        sha = file_sha256(content_of) if content_of else "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        assert landing.locate(landing.partition_key("S1", None, name, sha), landing_dir, tmp_path / "archive") is None
    key = landing.partition_key("S1", None, "inside.csv", file_sha256(landing_dir / ".staging" / "real.csv"))
    assert landing.locate(key, landing_dir, tmp_path / "archive")[0] == s1 / "inside.csv"


def test_an_archived_or_rejected_symlink_becomes_a_copy_and_the_link_goes(tmp_path: Path) -> None:
    landing_dir, _ = make_landing(tmp_path)
    link, real = landing_dir / "S1" / "inside.csv", landing_dir / ".staging" / "real.csv"
    sha = file_sha256(real)
    archived = landing.archive(link, "S1", sha, tmp_path / "archive", landing_dir=landing_dir)
    assert not os.path.lexists(link) and real.read_text() == "linked"
    assert not archived.is_symlink() and archived.read_text() == "linked"
    assert landing.locate(landing.partition_key("S1", None, "inside.csv", sha), landing_dir,
                          tmp_path / "archive") == (archived, sha)

    os.symlink("../.staging/real.csv", link)
    error = RowError(None, None, FILE_UNREADABLE, "nope", None)
    rejected = landing.reject(link, [error], tmp_path / "rejected", landing_dir)
    assert rejected == tmp_path / "rejected" / "S1" / "inside.csv"
    assert not rejected.is_symlink() and rejected.read_text() == "linked" and not os.path.lexists(link)


# ------------------------------------------------------------------ long names (issue 9)
LONG = "x" * 244 + ".csv"  # 248 characters: <name>.errors.csv would be 259 bytes


def test_long_names_are_shortened_in_rejected_with_their_errors_csv(tmp_path: Path) -> None:
    landing_dir, rejected_dir = tmp_path / "landing", tmp_path / "rejected"
    error = RowError(None, None, FILE_UNREADABLE, "bad", None)
    targets = []
    for content in ("one", "two"):  # the second clashes: a timestamp is added, still short enough
        path = landing_dir / "S1" / LONG
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        targets.append(landing.reject(path, [error], rejected_dir, landing_dir))
        assert not path.exists()
    assert targets[0].name == landing.stored_name(LONG) and targets[0].suffix == ".csv"
    assert "~" + landing.name_tag(landing.safe_name(LONG)) in targets[0].name
    for target, content in zip(targets, ("one", "two")):
        errors_csv = Path(f"{target}.errors.csv")
        assert len(errors_csv.name.encode()) <= 255 and target.read_text() == content
        (line,) = landing.read_errors_csv(errors_csv)
        assert line["file"] == LONG  # the original name, for people looking for their file


@pytest.mark.parametrize("name", [LONG, "отчёт" * 24 + ".xlsx", "\U00020000" * 62 + ".xls"])
def test_long_names_in_the_archive_stay_findable_by_locate(tmp_path: Path, name: str) -> None:
    landing_dir, archive_dir = tmp_path / "landing", tmp_path / "archive"
    (landing_dir / "S1").mkdir(parents=True)
    when = datetime(2026, 3, 5, tzinfo=timezone.utc)
    keys, archived = [], []
    for content in ("first", "second"):  # same name, different content: the second gets the sha too
        path = landing_dir / "S1" / name
        path.write_text(content)
        sha = file_sha256(path)
        keys.append(landing.partition_key("S1", None, name, sha))
        archived.append(landing.archive(path, "S1", sha, archive_dir, now=when))
    assert archived[0] != archived[1] and all(len(p.name.encode()) <= 255 for p in archived)
    assert archived[0].suffix == archived[1].suffix == Path(name).suffix
    for key, path in zip(keys, archived):
        assert landing.locate(key, landing_dir, archive_dir)[0] == path
    assert len(landing.parse_partition_key(keys[0]).name.encode()) <= landing.MAX_NAME_BYTES


# ------------------------------------------------------------------ errors.csv cells (issue 9)
def test_errors_csv_neutralises_formulas_in_values_and_file_names(tmp_path: Path) -> None:
    name = "=cmd|' -C calc'!A0.csv"
    values = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-5", "\x1b]0;pwn\x07", "-1+1"]
    errors = [RowError(i + 2, "C", "NOT_INTEGER", f"value {v}", v) for i, v in enumerate(values)]
    target = landing.write_errors_csv(tmp_path / "x.errors.csv", name, errors)
    raw = target.read_text(encoding="utf-8-sig")
    assert "\x1b" not in raw and "\x07" not in raw
    assert all(line.startswith('"') and line.endswith('"') for line in raw.splitlines())  # every cell quoted
    lines = list(landing.read_errors_csv(target))
    assert {line["file"] for line in lines} == {"'" + name}
    assert [line["value"] for line in lines] == [
        "'" + values[0], "'" + values[1], "'@SUM(1)", "-5", "\\x1b]0;pwn\\x07", "'-1+1"]
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for line in lines:
        for cell in line.values():
            assert not cell.startswith(dangerous) or cell == "-5"
