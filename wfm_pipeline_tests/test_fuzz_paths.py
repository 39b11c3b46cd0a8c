"""Fuzzing both ways in: malformed Argus rows and files through the file import (reader +
pandas/pandera validator + loader) and the SQL JSON functions (validate_argus_format,
import_argus_format_data). A seeded generator (random.Random, deterministic: a failure names
its seed and reproduces), no hypothesis.

What must hold:
* identical verdicts: the same (row, column, code) set from both validators;
* no crash: every call returns (file rejections are results, not exceptions);
* no unaudited failure: every import leaves an import_batches row whose counters add up
  (rows_total = inserted + updated + rejected + skipped), with one import_errors row set per
  rejected row, and both paths agree on the counts.

Rows are typed like spreadsheet cells: text (-> JSON string), numbers (-> JSON number), date
cells (-> Excel serial number, as a spreadsheet-to-JSON converter sends them) and empty cells
(-> null). The JSON payload includes the header row, so JSON positions are the sheet's rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import zipfile
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import import_file
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline_tests.months import ensure_months

# Fixed, so CI is deterministic; WFM_FUZZ_SEED=<n> explores other inputs (a failure names its seed).
SEED = int(os.environ.get("WFM_FUZZ_SEED", "20261130"))
ZONE = "Europe/Berlin"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
HEADER = ["Start", "Unique", "Non-unique", "Talk", "Post"]
# Valid rows fall in these months only (they hold a DST gap and a fall-back night), so the
# file import never creates far-away partitions and the JSON import finds them premade.
MONTHS = ("2024-03", "2024-10")
XLSX_FILES, XLSX_ROWS = 4, 480
CSV_FILES, CSV_ROWS = 2, 300
MALFORMED_FILES = 50


# ---------------------------------------------------------------- the generator

def _valid_local(rng: random.Random) -> dt.datetime:
    month = rng.choice(MONTHS)
    year, mon = int(month[:4]), int(month[5:])
    return dt.datetime(year, mon, rng.randint(1, 28), rng.randint(0, 23), rng.choice((0, 15, 30, 45)))


def _fmt(t: dt.datetime, rng: random.Random) -> str:
    return rng.choice([f"{t:%d.%m.%Y %H:%M:%S}", f"{t:%d.%m.%Y %H:%M}", f"{t.day}.{t.month}.{t.year} {t.hour}:{t:%M}"])


def _date_cell(rng: random.Random) -> object:
    """Column A: mostly wrong, in every shape."""
    t = _valid_local(rng)
    kind = rng.randrange(40)
    choices = [
        lambda: _fmt(t, rng),                                            # valid text
        lambda: t,                                                        # valid date cell
        lambda: t + dt.timedelta(microseconds=rng.choice((-13, 7))),      # date cell with float noise
        lambda: f"{t:%d.%m.%Y} 24:00:00",
        lambda: f"{t:%d.%m.%Y} 23:59:60",
        lambda: f"{t:%d.%m.%Y %H}:{rng.choice(('07', '14', '59'))}:00",   # misaligned minutes
        lambda: f"{t:%d.%m.%Y %H:%M}:{rng.choice(('01', '30', '59'))}",   # misaligned seconds
        lambda: t.replace(minute=7),                                      # misaligned date cell
        lambda: rng.choice(["30.02.2024 10:00:00", "31.04.2024 10:00:00", "00.03.2024 10:00:00",
                            "32.03.2024 10:00:00", "15.13.2024 10:00:00", "29.02.2023 10:00:00"]),
        lambda: f"31.03.2024 02:{rng.choice(('00', '15', '30', '45'))}:00",  # DST gap
        lambda: f"27.10.2024 02:{rng.choice(('00', '15', '30', '45'))}:00",  # fall-back: ambiguous
        lambda: f"{t:%Y-%m-%d %H:%M:%S}Z" if rng.random() < 0.5 else f"{t:%m/%d/%Y %H:%M:%S}",
        lambda: f"{t:%d-%m-%Y %H:%M:%S}",
        lambda: f"{t:%d.%m.%y %H:%M:%S}",
        lambda: f"{t:%d.%m.%Y}T{t:%H:%M:%S}",
        lambda: f"{t:%d.%m.%Y}",
        lambda: f"{t:%H:%M:%S}",
        lambda: f"{t:%d.%m.%Y %H:%M:%S}.5",
        lambda: f"{t:%d.%m.%Y %H:%M:%S} PM",
        lambda: f"{t:%d.%m.%Y}  {t:%H:%M:%S}",                             # two spaces
        lambda: f"  {t:%d.%m.%Y %H:%M:%S}\t",                              # surrounding white space
        lambda: f"{t:%d.%m.%Y}\u00a0{t:%H:%M:%S}",                         # NBSP inside
        lambda: f"\u00a0{t:%d.%m.%Y %H:%M:%S}\u3000",                      # Unicode spaces around
        lambda: f"{t:%d.%m.%Y %H:%M:%S}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        lambda: f"{t:%d.%m.%Y %H:%M:%S}".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        lambda: f"{t:%d.%m.%Y %H}:{t.minute % 10}:00",                     # one-digit minute
        lambda: f"{t:%d.%m.}{rng.choice(('0001', '1677', '2262', '9999', '1600'))} {t:%H:%M:%S}",
        lambda: f"{t:%d.%m.}{rng.randint(1678, 1892)} {t:%H:%M:%S}",        # local mean time: not aligned in UTC
        lambda: "x" * rng.choice((1, 300, 5000)),
        lambda: rng.choice(["abc", "null", "None", "NaN", "-", "?", "01.03.2024 10:00:00\u200b"]),
        lambda: rng.choice([None, "", "   ", "\u00a0"]),
        lambda: f"{t:%d.%m.%Y %H:%M:%S}\x01",
        lambda: str(rng.choice([45352.5, 0, -1, 1e9])),                    # a number as text in A
        lambda: f"{t:%d.%m.%Y} {t.hour}:{t:%M}:{rng.choice(('00', '0'))}",
    ]
    return choices[kind % len(choices)]()


_INT_TEXT = ["12", "12.0", "12,0", "1 000", " 5 ", "+5", "-0", "00012", "0", "1.0e+02", "1E3", "5.", ".5e1",
             "12.5", "12,5", "-1", "-1.5", "0x10", "1_000", "0o17", "0b1000", "1e400", "1e-400",
             "0.0000000000000000000001", "2147483647", "2147483648", "2147483647.0000000001",
             "99999999999999999999", "inf", "-inf", "nan", "NaN", "Infinity", "", "  ", "abc", "١٢", "１２",
             "5\u200b", "²", "12e", ".", "+", "1e", "86400", "86401", "\u00a07", "7\x01", "1" * 400,
             "-99999999999999999999", "4e2", "1.5e2", "12.00000000000000000001"]


def _value_cell(rng: random.Random) -> object:
    r = rng.random()
    if r < 0.35:
        return rng.randint(0, 400)
    if r < 0.45:
        return rng.choice([12.0, 12.5, -1.0, -3, 86400, 86401, 2147483647, 2147483648, 1e20, 0.1, -0.0, 1e-9])
    if r < 0.95:
        return rng.choice(_INT_TEXT)
    return None


def _row(rng: random.Random) -> list:
    row = [_date_cell(rng)] + [_value_cell(rng) for _ in range(4)]
    shape = rng.random()
    if shape < 0.15:                       # a clean row with a valid time
        b = rng.randint(0, 50)
        row = [_fmt(_valid_local(rng), rng), b, b + rng.randint(0, 5), rng.randint(1, 900), rng.randint(0, 90)]
    elif shape < 0.20:                     # C < B
        row[1], row[2] = 9, 3
    elif shape < 0.25:                     # no calls: D and E may be empty
        row[2], row[3], row[4] = 0, None, None
    elif shape < 0.28:                     # fully blank: skipped by both
        row = [None] * 5
    return row


def generate(rng: random.Random, n: int) -> list[list]:
    """n rows; a few are copies of earlier rows (identical: DUPLICATE_ROW, or conflicting).
    The first is clean, so both paths see the same header row (above it) and data rows."""
    rows: list[list] = [["01.03.2024 00:00:00", 1, 2, 3, 4]]
    for _ in range(n - 1):
        if rows and rng.random() < 0.06:
            copy = list(rng.choice(rows))
            r = rng.random()
            if r < 0.4:                      # a conflicting copy
                copy[1] = 1 if copy[1] != 1 else 2
            elif r < 0.7 and isinstance(copy[2], int):  # the same value written differently
                copy[2] = rng.choice([f"{copy[2]}.0", f"{copy[2]},00", float(copy[2]), f" {copy[2]} ", f"{copy[2]}e0"])
            rows.append(copy)
        else:
            rows.append(_row(rng))
    return rows


def _xlsx_safe(rows: list[list]) -> list[list]:
    """xlsx (XML) cannot hold C0 control characters: those go through the CSV files."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [[ILLEGAL_CHARACTERS_RE.sub("?", v) if isinstance(v, str) else v for v in row] for row in rows]


