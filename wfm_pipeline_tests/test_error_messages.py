"""One message per error code: the templates have exactly one source, and the two renderers
(SQL ``wfm.error_message``, Python ``errors.message``) give identical text for the same (code,
params). Which messages the validators produce for real input: test_conformance.py."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import errors as E
from wfm_pipeline.settings import get_settings

SOURCE = get_settings().sql_dir / E.CATALOG_FILE
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Copies of template text that remain outside the source, each equal to its template (the
# test_conformance coverage test renders and compares them): the file loader builds these three
# messages itself. Moving them to errors.message is a follow-up in argus/loader.py.
KNOWN_COPIES: dict[str, set[str]] = {}


def _sql_message(conn: psycopg.Connection, code: str, params: dict) -> str:
    return conn.execute("SELECT wfm.error_message(%s, %s)", (code, Jsonb(params))).fetchone()[0]


def test_the_source_file_is_what_the_table_holds(conn: psycopg.Connection) -> None:
    """The parse of the one source equals wfm.error_codes after migrating, row for row; every code
    the package knows has a template, and the scopes match the package's row/file split."""
    in_db = {r[0]: E.ErrorCode(*r) for r in conn.execute(
        "SELECT error_code, scope, description, message_template FROM wfm.error_codes")}
    parsed = E.parse_catalog(SOURCE.read_text(encoding="utf-8"))
    assert parsed == in_db == E.catalog()
    assert set(parsed) == E.ALL_CODES
    assert {c for c, e in parsed.items() if e.scope == "row"} == E.ROW_CODES
    assert {c for c, e in parsed.items() if e.scope == "file"} == E.FILE_CODES


def test_templates_are_well_formed() -> None:
    """Only {lower_snake} placeholders use braces: both renderers split templates at braces."""
    for code, entry in E.catalog().items():
        assert re.fullmatch(r"(?:[^{}]|\{[a-z_]+\})+", entry.message_template), code
        assert entry.message_template.strip() and entry.description.strip(), code


def _pieces() -> dict[str, str]:
    """Each template's longest literal piece between placeholders, where it is distinctive."""
    pieces = {code: max(PLACEHOLDER.split(e.message_template)[::2], key=len) for code, e in E.catalog().items()}
    return {code: piece for code, piece in pieces.items() if len(piece) >= 25}  # shorter: common phrases


def test_no_python_file_holds_template_text() -> None:
    """Exactly one source: no module of the package repeats the literal text of a template
    (string literals continued over lines are joined first), except the listed copies."""
    root = Path(__file__).resolve().parent.parent
    found: dict[str, set[str]] = {}
    for path in root.glob("wfm_pipeline/**/*.py"):
        text = re.sub(r"[\"']\s*\n\s*[rbfuRBFU]*[\"']", "", path.read_text(encoding="utf-8"))
        for code, piece in _pieces().items():
            if piece in text:
                found.setdefault(path.relative_to(root).as_posix(), set()).add(code)
    assert found == KNOWN_COPIES


def test_no_sql_function_holds_template_text(conn: psycopg.Connection) -> None:
    """... and no function of the migrated database does: they all render with wfm.error_message."""
    bodies = conn.execute("SELECT p.proname::text, p.prosrc FROM pg_catalog.pg_proc p "
                          "WHERE p.pronamespace = 'wfm'::regnamespace").fetchall()
    assert len(bodies) > 50
    found = {(name, code) for name, body in bodies for code, piece in _pieces().items()
             if piece in re.sub(r"'\s*\n\s*'", "", body)}
    assert found == set()
    assert "wfm.import_error_message" not in {f"wfm.{name}" for name, _ in bodies}  # the old CASE is gone


def _all_params(template: str, value: str) -> dict[str, object]:
    params: dict[str, object] = {name: f"<{name}>" for name in PLACEHOLDER.findall(template)}
    params.update(value=value, first_row=3, reason=f"<{value}>")
    return params


