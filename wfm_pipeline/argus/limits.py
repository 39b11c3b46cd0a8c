"""Bounds checked on an Excel file BEFORE python-calamine materializes it.

calamine builds a DENSE range from the extents of the cells it finds (``Range::from_sparse``),
and ``to_python(skip_empty_area=False)`` pads it from A1: one cell at ``XFD1048576`` asks for
hundreds of GB, and an .xls record with column 65535 does the same. Shared strings are cloned
into every cell that references them. So, for the bytes calamine will read:

* .xlsx/.xlsm (zip): an xlsx and nothing else (calamine detects formats by content and would
  fall back to .xls, .xlsb or ODS); declared and actual uncompressed sizes, compression ratio;
  the used range of every entry read as a sheet (a cheap screen for files written the usual
  way, an exact scan that follows calamine's own positioning rules otherwise: ``<dimension
  ref>`` is never trusted); the length of every shared string (Excel's own limit, 32,767
  characters) and the shared-string text all cells together would materialize.
* .xls (OLE compound file): the BIFF cell records of every sheet (calamine parses them all).

Everything raises ``ArgusFileError`` (``FILE_TOO_LARGE``, ``SHEET_TOO_LARGE`` or
``FILE_UNREADABLE``) with a message naming the file and the limit.
"""

from __future__ import annotations

import functools
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO

import numpy as np

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError

MAX_STRING_CHARS = 32_767        # Excel's own limit for the text of one cell
MIN_SHARED_CELL_BYTES = 20       # <c t="s"><v>0</v></c>: the smallest cell that clones a shared string
RATIO_CHECK_MIN_BYTES = 1 << 20  # small members (styles, themes) compress very well: not a bomb


@dataclass(frozen=True)
class ReaderLimits:
    """What one Argus file may cost. Defaults fit a decade of 15-minute rows with room to spare."""

    max_file_bytes: int = 100 * 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 64
    max_cells: int = 16_000_000             # rows x columns of the dense range calamine allocates
    max_uncompressed_bytes: int | None = None  # None: 10 x max_file_bytes
    max_compression_ratio: float = 100.0
    max_text_chars: int = 50_000_000        # shared-string characters cloned into cells, all cells

    @classmethod
    def from_settings(cls) -> ReaderLimits:
        from wfm_pipeline.settings import get_settings

        return cls(max_file_bytes=int(get_settings().max_file_mb * 1024 * 1024))

    @property
    def uncompressed_budget(self) -> int:
        return self.max_uncompressed_bytes or 10 * self.max_file_bytes


def _mb(n: int) -> str:
    return f"{n / 1_048_576:,.1f} MB"


def check_dimensions(name: str, rows: int, columns: int, limits: ReaderLimits, where: str = "sheet") -> None:
    """``SHEET_TOO_LARGE`` when a used range of ``rows`` x ``columns`` (from A1) is beyond the limits."""
    if rows > limits.max_rows or columns > limits.max_columns or rows * columns > limits.max_cells:
        raise ArgusFileError.of(
            E.SHEET_TOO_LARGE, file=name, where=where, last_row=f"{rows:,}", last_column=f"{columns:,}",
            cells=f"{rows * columns:,}", max_rows=f"{limits.max_rows:,}", max_columns=limits.max_columns,
            max_cells=f"{limits.max_cells:,}", value=f"{rows}x{columns}")


# ---------------------------------------------------------------- xlsx
# The screen: in files written the usual way (Excel, openpyxl, xlsxwriter, .NET) every <c> and
# <row> tag starts with a double-quoted r attribute (letters A-ZZZ, rows up to 7 digits) and no
# tag has a second one. Then every cell sits where its r says, and the largest row and column
# are read off the bytes with numpy (a regex per tag costs ten times calamine's own parse).
_PREFIXED = re.compile(rb':(?:c|row)[\s>/]')


def _is_ws(x: np.ndarray) -> np.ndarray:
    return (x == 0x20) | ((x - np.uint8(0x09)) < np.uint8(2)) | (x == 0x0D)  # space, tab, LF, CR


def _ends_name(x: np.ndarray) -> np.ndarray:
    return _is_ws(x) | (x == 0x3E) | (x == 0x2F)  # whitespace, '>' or '/'


