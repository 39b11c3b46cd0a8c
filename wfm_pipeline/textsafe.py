"""Neutralising text that came from files, the database or API callers before it reaches people.

Two outputs, two rules (plain Python; used by every CSV writer and every CLI printer):

**CSV cells** (``csv_cell``, ``csv_writer``) — for spreadsheets (``<file>.errors.csv``):

* a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a single quote
  in front (OWASP, "CSV Injection"): Excel and LibreOffice then show it as text and never
  evaluate it as a formula or DDE call (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``, ``@SUM(1)``);
* **exception**: a plain decimal number (``-5``, ``-0.25``, ``+3``: an optional sign, digits, an
  optional ``.`` fraction, nothing else) is left as it is. A spreadsheet reads it as that number,
  which is exactly what the cell says (negative counts are the commonest rejected value); it
  cannot carry a function call, a cell reference or a second operand, so there is nothing to
  evaluate. ``-1+2``, ``-5e3``, ``-A1`` and ``- 5`` are not plain numbers and are quoted;
* control characters other than newline and tab are escaped visibly (below), so that
  ``cat file.errors.csv`` cannot drive the terminal either;
* every cell is written in double quotes (``csv.QUOTE_ALL``): a spreadsheet whose locale splits
  on ``;`` instead of ``,`` still sees one cell per field, so a ``;=cmd...`` inside a value can
  never start a new cell.

The quote is visible in the cell and stays when the file is read back with the csv module:
what a planner sees is what arrived, with the quote telling them it was defused.

**Terminal text** (``term``, ``term_lines``) — for the CLI's tables and messages:

* C0 controls (including ESC, which starts every ANSI/OSC sequence, so no sequence survives),
  DEL, C1 controls (``\\x80``-``\\x9f``, e.g. the single-byte CSI ``\\x9b``), the Unicode line and
  paragraph separators and the bidirectional overrides/isolates ("Trojan Source") are replaced by
  a visible escape: ``\\n``, ``\\r``, ``\\t``, ``\\xNN`` or ``\\uNNNN``;
* ``term`` escapes newlines too (a table cell stays on its line and cannot fake another line);
  ``term_lines`` keeps ``\\n`` for multi-line messages the program composed itself;
* lone surrogates - the bytes of a file or folder name that are not UTF-8, as Python decodes
  them (``os.fsdecode``: byte ``0xNN`` becomes ``U+DCNN``) - are shown as ``\\xNN`` too: written
  out they would be those raw bytes (a ``0x9b`` is the 8-bit CSI), and they cannot be encoded to
  UTF-8 at all (``storable`` gives the same text for the database and files);
* backslashes are not doubled: Windows paths stay readable, at the price that a name that
  literally contains ``\\x1b`` prints the same as one containing ESC.

**JSON** output needs nothing of its own: ``json.dumps`` with its default ``ensure_ascii=True``
escapes every C0 and C1 control, DEL and every non-ASCII character as ``\\uNNNN``, so a JSON
line is pure printable ASCII and parses back to the original text (a test holds this).
"""

from __future__ import annotations

import csv
import re
from typing import IO, Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")  # ASCII digits only

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SURROGATES = "\ud800-\udfff"   # undecodable bytes of names (surrogateescape): no UTF-8 for them
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + _SURROGATES
_TERM = re.compile(f"[{_CONTROLS}]")
_TERM_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + _SURROGATES + "]")   # all but \n
_CSV_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + _BIDI + _SURROGATES + "]")  # all but \t, \n
_STORABLE = re.compile(f"[{_SURROGATES}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:   # the undecodable byte 0xNN of a name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def storable(text: str) -> str:
    """``text`` with every lone surrogate shown as ``\\xNN`` (``\\uNNNN``): a file or folder name
    with bytes that are not UTF-8 (``wfm import`` gets such names from the shell), in a form
    PostgreSQL and UTF-8 files accept. Everything else is kept as it is."""
    return _STORABLE.sub(_escape, text)


def term(value: Any) -> str:
    """``str(value)`` safe for one terminal line: every control character escaped visibly."""
    return _TERM.sub(_escape, "" if value is None else str(value))


def term_lines(text: Any) -> str:
    """Like ``term`` but keeps newlines: for whole messages whose line breaks are ours."""
    return _TERM_LINES.sub(_escape, "" if text is None else str(text))


def is_plain_number(text: str) -> bool:
    return _PLAIN_NUMBER.fullmatch(text) is not None


def csv_cell(value: Any) -> str:
    """One CSV cell a spreadsheet shows as text: controls escaped, formula starts defused."""
    raw = "" if value is None else str(value)
    text = _CSV_CONTROLS.sub(_escape, raw)
    if raw.startswith(FORMULA_PREFIXES) and not is_plain_number(raw):  # judged on what was sent
        return "'" + text
    return text


class SafeCsvWriter:
    """``csv.writer`` (every cell quoted) whose rows go through ``csv_cell``."""

    def __init__(self, fh: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(fh, quoting=csv.QUOTE_ALL, **kwargs)

    def writerow(self, row: list[Any] | tuple[Any, ...]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fh: IO[str], **kwargs: Any) -> SafeCsvWriter:
    """The one way the product writes CSV meant for people."""
    return SafeCsvWriter(fh, **kwargs)
