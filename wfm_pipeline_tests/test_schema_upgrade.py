"""A database upgraded from the previous release has exactly the schema of one built from scratch.

Release 0.2 moved every function and plain view out of the numbered migrations into
sql/functions/ and rewrote those migrations (their old checksums are accepted through
sql/legacy_checksums.txt). This test is the proof that nothing was lost or changed on the way:
database A is migrated with the previous release's sql/ (fixture: `git archive 1d54921 sql`),
then upgraded with the current one; database B is migrated from scratch; their
`pg_dump --schema-only` outputs must be identical (function bodies, ACLs, comments, triggers,
partitions), apart from dump noise.
"""

from __future__ import annotations

import difflib
import glob
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.db import embedded, migrations

_TOC_HEADER = re.compile(r"^-- Name: .*; Type: (?P<type>[^;]+); Schema: [^;]*; Owner: .*$")


def _major(version_output: str) -> int | None:
    match = re.search(r"\b(\d+)(?:\.\d+)?", version_output)
    return int(match.group(1)) if match else None


def _pg_dump_for(url: str) -> str:
    """A pg_dump able to dump the test server: the embedded server's own, or (WFM_DATABASE_URL)
    one on PATH or under /usr/lib/postgresql matching the server's major version (or newer)."""
    if not os.environ.get("WFM_DATABASE_URL"):
        return str(embedded.binary("pg_dump"))
    with psycopg.connect(url) as conn:
        server = conn.info.server_version // 10000
    found: dict[int, str] = {}
    for candidate in [shutil.which("pg_dump"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))]:
        if candidate:
            out = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout
            if (major := _major(out)) is not None:
                found.setdefault(major, candidate)
    usable = sorted(major for major in found if major >= server)
    if not usable:
        pytest.skip(f"no pg_dump for PostgreSQL {server} (found versions {sorted(found) or 'none'} on PATH "
                    "and in /usr/lib/postgresql/*/bin): install the client of the server's version")
    return found[server if server in usable else usable[0]]


def _schema(pg_dump: str, url: str) -> list[str]:
    """pg_dump --schema-only as a sorted list of its entries, without the dump's noise: the
    \\restrict key (random per dump), the SET preamble, the order of entries and the order of
    the GRANT lines within one ACL entry (an ACL lists its grantees in the order granted)."""
    dump = subprocess.run([pg_dump, "--schema-only", f"--dbname={url}"],
                          capture_output=True, text=True, check=True).stdout
    entries: list[list[str]] = []
    for line in dump.splitlines():
        if line.startswith(("\\restrict", "\\unrestrict")):
            continue
        if _TOC_HEADER.match(line):
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    normalized = []
    for entry in entries:
        while entry and entry[-1] in ("", "--"):       # the next entry's "--" opener, blank lines
            entry.pop()
        header, body = entry[0], entry[1:]
        if body[:1] == ["--"]:                           # the header comment's closing line
            body = body[1:]
        if _TOC_HEADER.match(header).group("type") == "ACL":
            body = sorted(line for line in body if line)
        normalized.append("\n".join([header, *body]))
    return sorted(normalized)


def test_upgrade_from_previous_release_equals_a_fresh_build(
        new_database: Callable[[], str], previous_release_sql: Path) -> None:
    old_sql = previous_release_sql
    # The fixture is the release before the move: function bodies inside numbered migrations.
    assert "CREATE FUNCTION wfm.apply_import_batch" in (old_sql / "021_import_batch_apply_revert.sql").read_text()
    assert not (old_sql / migrations.LEGACY_CHECKSUMS_FILE).exists()

    # A: the previous release, then this one. The previous runner applied the numbered files in
    # order and then sql/functions/ in path order; the current runner does exactly that for a
    # tree without "-- requires:" headers, so it stands in for the old one here.
    upgraded = new_database()
    migrations.upgrade(upgraded, old_sql)
    applied = migrations.upgrade(upgraded)
    new_since = sorted({m.path.name for m in migrations.discover()} - {m.path.name for m in migrations.discover(old_sql)})
    assert sorted(name for name in applied if not name.startswith("functions/")) == new_since
    assert "functions/json_import/json_cell_num.sql" in applied        # moved out of sql/040 in 0.2
    assert migrations.upgrade(upgraded) == []

    # B: this release from scratch.
    fresh = new_database()
    migrations.upgrade(fresh)

    pg_dump = _pg_dump_for(fresh)
    schema_upgraded, schema_fresh = _schema(pg_dump, upgraded), _schema(pg_dump, fresh)
    text = "\n".join(schema_fresh)
    # The comparison covers what matters: bodies, triggers, ACLs, comments, views.
    for expected in ("CREATE FUNCTION wfm.apply_import_batch(", "CREATE TRIGGER services_validate_time_zone",
                     "GRANT ALL ON FUNCTION wfm.api_get_forecast(", "COMMENT ON FUNCTION wfm.json_cell_num(",
                     "CREATE VIEW wfm.service_interval_stats", "CREATE VIEW wfm.mv_hourly_stats",
                     "contact_statistics_nopart_"):
        assert expected in text, expected
    if schema_upgraded != schema_fresh:
        diff = difflib.unified_diff("\n".join(schema_upgraded).splitlines(), text.splitlines(),
                                    "upgraded from the previous release", "built from scratch", lineterm="", n=2)
        pytest.fail("schemas differ:\n" + "\n".join(list(diff)[:200]))