def _canonical_refs(words: np.ndarray, tags: np.ndarray, name_len: int, letters: bool) -> tuple[int, int] | None:
    """Largest row and column of tags that all continue with ' r="' + 1-3 letters (cells only)
    + 1-7 digits (no leading zero) + '"'; None when one of them does not.

    ``words[i]`` holds bytes i..i+7 (an overlapping little-endian view): two gathers per tag
    give its next 16 bytes as one row of a byte matrix; the rest is column arithmetic."""
    n = len(tags)
    if n == 0:
        return 0, 0
    v = tags + 1 + name_len
    pairs = np.empty((n, 2), dtype="<u8")
    pairs[:, 0], pairs[:, 1] = words[v], words[v + 8]
    window = pairs.view(np.uint8)  # (tags, 16)
    ok = (pairs[:, 0] & np.uint64(0xFFFFFFFF)) == np.uint64(int.from_bytes(b' r="', "little"))
    # Byte classes by unsigned wrap-around (b - lo < n): cheaper than lookups or two compares.
    column = np.zeros(1, dtype=np.int64)
    two = three = np.zeros(n, dtype=bool)
    if letters:
        up = window[:, 4:7] | np.uint8(0x20)
        is_letter = (up - np.uint8(0x61)) < np.uint8(26)
        ok &= is_letter[:, 0]
        two, three = is_letter[:, 1], is_letter[:, 1] & is_letter[:, 2]
        if two.any():
            value = up.astype(np.int64) - 0x60
            column = np.where(three, value[:, 0] * 676 + value[:, 1] * 26 + value[:, 2],
                              np.where(two, value[:, 0] * 26 + value[:, 1], value[:, 0]))
            digits = np.where(three[:, None], window[:, 7:15], np.where(two[:, None], window[:, 6:14], window[:, 5:13]))
        else:
            column = up[:, 0]
            digits = window[:, 5:13]
    else:
        digits = window[:, 4:12]
    is_digit = (digits - np.uint8(0x30)) < np.uint8(10)
    n_digits = np.argmin(is_digit, axis=1)  # the first non-digit (0 when all are: refused below)
    ok &= (digits[:, 0] - np.uint8(0x31)) < np.uint8(9)
    ok &= digits[np.arange(n), n_digits] == 0x22
    if not ok.all():
        return None
    # The largest row number: most digits first, then the digit string itself (its bytes, read
    # big-endian, order like the numbers), so only one number is ever converted.
    start = v + 4 + (0 if not letters else 1 + two.astype(np.int64) + three)
    text = words[start] & ((np.uint64(1) << (np.uint64(8) * n_digits.astype(np.uint64))) - np.uint64(1))
    longest = n_digits == n_digits.max()
    best = int(np.argmax(np.where(longest, text.byteswap(), np.uint64(0))))
    row = int(bytes(digits[best, :n_digits[best]]))
    return row, int(column.max()) - (0x60 if letters and not two.any() else 0)


def _screen(xml: bytes) -> tuple[int, int] | None:
    """Rows and columns of a sheet in the usual form, from its bytes with numpy; None when the
    sheet is not in that form (the exact scan decides then)."""
    a = np.frombuffer(xml, dtype=np.uint8)
    if a.size < 64:
        return None
    # words[i] = bytes i..i+7; tags in the last 24 bytes are refused below (a sheet ends with
    # "</sheetData></worksheet>"), so every look-ahead stays inside the buffer: no padded copy.
    words = np.ndarray(shape=(a.size - 7,), dtype="<u8", buffer=a, strides=(1,))
    lt = np.flatnonzero((a[:-1] == 0x3C) & ((a[1:] == 0x63) | (a[1:] == 0x72)))  # '<c' or '<r'
    if lt.size and lt[-1] > a.size - 24:
        return None
    n1, n2 = a[lt + 1], a[lt + 2]
    cells = lt[(n1 == 0x63) & _ends_name(n2)]
    rows = lt[(n1 == 0x72) & (n2 == 0x6F) & (a[lt + 3] == 0x77) & _ends_name(a[lt + 4])]
    extent = _canonical_refs(words, cells, 1, True)
    if extent is None or _canonical_refs(words, rows, 3, False) is None:
        return None
    # No r attribute besides those: every "<whitespace>r<whitespace or =>" is one of them.
    rs = np.flatnonzero(a[:-1] == 0x72)
    rs = rs[rs > 0]
    rs = rs[_is_ws(a[rs - 1])]
    after = a[rs + 1]
    attributes = np.count_nonzero(_is_ws(after) | (after == 0x3D))
    if attributes != len(cells) + len(rows) or _PREFIXED.search(xml) is not None:
        return None
    return extent