def _csv_safe(rows: list[list]) -> list[list]:
    """CSV cells are text; no delimiter candidates, quotes or line breaks inside a cell
    (the delimiter sniffer is the reader's business, tested elsewhere)."""
    bad = str.maketrans({c: "_" for c in ";,\t\"\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})
    out = []
    for row in rows:
        cells = []
        for v in row:
            if v is None:
                cells.append("")
            elif isinstance(v, dt.datetime):
                cells.append(f"{v:%d.%m.%Y %H:%M:%S}")
            elif isinstance(v, float):
                cells.append(repr(v))
            else:
                cells.append(str(v).translate(bad))
        out.append(cells)
    return out


def _control_chars(rng: random.Random, rows: list[list]) -> list[list]:
    """Sprinkle C0 control characters (not NUL: a PostgreSQL text cannot hold it) into CSV cells."""
    for row in rows:
        if rng.random() < 0.3:
            i = rng.randrange(5)
            ch = chr(rng.choice([1, 2, 7, 8, 0x1b, 0x1f, 0x7f]))
            row[i] = rng.choice([ch + row[i], row[i] + ch, row[i][:1] + ch + row[i][1:]])
    return rows


def write_xlsx(path: Path, rows: list[list]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    wb.save(path)


def write_csv(path: Path, rows: list[list]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def json_cell(v: object) -> object:
    if isinstance(v, dt.datetime):
        return (v - EXCEL_EPOCH).total_seconds() / 86400
    return v


def json_rows(rows: list[list]) -> list[list]:
    return [HEADER, *([json_cell(v) for v in row] for row in rows)]


# ---------------------------------------------------------------- the checks

@pytest.fixture
def services(conn: psycopg.Connection) -> dict[str, int]:
    ids = {code: conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                              (code, code, ZONE)).fetchone()[0] for code in ("FUZZF", "FUZZJ")}
    conn.commit()
    ensure_months(conn, *MONTHS)
    return ids


def _json_verdicts(conn: psycopg.Connection, payload: list, service_id: int) -> set[tuple]:
    return {(r, c, code) for r, c, code, _, _ in conn.execute(
        "SELECT * FROM validate_argus_format(%s, %s)", (Jsonb(payload), service_id))}


def _batch(conn: psycopg.Connection, batch_id) -> dict:
    cur = conn.execute("SELECT * FROM import_batches WHERE import_batch_id = %s", (batch_id,))
    row = cur.fetchone()
    assert row is not None, f"no import_batches row for {batch_id}"
    return dict(zip([d.name for d in cur.description], row))


def _assert_audited(conn: psycopg.Connection, batch_id, where: str) -> dict:
    batch = _batch(conn, batch_id)
    assert batch["status"] not in ("running", "failed"), f"{where}: {batch['status']}: {batch['error_message']}"
    accounted = batch["rows_inserted"] + batch["rows_updated"] + batch["rows_rejected"] + batch["rows_skipped"]
    assert batch["rows_total"] == accounted, f"{where}: rows do not add up: {batch}"
    rejected_rows = conn.execute(
        "SELECT count(DISTINCT row_number) FROM import_errors WHERE import_batch_id = %s AND row_number IS NOT NULL "
        "AND error_code <> 'DUPLICATE_ROW'", (batch_id,)).fetchone()[0]
    if batch["status"] != "rejected":  # strict/no-data rejections also count the valid rows as rejected
        assert rejected_rows == batch["rows_rejected"], f"{where}: {rejected_rows} rows with errors, {batch}"
    return batch


def _diff(file_v: set, json_v: set, rows: list[list]) -> str:
    lines = []
    for r, col, code in sorted(file_v ^ json_v, key=str)[:15]:
        side = "file only" if (r, col, code) in file_v else "JSON only"
        cells = rows[r - 2] if r and 2 <= r < len(rows) + 2 else None
        lines.append(f"{side}: row {r} {col} {code}: {cells!r}")
    return "\n".join(lines)


def test_fuzzed_rows_get_identical_verdicts_and_audited_imports(conn: psycopg.Connection, services,
                                                                tmp_path: Path) -> None:
    rng = random.Random(SEED)
    batches: list[tuple[Path, list[list]]] = []
    for i in range(XLSX_FILES):
        rows = _xlsx_safe(generate(rng, XLSX_ROWS))
        path = tmp_path / f"fuzz_{i}.xlsx"
        write_xlsx(path, rows)
        batches.append((path, rows))
    for i in range(CSV_FILES):
        rows = _control_chars(rng, _csv_safe(generate(rng, CSV_ROWS)))
        path = tmp_path / f"fuzz_{i}.csv"
        write_csv(path, rows)
        batches.append((path, rows))

    malformed = 0
    for path, rows in batches:
        # the file path: reader + validator + loader (its result carries the validator's errors)
        loaded = import_file(conn, path, "FUZZF")
        conn.commit()
        file_v = {(e.row, e.column, e.code) for e in loaded.errors}
        json_v = _json_verdicts(conn, json_rows(rows), services["FUZZJ"])
        assert file_v == json_v, f"seed {SEED}, {path.name}:\n{_diff(file_v, json_v, rows)}"
        malformed += len({r for r, _, code in file_v if code != "DUPLICATE_ROW"})

        file_batch = _assert_audited(conn, loaded.import_batch_id, f"file {path.name}")
        batch_id = conn.execute("SELECT import_batch_id FROM import_argus_format_data(%s, %s)",
                                (Jsonb(json_rows(rows)), services["FUZZJ"])).fetchone()[0]
        conn.commit()
        json_batch = _assert_audited(conn, batch_id, f"JSON {path.name}")
        conn.rollback()  # the loader commits its own transactions: leave the connection idle
        keys = ("rows_total", "rows_rejected", "rows_skipped")
        assert {k: file_batch[k] for k in keys} == {k: json_batch[k] for k in keys}, path.name
        assert (file_batch["rows_inserted"] + file_batch["rows_updated"]
                == json_batch["rows_inserted"] + json_batch["rows_updated"]), path.name
    assert malformed >= 2000, f"only {malformed} malformed rows generated"

    # both stored the same intervals with the same values
    stored = [conn.execute(
        """SELECT interval_start_time, unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time
           FROM contact_statistics WHERE service_id = %s ORDER BY 1""", (services[code],)).fetchall()
        for code in ("FUZZF", "FUZZJ")]
    assert stored[0] == stored[1] and len(stored[0]) > 0


# ---------------------------------------------------------------- malformed files

def _xlsx_bytes(rows: list[list]) -> bytes:
    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(buf)
    return buf.getvalue()


def _malformed_file(rng: random.Random, i: int, tmp_path: Path) -> tuple[Path, list]:
    """One malformed file and the rows a spreadsheet-to-JSON converter would send for it."""
    good = [["01.03.2024 10:00:00", 1, 2, 3, 4]]
    kind = i % 17
    rows: list = []
    if kind == 0:
        path, data = tmp_path / f"m{i}.csv", b""
    elif kind == 1:
        path, data = tmp_path / f"m{i}.xlsx", b""
    elif kind == 2:
        full = _xlsx_bytes([HEADER, *_xlsx_safe(generate(rng, 20))])
        path, data = tmp_path / f"m{i}.xlsx", full[: rng.randint(10, len(full) - 10)]
    elif kind == 3:
        path, data = tmp_path / f"m{i}.xlsx", rng.randbytes(rng.randint(1, 3000))
    elif kind == 4:
        path, data = tmp_path / f"m{i}.csv", b"Start;B;C;D;E\r\n01.03.2024 10:00:00;1\x00;2;3;4\r\n"
    elif kind == 5:
        rows = [HEADER]
        path, data = tmp_path / f"m{i}.csv", "Start;Unique;Non-unique;Talk;Post\r\n".encode()
    elif kind == 6:
        rows = [["01.03.2024 10:00:00", 1, 2]] * 3
        path, data = tmp_path / f"m{i}.xlsx", _xlsx_bytes(rows)
    elif kind == 7:
        rows = [[None] * 5] * 4
        path, data = tmp_path / f"m{i}.csv", b";;;;\r\n;;;;\r\n"
    elif kind == 8:
        rows = [HEADER, *[["total", rng.randint(0, 9), 1, 2, 3] for _ in range(5)]]
        path, data = tmp_path / f"m{i}.xlsx", _xlsx_bytes(rows)
    elif kind == 9:
        rows = [["Начало", "Уник", "Неуник", "Разг", "Пост"], *good]
        text = "Начало;Уник;Неуник;Разг;Пост\r\n01.03.2024 10:00:00;1;2;3;4\r\n"
        path, data = tmp_path / f"m{i}.csv", text.encode(rng.choice(["cp1251", "latin-1", "utf-16"]) if
                                                           rng.random() < 0.5 else "cp1251", errors="replace")
    elif kind == 10:
        rows = [HEADER, ["01.03.2024 10:15:00", "9" * rng.choice((100, 20000)), 2, 3, 4], *good]
        path, data = tmp_path / f"m{i}.xlsx", _xlsx_bytes(rows)
    elif kind == 11:
        rows = [HEADER, *_xlsx_safe(generate(rng, 30))]
        rows = [[c for c in r] + ["extra", 7] for r in rows]
        path, data = tmp_path / f"m{i}.xlsx", _xlsx_bytes(rows)
    elif kind == 12:
        rows = [HEADER, *[[f"0{d}.03.2024 10:00:00", -1, -2, "x", None] for d in range(1, 8)]]
        path, data = tmp_path / f"m{i}.xlsx", _xlsx_bytes(rows)
    elif kind == 13:
        path, data = tmp_path / f"m{i}.csv", b"\xef\xbb\xbf" + b"Start;B;C;D;E\r\n01.03.2024 10:30:00;1;2;3;4\r\n"
        rows = [HEADER, ["01.03.2024 10:30:00", "1", "2", "3", "4"]]
    elif kind == 14:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("[Content_Types].xml", "<not-xml")
        path, data = tmp_path / f"m{i}.xlsx", buf.getvalue()
    elif kind == 15:
        path, data = tmp_path / f"m{i}.txt", "\r\n".join(
            "|".join(map(str, r)) for r in [HEADER, *good]).encode()
        rows = [HEADER, *good]
    else:
        rows = [HEADER, *generate(rng, 40)]
        path, data = tmp_path / f"m{i}.csv", "\r\n".join(
            ";".join("" if c is None else str(c) for c in r) for r in _csv_safe(rows)).encode()
    path.write_bytes(data)
    return path, [[json_cell(c) for c in r] for r in rows]


def test_malformed_files_are_rejected_or_imported_and_always_audited(conn: psycopg.Connection, services,
                                                                     tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    outcomes: dict[str, int] = {}
    for i in range(MALFORMED_FILES):
        path, rows = _malformed_file(rng, i, tmp_path)
        before = conn.execute("SELECT count(*) FROM import_batches").fetchone()[0]
        conn.commit()
        try:
            result = import_file(conn, path, "FUZZF")
        except ArgusFileError as exc:  # pragma: no cover - would be a crash
            pytest.fail(f"{path.name}: import_file raised {exc!r} instead of recording a rejection")
        conn.commit()
        assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == before + 1, path.name
        file_batch = _assert_audited(conn, result.import_batch_id, f"file {path.name}")
        outcomes[file_batch["status"]] = outcomes.get(file_batch["status"], 0) + 1
        if file_batch["status"] == "rejected":
            assert conn.execute("SELECT count(*) FROM import_errors WHERE import_batch_id = %s AND row_number IS NULL",
                                (result.import_batch_id,)).fetchone()[0] >= 1, path.name

        # the rows a converter would send: never a crash, always one audited batch
        batch_id = conn.execute("SELECT import_batch_id FROM import_argus_format_data(%s, %s)",
                                (Jsonb(rows), services["FUZZJ"])).fetchone()[0]
        conn.commit()
        _assert_audited(conn, batch_id, f"JSON of {path.name}")
    assert outcomes.get("rejected", 0) >= 20, outcomes


# ---------------------------------------------------------------- the API fast path

_TIME_TEXT = ["2024-03-05T10:00:00+01:00", "2024-03-05T09:00:00Z", "2024-03-05 09:00:00+00:00",
              "2024-03-05T09:00:00z", "2024-03-05T09:00:00+0000", "2024-03-05T09:00:00+00", "2024-03-05T09:00Z",
              "2024-03-05T24:00:00+00:00", "2024-03-05T23:59:60Z", "03/05/2024 09:00:00+00:00",
              "05.03.2024 09:00:00+00:00", "0001-03-05T09:00:00+00:00", "2262-03-05T09:00:00+00:00",
              "2024-03-05T09:00:00.000000+00:00", "2024-03-05T09:00:00.5+00:00", "2024-03-05T09:07:00+00:00",
              "2024-03-05T09:00:00+00:53", "2024-03-05T09:00:00+15:00", "2024-02-30T09:00:00+00:00",
              "2024-03-05T09:00:00", " 2024-03-05T09:00:00Z", "2024-03-05T09:00:00Z ", "epoch", "now",
              "infinity", "2024-03-05T09:00:00 +00:00", "2024-03-05T09:00:00+00:00:00", "+2024-03-05T09:00:00Z"]


def _slot_mutation(rng: random.Random, text: str) -> str:
    """One digit of a valid time replaced by a separator: PostgreSQL's timestamptz input takes
    many of these (' 024-03-05...' is year 24, '...T:0:00:00Z' midnight, '...:00:.0Z', '+01::0')."""
    text = rng.choice([text, text.replace("+00:00", "Z"), text.replace("T", " ").replace("+00:00", "-01:00")])
    pos = rng.choice([i for i, ch in enumerate(text) if ch.isdigit()])
    return text[:pos] + rng.choice("-:T+Z .") + text[pos + 1:]


def test_api_fast_path_never_stores_what_the_validator_rejects(conn: psycopg.Connection, services) -> None:
    """Single-cell mutations of clean API batches: whatever the fast path or the validator
    decides, the stored rows are exactly the rows wfm.stage_import_rows accepts, with its values."""
    rng = random.Random(SEED + 2)
    service = services["FUZZJ"]
    fields = ["service_id", "interval_start", "unique_incoming", "non_unique_incoming", "avg_talk_time",
              "avg_post_processing_time", "answered_calls", "sl_threshold_seconds"]
    start = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    for batch in range(200):
        calls = [{"service_id": service, "interval_start": (start + dt.timedelta(minutes=15 * (3 * batch + i))).isoformat(),
                  "unique_incoming": 1, "non_unique_incoming": 2, "avg_talk_time": 30, "avg_post_processing_time": 5}
                 for i in range(3)]
        field = rng.choice(fields)
        value: object = rng.choice(_INT_TEXT + [rng.randint(0, 3), 12.0, 1.5, -1, True, None, [1], {"x": 1},
                                                str(service)])
        if field == "interval_start":
            value = rng.choice(_TIME_TEXT) if rng.random() < 0.5 else _slot_mutation(rng, calls[1]["interval_start"])
        calls[1][field] = value
        payload = Jsonb(calls)
        expected = conn.execute(
            """SELECT row_number, interval_start_time, unique_incoming, non_unique_incoming, avg_talk_time,
                      avg_post_processing_time, answered_calls, sl_threshold_seconds
               FROM stage_import_rows(%s, 'api') WHERE cardinality(errors) = 0 ORDER BY 1""", (payload,)).fetchall()
        batch_id = conn.execute("SELECT import_batch_id FROM api_batch_insert_calls(%s)", (payload,)).fetchone()[0]
        stored = conn.execute(
            """SELECT source_row_number, interval_start_time, unique_incoming, non_unique_incoming, avg_talk_time,
                      avg_post_processing_time, answered_calls, sl_threshold_seconds
               FROM contact_statistics_history WHERE import_batch_id = %s ORDER BY 1""", (batch_id,)).fetchall()
        assert stored == expected, f"seed {SEED + 2}, batch {batch}: {field} = {value!r}"
        _assert_audited(conn, batch_id, f"API batch {batch}: {field} = {value!r}")
