"""textsafe: CSV cells a spreadsheet cannot evaluate, terminal text that cannot drive the terminal."""

import csv
import io
import json

import pytest

from wfm_pipeline.textsafe import csv_cell, csv_writer, storable, term, term_lines

# Every character that must never reach a terminal raw: C0, DEL, C1, line/paragraph
# separators, bidi overrides and isolates.
CONTROLS = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7f, 0xa0)]
            + ["\u2028", "\u2029", "\u202e", "\u2066", "\u200f"])


@pytest.mark.parametrize("value", [
    "=HYPERLINK(\"http://evil\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "-A1", "- 5", "-5e3",
    "\t=1", "\r=1", "=cmd|' -C calc'!A0.csv", "+", "-", "=",
])
def test_cells_that_start_a_formula_are_quoted(value: str) -> None:
    cell = csv_cell(value)
    assert cell.startswith("'")
    assert cell[1:] in (value, value.replace("\r", "\\r"))   # the text itself is kept (CR shown escaped)


@pytest.mark.parametrize("value", ["-5", "-0.25", "+3", "12", "0", "-1000000"])
def test_plain_numbers_stay_numbers(value: str) -> None:
    # A spreadsheet reads these as the number they show; there is nothing to evaluate.
    assert csv_cell(value) == value


@pytest.mark.parametrize("value", ["a=b", "ok", "Ünïcödé =1", "", None, 7, "٣-"])
def test_harmless_cells_are_unchanged(value) -> None:
    assert csv_cell(value) == ("" if value is None else str(value))


def test_csv_cells_escape_controls_but_keep_tab_and_newline_inside() -> None:
    assert csv_cell("a\x1b]0;pwn\x07b") == "a\\x1b]0;pwn\\x07b"
    assert csv_cell("line 1\nline\t2") == "line 1\nline\t2"
    assert csv_cell("x\x9by\x7fz") == "x\\x9by\\x7fz"


def test_every_cell_is_quoted_so_a_semicolon_locale_cannot_split_a_value_into_a_new_cell() -> None:
    out = io.StringIO()
    csv_writer(out).writerow(["a;=1+2", -5, "b,c"])
    assert out.getvalue() == '"a;=1+2","-5","b,c"\r\n'
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["a;=1+2", "-5", "b,c"]


@pytest.mark.parametrize("ch", CONTROLS)
def test_term_escapes_every_control_character_visibly(ch: str) -> None:
    shown = term(f"a{ch}b")
    assert shown.startswith("a\\") and shown.endswith("b") and len(shown) > 3
    assert all(c.isprintable() for c in shown)


def test_term_makes_escape_sequences_inert_and_term_lines_keeps_our_newlines() -> None:
    osc = "\x1b]0;pwned\x07report.csv"
    assert term(osc) == "\\x1b]0;pwned\\x07report.csv"
    assert term("\x9b31m") == "\\x9b31m"
    assert term("a\nb") == "a\\nb"                    # a table cell stays on its line
    assert term_lines("a\nb\x1b[2J") == "a\nb\\x1b[2J"
    assert term(None) == "" and term(5) == "5" and term("отчёт.xlsx") == "отчёт.xlsx"


def test_json_output_escapes_c0_c1_and_del_and_round_trips() -> None:
    text = "".join(CONTROLS) + "отчёт"
    line = json.dumps({"file_name": text})
    assert line.isascii() and all(c.isprintable() for c in line)
    assert json.loads(line)["file_name"] == text


def test_undecodable_name_bytes_are_shown_as_their_byte_everywhere() -> None:
    # os.fsdecode(b"\x9b31m\xfe.csv"): the bytes that are not UTF-8 arrive as lone surrogates
    name = "\udc9b31m\udcfe.csv"
    assert term(name) == term_lines(name) == storable(name) == "\\x9b31m\\xfe.csv"
    assert csv_cell(name) == "\\x9b31m\\xfe.csv" and storable("отчёт\ud800") == "отчёт\\ud800"
    assert storable(name).encode("utf-8")