# The exact scan (calamine's rules): a <c> start tag is placed by its r attribute, or after the
# previous cell of the row; </row> moves to the next row unless a <row r> says otherwise;
# self-closing tags are ignored. Attribute values may hold '>' (quote-aware).
_TAG = re.compile(rb'<(?:(/)(?:[A-Za-z_][\w.\-]*:)?row\s*>'
                  rb'|(?:[A-Za-z_][\w.\-]*:)?(c|row)(?=[\s/>])((?:[^>"\']+|"[^"]*"|\'[^\']*\')*)>)')
_R_ATTR = re.compile(rb'\sr\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_REF = re.compile(rb'([A-Za-z]*)([0-9]+)')
_HUGE = 1 << 32  # a reference calamine cannot place sensibly (u32 overflow, row 0): beyond every limit


@functools.lru_cache(maxsize=4096)
def _column(letters: bytes) -> int:
    column = 0
    for ch in letters.upper():
        column = column * 26 + ch - 64
    return column


def _ref(value: bytes) -> tuple[int, int] | None:
    """(row, column), 1-based, of a cell reference; None when calamine would reject it."""
    m = _REF.fullmatch(value)
    if m is None:
        return None
    letters, digits = m.groups()
    row = int(digits) if len(digits) < 12 else _HUGE
    return (row or _HUGE), _column(letters) if letters else 0


def sheet_extent(xml: bytes, limits: ReaderLimits) -> tuple[int, int]:
    """Rows and columns (1-based extents, counted from A1) calamine would give this sheet XML
    (an upper bound: empty cells and cells calamine would refuse count too)."""
    extent = _screen(xml)
    if extent is not None:
        return extent
    row_index, col_index, max_row, max_col = 0, 0, 0, 0  # row_index/col_index 0-based, as calamine
    for closing, tag, attrs in _TAG.findall(xml):
        if closing:
            row_index, col_index = row_index + 1, 0
            continue
        if attrs[-1:] == b"/":
            continue
        # Several r attributes: calamine keeps the last for a cell; the largest bounds either.
        refs = [_ref(dq or sq) for dq, sq in _R_ATTR.findall(attrs)] if b"r" in attrs else []
        refs = [ref for ref in refs if ref is not None]
        if tag == b"row":
            if refs:
                row_index = max(ref[0] for ref in refs) - 1
            continue
        refs = [ref for ref in refs if ref[1] > 0]
        if refs:
            row, col = (refs[0] if len(refs) == 1 else
                        (max(ref[0] for ref in refs), max(ref[1] for ref in refs)))
            col_index = col - 1
        else:
            row, col = row_index + 1, col_index + 1
        col_index += 1
        if row > max_row:
            max_row = row
        if col > max_col:
            max_col = col
    return max_row, max_col


_SI = re.compile(rb'<(?:[\w.-]+:)?si[\s>/]')
_T_TEXT = re.compile(rb'<(?:[\w.-]+:)?t(?:\s[^>]*)?>(.*?)</(?:[\w.-]+:)?t\s*>', re.S)
_S_CELL = re.compile(rb'<(?:[\w.-]+:)?c\s(?:[^>"\']|"[^"]*"|\'[^\']*\')*?\bt\s*=\s*["\']s["\']'
                     rb'(?:[^>"\']|"[^"]*"|\'[^\']*\')*>(.*?)</(?:[\w.-]+:)?c\s*>', re.S)
_V_INDEX = re.compile(rb'<(?:[\w.-]+:)?v\s*>\s*([0-9]+)')


def _string_chars(si: bytes) -> int:
    """Characters of one shared string (its <t> texts, entities decoded)."""
    import html

    return sum(len(html.unescape(t.decode("utf-8", "replace"))) for t in _T_TEXT.findall(si))


def check_shared_strings(name: str, sst: bytes, total_bytes: int, sheets: Callable[[], Iterator[bytes]],
                         limits: ReaderLimits) -> None:
    """No shared string beyond 32,767 characters; the text all cells would clone within budget.

    A string's size in bytes bounds its characters (markup and UTF-8 only add bytes), so the
    exact count is taken only for strings whose bytes exceed the limit, and the cells are
    scanned only when "every possible cell holds the longest string" exceeds the budget.
    """
    starts = [m.start() for m in _SI.finditer(sst)]
    if not starts:
        return
    bounds = [b - a for a, b in zip(starts, starts[1:] + [len(sst)])]
    for i, span in enumerate(bounds):
        if span > MAX_STRING_CHARS:
            chars = _string_chars(sst[starts[i]:starts[i] + span])
            if chars > MAX_STRING_CHARS:
                raise ArgusFileError.of(
                    E.FILE_TOO_LARGE, file=name,
                    reason=f"shared string {i + 1} has {chars:,} characters; a cell holds at most "
                    f"{MAX_STRING_CHARS:,} (Excel's own limit)", value=str(chars))
            bounds[i] = chars
    possible_cells = total_bytes // MIN_SHARED_CELL_BYTES
    if possible_cells * max(bounds) <= limits.max_text_chars:
        return
    total = 0
    for sheet in sheets():
        for body in _S_CELL.findall(sheet):
            v = _V_INDEX.search(body)
            if v is not None:
                index = int(v.group(1)) if len(v.group(1)) < 12 else -1
                total += bounds[index] if 0 <= index < len(bounds) else 0
    if total > limits.max_text_chars:
        raise ArgusFileError.of(
            E.FILE_TOO_LARGE, file=name,
            reason=f"the cells would copy up to {total:,} characters of shared strings; the reader "
            f"accepts at most {limits.max_text_chars:,}", value=str(total))


def _inflate(data: bytes, info: zipfile.ZipInfo, name: str) -> bytes:
    """A member's real content: all of its compressed bytes inflated, checked against its
    declared size (a member holding more than it declares is how zip bombs hide)."""
    if info.flag_bits & 0x1:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"encrypted workbook ({info.filename}); save it unprotected")
    header = data[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"not a readable Excel file (broken zip entry {info.filename})")
    start = info.header_offset + 30 + sum(struct.unpack("<HH", header[26:30]))
    raw = data[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        out = raw
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(raw, info.file_size + 1)
        except zlib.error as exc:
            raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"not a readable Excel file ({info.filename}: {exc})") from exc
        if len(out) > info.file_size or inflater.unconsumed_tail:
            raise ArgusFileError.of(
                E.FILE_TOO_LARGE, file=name,
                reason=f"zip entry {info.filename} holds more data than the {info.file_size:,} bytes it declares",
                value=info.filename)
    else:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name,
                                reason=f"zip entry {info.filename} uses an unsupported compression method")
    if len(out) != info.file_size:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name,
                                reason=f"not a readable Excel file (zip entry {info.filename} is truncated)")
    return out


