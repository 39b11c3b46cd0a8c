"""Writing real Argus test files (.xlsx with openpyxl, .xls with xlwt, .csv with csv).

Rows are lists of cell values: ``datetime`` values become date cells (format
``DD.MM.YYYY HH:MM:SS``) in Excel files and ``DD.MM.YYYY HH:MM:SS`` text in CSV files; ``None``
is an empty cell; anything else is written as is (so text dates, text numbers and bad values
can be written deliberately). ``header`` rows are written first (``None`` for no header).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

ARGUS_HEADER = ("Start time", "Unique incoming", "Non-unique incoming", "Average talk time",
                "Average post-processing time")
DATE_FORMAT = "DD.MM.YYYY HH:MM:SS"
TEXT_DATE = "%d.%m.%Y %H:%M:%S"


def intervals(start: dt.datetime, count: int, minutes: int = 15) -> list[dt.datetime]:
    """``count`` consecutive local interval starts from ``start``."""
    return [start + dt.timedelta(minutes=minutes * i) for i in range(count)]


def argus_rows(start: dt.datetime, count: int, *, seed: int = 0) -> list[list]:
    """Plausible valid rows: B <= C, durations in range (deterministic per seed)."""
    rows = []
    for i, ts in enumerate(intervals(start, count)):
        k = (i * 7 + seed * 13) % 50
        unique = k
        non_unique = k + (i + seed) % 5
        rows.append([ts, unique, non_unique, 60 + (i * 11 + seed) % 300, 10 + (i * 3 + seed) % 60])
    return rows


def _header_rows(header: Sequence | Sequence[Sequence] | None) -> list[Sequence]:
    if header is None:
        return []
    if header and isinstance(header[0], (list, tuple)):
        return list(header)  # several header rows
    return [header]


def write_xlsx(path: str | Path, rows: Iterable[Sequence], header: Sequence | None = ARGUS_HEADER,
               sheet_title: str = "Argus") -> Path:
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title)
    from openpyxl.cell import WriteOnlyCell

    for h in _header_rows(header):
        ws.append(list(h))
    for row in rows:
        out = []
        for value in row:
            if isinstance(value, (dt.datetime, dt.date)):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = DATE_FORMAT
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
    wb.save(path)
    return path


def write_xls(path: str | Path, rows: Iterable[Sequence], header: Sequence | None = ARGUS_HEADER) -> Path:
    import xlwt

    path = Path(path)
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Argus")
    date_style = xlwt.easyxf(num_format_str="DD.MM.YYYY HH:MM:SS")
    r = 0
    for h in _header_rows(header):
        for c, value in enumerate(h):
            ws.write(r, c, value)
        r += 1
    for row in rows:
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, (dt.datetime, dt.date)):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
        r += 1
    wb.save(str(path))
    return path


def write_csv(path: str | Path, rows: Iterable[Sequence], header: Sequence | None = ARGUS_HEADER,
              delimiter: str = ";", encoding: str = "utf-8") -> Path:
    path = Path(path)
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        for h in _header_rows(header):
            writer.writerow(h)
        for row in rows:
            writer.writerow(["" if v is None else v.strftime(TEXT_DATE) if isinstance(v, dt.datetime) else v
                             for v in row])
    return path


WRITERS = {".xlsx": write_xlsx, ".xls": write_xls, ".csv": write_csv}


def write_argus(path: str | Path, rows: Iterable[Sequence], header: Sequence | None = ARGUS_HEADER) -> Path:
    """Write with the writer for the path's suffix (.xlsx, .xls or .csv)."""
    path = Path(path)
    return WRITERS[path.suffix.lower()](path, rows, header=header)


# ---------------------------------------------------------------- hand-written hostile workbooks
_XLSX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_XLSX_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>')
_XLSX_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Argus" sheetId="1" r:id="rId1"/></sheets></workbook>')
_XLSX_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="{target}" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    '<Relationship Id="rId2" Target="sharedStrings.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>')


def write_raw_xlsx(path: str | Path, sheet_data: str | bytes, shared_strings: Sequence[str] | None = None,
                   extra: dict[str, bytes] | None = None, sheet_path: str = "xl/worksheets/sheet1.xml") -> Path:
    """An .xlsx written as raw XML: ``sheet_data`` is the content of ``<sheetData>`` verbatim
    (so any cell reference, attribute form or namespace prefix can be written), optional
    shared strings and extra zip members, the sheet stored at ``sheet_path`` (the workbook's
    relationship points there). Deflated: hostile files stay small on disk."""
    import zipfile

    path = Path(path)
    body = sheet_data.encode() if isinstance(sheet_data, str) else sheet_data
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?>'
             b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + body + b"</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _XLSX_CONTENT_TYPES)
        z.writestr("_rels/.rels", _XLSX_RELS)
        z.writestr("xl/workbook.xml", _XLSX_WORKBOOK)
        target = sheet_path[3:] if sheet_path.startswith("xl/") else "/" + sheet_path
        z.writestr("xl/_rels/workbook.xml.rels", _XLSX_WORKBOOK_RELS.format(target=target))
        z.writestr(sheet_path, sheet)
        if shared_strings is not None:
            items = "".join(f"<si><t>{s}</t></si>" for s in shared_strings)
            z.writestr("xl/sharedStrings.xml",
                       '<?xml version="1.0" encoding="UTF-8"?><sst '
                       'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + items + "</sst>")
        for name, content in (extra or {}).items():
            z.writestr(name, content)
    return path


def raw_rows(rows: Iterable[Sequence], first_row: int = 1) -> str:
    """``<row>``/``<c>`` XML for plain values (numbers as numbers, str as inline strings)."""
    out = []
    for r, row in enumerate(rows, first_row):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if value is None:
                continue
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        out.append(f'<row r="{r}">' + "".join(cells) + "</row>")
    return "".join(out)
