"""Where the current body of a function or view lives has one answer: its file in sql/functions/.

Numbered migrations hold tables, types, roles, table grants, triggers and data steps only;
every function, trigger function and plain view of schema wfm is defined in exactly one file
sql/functions/<area>/<name>.sql, named after it (materialized views stay in numbered files: their
data makes them tables more than code).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import psycopg

from wfm_pipeline.db import migrations

# A definition starts a line (as every file writes it); text inside a body is indented or quoted.
_DEFINITION = re.compile(r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?P<kind>FUNCTION|PROCEDURE|VIEW)\s+wfm\.(?P<name>\w+)",
                         re.IGNORECASE | re.MULTILINE)
# What belongs to a function or view in a numbered file: its definition, comment or EXECUTE grant.
_FUNCTION_OR_VIEW_STATEMENT = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|VIEW)\b"
    r"|ALTER\s+(?:FUNCTION|PROCEDURE|VIEW)\b"
    r"|COMMENT\s+ON\s+(?:FUNCTION|PROCEDURE|VIEW)\b"
    r"|(?:GRANT|REVOKE)\b[^;]*\bON\s+(?:ALL\s+)?(?:FUNCTIONS?|PROCEDURES?|ROUTINES?)\b)",
    re.IGNORECASE | re.MULTILINE)


def _is_reference_data(text: str) -> bool:
    """A repeatable file may also hold reference data: idempotent upserts into wfm tables only."""
    statements = [st.strip() for st in re.sub(r"--[^\n]*", "", text).split(";\n") if st.strip()]
    return bool(statements) and all(re.match(r"INSERT\s+INTO\s+wfm\.", st, re.IGNORECASE)
                                    and re.search(r"\bON\s+CONFLICT\b", st, re.IGNORECASE) for st in statements)


def _defined_in_files() -> dict[tuple[str, str], list[str]]:
    """(kind 'function' | 'view', name) -> the repeatable files that define it."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for repeatable in migrations.discover_repeatables():
        text = repeatable.path.read_text()
        kinds = {("view" if m["kind"].upper() == "VIEW" else "function", m["name"].lower())
                 for m in _DEFINITION.finditer(text)}
        if not kinds and _is_reference_data(text):
            continue   # e.g. errors/error_codes.sql: the one source of the error code texts
        assert len(kinds) == 1, f"sql/functions/{repeatable.name} must define exactly one function or view, found {kinds}"
        (kind, name), = kinds
        assert repeatable.path.stem == name, f"sql/functions/{repeatable.name} defines wfm.{name}: name the file {name}.sql"
        found[(kind, name)].append(repeatable.name)
    return found


def test_every_function_and_view_is_defined_in_exactly_one_file(conn: psycopg.Connection) -> None:
    files = _defined_in_files()
    twice = {f"wfm.{name}": paths for (_, name), paths in files.items() if len(paths) > 1}
    assert not twice, f"defined in more than one file: {twice}"

    in_database = {("function", name) for (name,) in conn.execute(
        "SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'wfm'::regnamespace")}
    in_database |= {("view", name) for (name,) in conn.execute(
        "SELECT v.viewname FROM pg_catalog.pg_views v WHERE v.schemaname = 'wfm'")}
    assert len(in_database) > 70                               # the scan has something to compare
    assert not in_database - set(files), f"in schema wfm but in no file of sql/functions: {sorted(in_database - set(files))}"
    assert not set(files) - in_database, f"in sql/functions but not in the migrated schema: {sorted(set(files) - in_database)}"


def test_numbered_migrations_define_no_function_or_view() -> None:
    problems = []
    for migration in migrations.discover():
        for match in _FUNCTION_OR_VIEW_STATEMENT.finditer(migration.path.read_text()):
            line = migration.path.read_text().count("\n", 0, match.start()) + 1
            problems.append(f"{migration.path.name}:{line}: {match.group(0).strip()}")
    assert not problems, ("functions and views live in sql/functions/<area>/<name>.sql "
                          "(a migration that needs one names it in a '-- requires:' header):\n" + "\n".join(problems))


def test_layout_check_sees_functions_in_numbered_files(previous_release_sql: Path) -> None:
    """The check above would fail on the previous release, whose migrations held the bodies."""
    old = {m.path.name: m.path.read_text() for m in migrations.discover(previous_release_sql)}
    assert len(_FUNCTION_OR_VIEW_STATEMENT.findall(old["040_json_import_validation.sql"])) == 27
    assert sum(len(_FUNCTION_OR_VIEW_STATEMENT.findall(text)) for text in old.values()) > 150
    # ... and tells them from what stays: materialized views, triggers, table grants.
    text = ("CREATE FUNCTION wfm.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
            "COMMENT ON FUNCTION wfm.f() IS 'x';\n"
            "REVOKE EXECUTE ON FUNCTION wfm.f(), wfm.g() FROM PUBLIC;\n"
            "GRANT EXECUTE ON FUNCTION wfm.f()\n    TO wfm_api;\n"
            "CREATE OR REPLACE VIEW wfm.v AS SELECT 1;\n"
            "CREATE MATERIALIZED VIEW wfm.mv AS SELECT 1;\n"
            "CREATE TRIGGER t BEFORE INSERT ON wfm.x FOR EACH ROW EXECUTE FUNCTION wfm.f();\n"
            "GRANT SELECT ON wfm.mv TO wfm_readonly;\n")
    assert len(_FUNCTION_OR_VIEW_STATEMENT.findall(text)) == 5