def check_xlsx(data: bytes, name: str, limits: ReaderLimits) -> None:
    """All xlsx bounds (module docstring); raises ``ArgusFileError`` on the first one exceeded."""
    if data[:8] == _OLE_MAGIC:  # calamine would try it as .xls first, unchecked
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason="an .xls (OLE) file named .xlsx; name it .xls")
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"not a readable Excel file ({exc})") from exc
    declared = sum(i.file_size for i in infos)
    if declared > limits.uncompressed_budget:
        raise ArgusFileError.of(E.FILE_TOO_LARGE, file=name,
                                reason=f"{_mb(declared)} uncompressed; the reader accepts at most "
                                f"{_mb(limits.uncompressed_budget)} (10 x WFM_MAX_FILE_MB)", value=str(declared))
    for i in infos:
        if i.file_size > RATIO_CHECK_MIN_BYTES and i.file_size > limits.max_compression_ratio * max(i.compress_size, 1):
            raise ArgusFileError.of(
                E.FILE_TOO_LARGE, file=name,
                reason=f"zip entry {i.filename} inflates {i.file_size / max(i.compress_size, 1):,.0f}-fold "
                f"({_mb(i.compress_size)} to {_mb(i.file_size)}); at most {limits.max_compression_ratio:,.0f}-fold "
                "is accepted (a zip bomb?)", value=i.filename)
    members = {i.filename: i for i in infos}
    # calamine detects the format from the content and falls back from xlsx to xlsb and ODS
    # (which expands number-rows-repeated): only an xlsx that is nothing else goes through.
    lower = {m.lower() for m in members}
    if "xl/workbook.xml" not in members or lower & {"content.xml", "xl/workbook.bin"}:
        kind = "OpenDocument" if "content.xml" in lower else "xlsb" if "xl/workbook.bin" in lower else "unknown"
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name,
                                reason=f"not an .xlsx workbook (zip with {kind} content); save it as .xlsx")
    # Every entry is checked as if it were the sheet: which one calamine reads is decided by the
    # workbook's relationships, and a second opinion on them would be a way around the check.
    # Entries are inflated one at a time (duplicate names included: both are checked).
    total_bytes = 0
    shared = []
    for info in infos:
        content = _inflate(data, info, name)
        rows, columns = sheet_extent(content, limits)
        check_dimensions(name, rows, columns, limits)
        total_bytes += len(content)
        if info.filename.lower().endswith("sharedstrings.xml"):  # calamine: xl/sharedStrings.xml
            shared.append(info)
        del content
    for info in shared:
        check_shared_strings(name, _inflate(data, info, name), total_bytes,
                             lambda: (_inflate(data, i, name) for i in infos), limits)


