"""Every validation rule and error code, on real files, and DST in Europe/Berlin."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.reader import read_argus_file
from wfm_pipeline.argus.validate import ValidationResult, validate_argus
from wfm_pipeline_tests.argus_files import write_argus, write_csv, write_xlsx

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 5, 8, 0)


def validate_rows(tmp_path: Path, rows: list[list], tz: str = "Europe/Berlin", suffix: str = ".xlsx") -> ValidationResult:
    return validate_argus(read_argus_file(write_argus(tmp_path / f"f{suffix}", rows)), tz)


def codes(result: ValidationResult) -> list[tuple[int | None, str | None, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]


def test_error_codes_match_the_database(conn: psycopg.Connection) -> None:
    in_db = {code: scope for code, scope in conn.execute("SELECT error_code, scope FROM wfm.error_codes")}
    assert {c for c, s in in_db.items() if s == "row"} == set(E.ROW_CODES)
    assert E.FILE_CODES <= {c for c, s in in_db.items() if s == "file"}


@pytest.mark.parametrize("cells,expected", [
    ([None, 1, 2, 3, 4], ("A", E.MISSING_VALUE)),
    (["32.01.2026 08:00:00", 1, 2, 3, 4], ("A", E.INVALID_DATETIME)),
    (["soon", 1, 2, 3, 4], ("A", E.INVALID_DATETIME)),
    (["05.01.2026 08:10:00", 1, 2, 3, 4], ("A", E.MISALIGNED_INTERVAL)),
    (["05.01.2026 08:15:30", 1, 2, 3, 4], ("A", E.MISALIGNED_INTERVAL)),
    ([T0, None, 2, 3, 4], ("B", E.MISSING_VALUE)),
    ([T0, 1, None, 3, 4], ("C", E.MISSING_VALUE)),
    ([T0, 1, 2, None, 4], ("D", E.MISSING_VALUE)),
    ([T0, 1, 2, 3, None], ("E", E.MISSING_VALUE)),
    ([T0, 1.5, 2, 3, 4], ("B", E.NOT_INTEGER)),
    ([T0, "many", 2, 3, 4], ("B", E.NOT_INTEGER)),
    ([T0, 1, "2,5", 3, 4], ("C", E.NOT_INTEGER)),
    ([T0, -1, 2, 3, 4], ("B", E.NEGATIVE_VALUE)),
    ([T0, 1, 2, -3, 4], ("D", E.NEGATIVE_VALUE)),
    ([T0, 1, 2, 3, 86401], ("E", E.OUT_OF_RANGE)),
    ([T0, 1, 2, 90000, 4], ("D", E.OUT_OF_RANGE)),
    ([T0, 1, 3_000_000_000, 3, 4], ("C", E.OUT_OF_RANGE)),
    ([T0, 5, 4, 3, 4], ("B", E.UNIQUE_EXCEEDS_NON_UNIQUE)),
])
def test_each_row_rule_reports_its_code(tmp_path: Path, cells: list, expected: tuple[str, str]) -> None:
    # The good row comes first: a leading row without a date in A would be a header.
    good = [T0 + dt.timedelta(hours=1), 1, 2, 3, 4]
    result = validate_rows(tmp_path, [good, cells])
    assert codes(result) == [(3, *expected)]
    assert result.rejected == 1 and result.skipped == 0 and len(result.valid) == 1
    err = result.errors[0]
    assert err.message.startswith(f"column {err.column} ")


def test_text_integers_and_integral_floats_are_integers(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, "3", "4.0", 12.0, " 7 "]], suffix=".xlsx")
    assert result.errors == []
    row = result.valid.iloc[0]
    assert (row["unique_incoming"], row["non_unique_incoming"], row["avg_talk_time"], row["avg_post_processing_time"]) \
        == (3, 4, 12, 7)


def test_durations_may_be_blank_only_without_calls(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, 0, 0, None, None], [T0 + dt.timedelta(minutes=15), 0, 1, None, 5]])
    assert codes(result) == [(3, "D", E.MISSING_VALUE)]
    valid = result.valid.iloc[0]
    assert valid["non_unique_incoming"] == 0
    assert pd.isna(valid["avg_talk_time"]) and pd.isna(valid["avg_post_processing_time"])


def test_maximum_values_are_accepted(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, 2_147_483_647, 2_147_483_647, 86400, 86400]])
    assert result.errors == []


def test_a_row_with_several_problems_reports_each(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [["05.01.2026 08:05:00", "x", -2, 1.5, 100000]])
    assert codes(result) == [(2, "A", E.MISALIGNED_INTERVAL), (2, "B", E.NOT_INTEGER), (2, "C", E.NEGATIVE_VALUE),
                             (2, "D", E.NOT_INTEGER), (2, "E", E.OUT_OF_RANGE)]
    assert result.rejected == 1 and result.rows_total == 1


def test_b_greater_than_c_and_a_bad_cell_both_reported(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, 9, 4, "n/a", 3]])
    assert codes(result) == [(2, "B", E.UNIQUE_EXCEEDS_NON_UNIQUE), (2, "D", E.NOT_INTEGER)]
    assert result.errors[0].message == ("column B '9' exceeds column C (4): unique incoming calls cannot exceed "
                                        "non-unique incoming calls")


def test_identical_duplicate_rows_keep_the_first(tmp_path: Path) -> None:
    row = [T0, 1, 2, 3, 4]
    result = validate_rows(tmp_path, [row, [T0 + dt.timedelta(minutes=15), 1, 2, 3, 4], list(row), list(row)])
    assert codes(result) == [(4, None, E.DUPLICATE_ROW), (5, None, E.DUPLICATE_ROW)]
    assert "row 2" in result.errors[0].message
    assert result.skipped == 2 and result.rejected == 0 and len(result.valid) == 2
    assert result.valid["source_row_number"].tolist() == [2, 3]


def test_text_and_cell_copies_of_the_same_row_are_identical(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, 1, 2, 3, 4], ["05.01.2026 08:00:00", "1", "2", "3", "4"]])
    assert codes(result) == [(3, None, E.DUPLICATE_ROW)]


def test_conflicting_duplicates_are_all_rejected(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, 1, 2, 3, 4], [T0 + dt.timedelta(minutes=15), 1, 2, 3, 4],
                                      [T0, 1, 3, 3, 4], [T0, 1, 2, 3, 4]])
    assert codes(result) == [(2, None, E.DUPLICATE_INTERVAL), (4, None, E.DUPLICATE_INTERVAL),
                             (5, None, E.DUPLICATE_INTERVAL)]
    assert "rows 2, 4, 5" in result.errors[0].message
    assert result.rejected == 3 and len(result.valid) == 1


def test_dst_gap_in_berlin_is_rejected(tmp_path: Path) -> None:
    # 2026-03-29: clocks go from 02:00 to 03:00 local; 02:00-02:45 do not exist.
    start = dt.datetime(2026, 3, 29, 1, 30)
    rows = [[start + dt.timedelta(minutes=15 * i), 1, 2, 3, 4] for i in range(8)]  # 01:30 .. 03:15
    result = validate_rows(tmp_path, rows)
    assert codes(result) == [(r, "A", E.INVALID_LOCAL_TIME) for r in (4, 5, 6, 7)]
    assert "Europe/Berlin" in result.errors[0].message
    utc = [t.strftime("%H:%M") for t in result.valid["interval_start_time"]]
    assert utc == ["00:30", "00:45", "01:00", "01:15"]  # 01:30 CET, 01:45 CET, 03:00 CEST, 03:15 CEST


def test_dst_fall_back_maps_repeated_hour_first_earlier_then_later(tmp_path: Path) -> None:
    # 2026-10-25: 02:00-02:45 local happen twice (CEST, then CET).
    local = [dt.datetime(2026, 10, 25, 1, 45)]
    local += [dt.datetime(2026, 10, 25, 2, m) for m in (0, 15, 30, 45)] * 2
    local += [dt.datetime(2026, 10, 25, 3, 0)]
    rows = [[ts, i, i + 1, 60, 10] for i, ts in enumerate(local)]
    result = validate_rows(tmp_path, rows, suffix=".csv")
    assert result.errors == []
    utc = result.valid["interval_start_time"].tolist()
    expected = [dt.datetime(2026, 10, 24, 23, 45, tzinfo=UTC) + dt.timedelta(minutes=15 * i) for i in range(10)]
    assert utc == expected  # one continuous run of 10 UTC intervals
    assert result.valid["unique_incoming"].tolist() == list(range(10))


def test_a_third_copy_of_an_ambiguous_time_is_a_duplicate(tmp_path: Path) -> None:
    t = dt.datetime(2026, 10, 25, 2, 15)
    result = validate_rows(tmp_path, [[t, 1, 2, 3, 4], [t, 5, 6, 7, 8], [t, 5, 6, 7, 8]])
    assert codes(result) == [(4, None, E.DUPLICATE_ROW)]


def test_month_and_year_boundaries_in_utc(tmp_path: Path) -> None:
    # Berlin 01.01.2027 00:30 is 2026-12-31 23:30 UTC: the row belongs to the December partition.
    rows = [[dt.datetime(2026, 12, 31, 23, 45), 1, 2, 3, 4], [dt.datetime(2027, 1, 1, 0, 30), 1, 2, 3, 4],
            [dt.datetime(2027, 1, 1, 1, 0), 1, 2, 3, 4], [dt.datetime(2027, 2, 1, 0, 45), 1, 2, 3, 4]]
    result = validate_rows(tmp_path, rows)
    assert result.months == ["2026-12", "2027-01"]
    assert [t.isoformat() for t in result.valid["interval_start_time"]] == [
        "2026-12-31T22:45:00+00:00", "2026-12-31T23:30:00+00:00", "2027-01-01T00:00:00+00:00",
        "2027-01-31T23:45:00+00:00"]


def test_accounting_adds_up(tmp_path: Path) -> None:
    rows = [[T0 + dt.timedelta(minutes=15 * i), 1, 2, 3, 4] for i in range(10)]
    rows[3][1] = -1
    rows.append(list(rows[0]))
    result = validate_rows(tmp_path, rows)
    assert result.rows_total == 11
    # 9 valid, row 5 (B = -1) rejected, the copy of row 2 skipped: each counted where it belongs.
    assert (len(result.valid), result.rejected, result.skipped) == (9, 1, 1)


def test_csv_text_values_are_validated_like_cells(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [["05.01.2026 08:00:00", "1", "2", "3", "4"],
                                          ["05.01.2026 08:15:00", "1", "2", "", "4"],
                                          ["05.01.2026 08:30:00", "0", "0", "", ""]])
    result = validate_argus(read_argus_file(path), "UTC")
    assert codes(result) == [(3, "D", E.MISSING_VALUE)]


def test_validation_of_a_large_file_is_column_wise(tmp_path: Path) -> None:
    # 3,000 rows with one error every 100 rows: all errors found in one pass (lazy pandera).
    rows = [[T0 + dt.timedelta(minutes=15 * i), 1, 2, 3, 4] for i in range(3000)]
    for i in range(0, 3000, 100):
        rows[i][2] = 0  # C < B
    path = write_xlsx(tmp_path / "big.xlsx", rows)
    result = validate_argus(read_argus_file(path), "UTC")
    assert len(result.errors) == 30 and {e.code for e in result.errors} == {E.UNIQUE_EXCEEDS_NON_UNIQUE}
    assert len(result.valid) == 2970


def test_c_below_b_is_not_reported_when_c_itself_is_invalid(tmp_path: Path) -> None:
    result = validate_rows(tmp_path, [[T0, 7, -1, 3, 4], [T0 + dt.timedelta(minutes=15), 7, "x", 3, 4]])
    assert codes(result) == [(2, "C", E.NEGATIVE_VALUE), (3, "C", E.NOT_INTEGER)]


def test_non_finite_numbers_and_second_60_are_invalid(tmp_path: Path) -> None:
    # Same verdicts as the SQL validators (test_conformance EDGE_CASES).
    result = validate_rows(tmp_path, [[T0, 1, 2, 3, 4], ["05.01.2026 10:00:00", 1, "inf", 3, 4],
                                      ["05.01.2026 10:15:00", 1, "-inf", 3, 4], ["05.01.2026 10:30:00", "NaN", 2, 3, 4],
                                      ["05.01.2026 10:45:60", 1, 2, 3, 4]])
    assert codes(result) == [(3, "C", E.NOT_INTEGER), (4, "C", E.NOT_INTEGER), (5, "B", E.NOT_INTEGER),
                             (6, "A", E.INVALID_DATETIME)]


def test_blank_and_minus_one_are_different_cells_for_duplicates(tmp_path: Path) -> None:
    # C = 0 allows blank D/E; a copy with D = -1 is a conflicting copy, not an identical one.
    result = validate_rows(tmp_path, [[T0, 0, 0, None, None], [T0, 0, 0, -1, None]])
    assert (2, None, E.DUPLICATE_INTERVAL) in codes(result)
    assert (3, None, E.DUPLICATE_INTERVAL) in codes(result)
    assert E.DUPLICATE_ROW not in {c for _, _, c in codes(result)}