@pytest.mark.parametrize("value", [
    "plain", "it's", "''", "{row} and {value}", "{", "}", "x" * 5000, "\u00a0Unicode ✓\nline", "",
])
def test_both_renderers_give_identical_text_for_every_code(conn: psycopg.Connection, value: str) -> None:
    for code, entry in E.catalog().items():
        params = _all_params(entry.message_template, value)
        python = E.message(code, **params)
        assert _sql_message(conn, code, params) == python, code
        if "{" not in value:
            assert not PLACEHOLDER.search(python), code
        if "{value}" in entry.message_template:   # quoted, quotes doubled, clipped; never re-read
            assert "'" + E.clip(value).replace("'", "''") + "'" in python, code
        if "{reason}" in entry.message_template and len(value) < 500:  # others verbatim, braces as parentheses
            assert "<" + value.replace("{", "(").replace("}", ")") + ">" in python, code


def test_rendering_rules(conn: psycopg.Connection) -> None:
    cases = [
        ("NOT_INTEGER", {"column": "B", "value": "x"}, "column B 'x' is not a whole number"),
        ("NOT_INTEGER", {"column": "B"}, "column B {value} is not a whole number"),          # missing: kept
        ("NOT_INTEGER", {"column": None, "value": None}, "column {column} {value} is not a whole number"),
        ("NOT_INTEGER", {"column": "{value}", "value": "{column}"},           # never a placeholder again
         "column (value) '{column}' is not a whole number"),
        ("FILE_UNREADABLE", {"file": "{reason}.csv", "reason": "{file} {value}"},
         "(reason).csv: cannot be read: (file) (value)"),
        ("DUPLICATE_ROW", {"value": "01.01.2024 10:00:00", "first_row": 2, "extra": "ignored"},
         "interval '01.01.2024 10:00:00' is an exact copy of row 2; the first copy is kept"),
        ("IMPORT_FAILED", {"reason": "r" * 1500}, E.clip("r" * 1500, E.MAX_MESSAGE_CHARS)),  # clipped to 1000
    ]
    for code, params, expected in cases:
        assert E.message(code, **params) == expected
        assert _sql_message(conn, code, params) == expected
    assert len(E.message("IMPORT_FAILED", reason="r" * 1500)) == 1000 + len("…(+500 chars)")


def test_an_unknown_code_is_an_error_in_both(conn: psycopg.Connection) -> None:
    with pytest.raises(ValueError, match="unknown error code 'NOPE'"):
        E.message("NOPE")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="error code 'NOPE' has no message template"):
        _sql_message(conn, "NOPE", {})


def test_the_parser_is_strict() -> None:
    good = "INSERT INTO t VALUES ('A', 'row', 'd', 'it''s {value}'\n  ' joined') ON CONFLICT DO NOTHING;"
    assert E.parse_catalog(good) == {"A": E.ErrorCode("A", "row", "d", "it's {value} joined")}
    for bad in ["INSERT INTO t VALUES ('A', 'row', 'd') ON CONFLICT",                      # three fields
                "INSERT INTO t VALUES ('A', 'row', 'd', $$x$$) ON CONFLICT",               # not a literal
                "INSERT INTO t VALUES ('A', 'row', 'd', 'x'), ('A', 'row', 'd', 'y') ON",  # twice
                "INSERT INTO t VALUES ('A', 'row', 'd', 'x') RETURNING *",
                "SELECT 1"]:
        with pytest.raises(ValueError, match="error code catalogue"):
            E.parse_catalog(bad)


def test_the_reference_lists_every_template() -> None:
    """docs/import.md shows each template verbatim (a copy for readers, checked here)."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text(encoding="utf-8")
    missing = [code for code, e in E.catalog().items() if f"| `{code}` | {e.scope} |" not in doc
               or f"| {e.message_template} |" not in doc]
    assert missing == []