# ---------------------------------------------------------------- xls
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
# BIFF records that put a value in a cell (BLANK/MULBLANK are ignored by calamine).
_CELL_RECORDS = {0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0203, 0x0204, 0x0205, 0x0206, 0x0406, 0x027E,
                 0x00FD, 0x00D6}
_MULRK = 0x00BD


class _Corrupt(Exception):
    pass


def _ole_stream(data: bytes, wanted: tuple[str, ...]) -> bytes:
    """The first stream named one of ``wanted`` from an OLE compound file (minimal reader)."""
    if len(data) < 512 or data[:8] != _OLE_MAGIC:
        raise _Corrupt("not an OLE compound file")
    sector_shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise _Corrupt("bad sector size")
    size = 1 << sector_shift
    n_fat, dir_start = struct.unpack_from("<II", data, 44)
    mini_cutoff, minifat_start, _n_minifat, difat_start, n_difat = struct.unpack_from("<IIIII", data, 56)
    n_sectors = max(0, (len(data) - size) // size)

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise _Corrupt("sector out of range")
        return data[size + i * size: size + (i + 1) * size]

    difat = list(struct.unpack_from("<109I", data, 76))
    nxt, guard = difat_start, 0
    while nxt < _END_OF_CHAIN - 3 and guard <= n_difat:
        entries = struct.unpack(f"<{size // 4}I", sector(nxt))
        difat.extend(entries[:-1])
        nxt, guard = entries[-1], guard + 1
    fat: list[int] = []
    for s in difat[:n_fat]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))

    def chain(start: int, table: list[int]) -> list[int]:
        out = []
        while start < len(table) and len(out) <= len(table):
            out.append(start)
            start = table[start]
        if len(out) > len(table):
            raise _Corrupt("cyclic sector chain")
        return out

    directory = b"".join(sector(s) for s in chain(dir_start, fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise _Corrupt("empty directory")
    root_start = struct.unpack_from("<I", entries[0], 116)[0]
    for entry in entries:
        name_len = struct.unpack_from("<H", entry, 64)[0]
        entry_name = entry[:max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        if entry[66] != 2 or entry_name not in wanted:
            continue
        start, length = struct.unpack_from("<IQ", entry, 116)
        if sector_shift == 9:
            length &= 0xFFFFFFFF  # version 3 files: the high half may be garbage
        if length < mini_cutoff:
            minifat: list[int] = []
            for s in chain(minifat_start, fat):
                minifat.extend(struct.unpack(f"<{size // 4}I", sector(s)))
            mini = b"".join(sector(s) for s in chain(root_start, fat))
            return b"".join(mini[s * 64:(s + 1) * 64] for s in chain(start, minifat))[:length]
        return b"".join(sector(s) for s in chain(start, fat))[:length]
    raise _Corrupt("no Workbook stream")


_SST, _CONTINUE, _LABELSST = 0x00FC, 0x003C, 0x00FD


def _sst_lengths(segments: list[bytes]) -> list[int]:
    """Character counts of the strings of a BIFF8 shared-string table (SST + CONTINUE bodies).

    A string's characters may continue in the next CONTINUE record, which then starts with a
    fresh flag byte (8- or 16-bit characters); headers, rich-text runs and extension data do
    not carry one."""
    if not segments or len(segments[0]) < 8:
        return []
    unique = struct.unpack_from("<I", segments[0], 4)[0]
    segments = [segments[0][8:], *segments[1:]]
    seg, pos = 0, 0

    def take(n: int) -> bytes:  # n bytes across segment boundaries (no flag bytes)
        nonlocal seg, pos
        out = b""
        while len(out) < n:
            if seg >= len(segments):
                raise _Corrupt("SST ends inside a string")
            chunk = segments[seg][pos:pos + n - len(out)]
            out += chunk
            pos += len(chunk)
            if pos >= len(segments[seg]) and len(out) < n:
                seg, pos = seg + 1, 0
        return out

    lengths: list[int] = []
    try:
        while len(lengths) < unique:
            if seg < len(segments) and pos >= len(segments[seg]):
                seg, pos = seg + 1, 0
            cch, flags = struct.unpack("<HB", take(3))
            wide = flags & 0x01
            runs = struct.unpack("<H", take(2))[0] if flags & 0x08 else 0
            ext = struct.unpack("<I", take(4))[0] if flags & 0x04 else 0
            remaining = cch
            while remaining:
                if pos >= len(segments[seg]):
                    seg, pos = seg + 1, 0
                    if seg >= len(segments):
                        raise _Corrupt("SST ends inside a string")
                    wide, pos = segments[seg][0] & 0x01, 1
                width = 2 if wide else 1
                step = min(remaining, (len(segments[seg]) - pos) // width)
                if step == 0:
                    raise _Corrupt("SST character split across records")
                pos += step * width
                remaining -= step
            take(4 * runs + ext)
            lengths.append(cch)
    except (_Corrupt, struct.error):
        pass  # a broken table: what was read is what calamine can clone at most
    return lengths


def xls_extent(data: bytes) -> tuple[int, int, int]:
    """Rows and columns (1-based extents) of the value cells of all sheets of a BIFF file, and
    the characters its LABELSST cells would clone from the shared-string table."""
    stream = _ole_stream(data, ("Workbook", "Book"))
    max_row = max_col = 0
    sst_segments: list[bytes] = []
    in_sst = False
    indices: list[int] = []
    pos, end = 0, len(stream)
    pair = struct.Struct("<HH").unpack_from  # one record header, or a cell's row and column
    cell_kinds = _CELL_RECORDS | {_MULRK}
    while pos + 4 <= end:
        kind, length = pair(stream, pos)
        body = pos + 4
        pos = body + length
        if kind in cell_kinds:
            if length < 4 or pos > end:
                continue
            row, col = pair(stream, body)
            if kind == _MULRK and length >= 6:
                col = max(col, pair(stream, pos - 4)[1])
            elif kind == _LABELSST and length >= 10:
                indices.append(struct.unpack_from("<I", stream, body + 6)[0])
            if row >= max_row:
                max_row = row + 1
            if col >= max_col:
                max_col = col + 1
            in_sst = False
        elif kind == _SST:
            sst_segments, in_sst = [stream[body:pos]], True
        elif kind == _CONTINUE and in_sst:
            sst_segments.append(stream[body:pos])
        else:
            in_sst = False
    lengths = _sst_lengths(sst_segments)
    text = sum(lengths[i] for i in indices if i < len(lengths))
    return max_row, max_col, text


def check_xls(data: bytes, name: str, limits: ReaderLimits) -> None:
    """The used range of every sheet of an .xls file within the limits (calamine reads them all)."""
    if zipfile.is_zipfile(BytesIO(data)):  # an OLE/zip polyglot: calamine falls back to the zip, unchecked
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason="not a readable Excel file (also a zip archive)")
    try:
        rows, columns, text = xls_extent(data)
    except (_Corrupt, struct.error) as exc:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"not a readable Excel file ({exc})") from exc
    check_dimensions(name, rows, columns, limits, where="workbook")
    if text > limits.max_text_chars:
        raise ArgusFileError.of(
            E.FILE_TOO_LARGE, file=name,
            reason=f"the cells would copy {text:,} characters of shared strings; the reader accepts at most "
            f"{limits.max_text_chars:,}", value=str(text))
