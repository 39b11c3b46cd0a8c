"""Least privilege: what each role can and cannot do, and SQL injection through the API.

API functions are discovered, not listed: every function in schema wfm that wfm_api can
execute, plus every ``api_*`` function and the guide's write functions. So functions added
by any migration are held to the same rules (SECURITY DEFINER, pinned search_path, no
PUBLIC execute, wfm_api execute).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

WRITE_API = ("validate_argus_format", "import_argus_format_data", "import_excel_batch",
             "api_batch_insert_calls", "preview_import")
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"

# A time in the current month: its partition is premade (the JSON functions never create one).
_NOW = dt.datetime.now(dt.timezone.utc)
GOOD_CALL = [{"service_id": None, "interval_start": f"{_NOW:%Y-%m}-03T10:00:00+01:00", "unique_incoming": 3,
              "non_unique_incoming": 4, "avg_talk_time": 100, "avg_post_processing_time": 10}]


def _api_functions(conn: psycopg.Connection) -> list[tuple[int, str, str]]:
    """(oid, name, identity arguments) of the API functions."""
    return conn.execute(
        """SELECT p.oid, p.proname, pg_get_function_identity_arguments(p.oid)
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'wfm' AND p.prokind = 'f'
             AND (has_function_privilege('wfm_api', p.oid, 'EXECUTE')
                  OR p.proname LIKE 'api\\_%%' OR p.proname = ANY (%s))
           ORDER BY p.proname""", (list(WRITE_API),)).fetchall()


@pytest.fixture
def as_role(conn: psycopg.Connection) -> Iterator:
    """Context: run statements as a NOLOGIN role (SET ROLE), back to the test user after."""
    import contextlib

    @contextlib.contextmanager
    def _as(role: str):
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        try:
            yield conn
        finally:
            conn.execute("RESET ROLE")
    return _as


def _denied(conn: psycopg.Connection, statement: str, params=None) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement, params)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


# ---------------------------------------------------------------- function properties

def test_every_api_function_is_definer_pinned_and_granted_to_wfm_api_only(conn: psycopg.Connection) -> None:
    functions = _api_functions(conn)
    names = {name for _, name, _ in functions}
    assert set(WRITE_API) <= names
    problems = []
    for oid, name, args in functions:
        secdef, config, public_exec, api_exec = conn.execute(
            """SELECT p.prosecdef, p.proconfig,
                      p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
                      has_function_privilege('wfm_api', p.oid, 'EXECUTE')
               FROM pg_proc p WHERE p.oid = %s""", (oid,)).fetchone()
        path = next((c.split("=", 1)[1] for c in (config or []) if c.startswith("search_path=")), None)
        if not secdef:
            problems.append(f"{name}({args}) is not SECURITY DEFINER")
        if path is None or [p.strip() for p in path.split(",")][:1] != ["wfm"] or "pg_catalog" not in path \
                or "public" in path or "$user" in path:
            problems.append(f"{name}({args}) has no pinned search_path (wfm, pg_catalog): {config}")
        if public_exec:
            problems.append(f"{name}({args}) is executable by PUBLIC")
        if not api_exec:
            problems.append(f"{name}({args}) is not executable by wfm_api")
    assert not problems, "\n".join(problems)


def test_internal_write_helpers_are_not_executable_by_api_or_public(conn: psycopg.Connection) -> None:
    for signature in ("wfm.stage_import_rows(jsonb, text, integer, integer)",
                      "wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean)",
                      "wfm.import_api_fast(jsonb, uuid)", "wfm.apply_import_batch(uuid)",
                      "wfm.ensure_monthly_partitions(regclass, timestamptz, timestamptz)"):
        api, public = conn.execute(
            """SELECT has_function_privilege('wfm_api', %s::regprocedure, 'EXECUTE'),
                      EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a
                              WHERE p.oid = %s::regprocedure AND a.grantee = 0)""",
            (signature, signature)).fetchone()
        assert (api, public) == (False, False), signature


# ---------------------------------------------------------------- wfm_api

def test_wfm_api_has_no_table_rights_and_cannot_create(conn: psycopg.Connection) -> None:
    granted = conn.execute(
        f"""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'wfm' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND has_table_privilege('wfm_api', c.oid, '{TABLE_PRIVILEGES}')""").fetchall()
    assert granted == []
    sequences = conn.execute(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'wfm'
             AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('wfm_api', c.oid, 'USAGE, SELECT, UPDATE') END""").fetchall()
    assert sequences == []
    assert conn.execute("SELECT has_schema_privilege('wfm_api', 'wfm', 'CREATE'), "
                        "has_schema_privilege('wfm_api', 'public', 'CREATE')").fetchone() == (False, False)


def test_wfm_api_calls_the_api_but_touches_no_table(conn: psycopg.Connection, service: dict, as_role) -> None:
    calls = [{**GOOD_CALL[0], "service_id": service["service_id"]}]
    with as_role("wfm_api"):
        status, inserted = conn.execute(
            "SELECT status, rows_inserted FROM api_batch_insert_calls(%s)", (Jsonb(calls),)).fetchone()
        assert (status, inserted) == ("completed", 1)
        assert conn.execute("SELECT count(*) FROM validate_argus_format(%s)",
                            (Jsonb([["01.01.2024 10:00:00", 1, 2, 3, 4]]),)).fetchone() == (0,)
        for statement in ("SELECT * FROM wfm.contact_statistics", "SELECT * FROM wfm.import_batches",
                          "SELECT * FROM wfm.contact_statistics_history", "SELECT * FROM wfm.services",
                          "DELETE FROM wfm.contact_statistics", "UPDATE wfm.services SET name = 'x'",
                          "INSERT INTO wfm.services (code, name, time_zone) VALUES ('X', 'x', 'UTC')",
                          "TRUNCATE wfm.import_errors",
                          "CREATE TABLE wfm.intruder (x int)", "CREATE TABLE public.intruder (x int)",
                          "SELECT wfm.apply_import_batch(gen_random_uuid())",
                          "SELECT * FROM wfm.stage_import_rows('[]', 'argus')",
                          "SELECT * FROM wfm.run_json_import('[]', 'argus', 1, NULL, 'x', false, false)",
                          "SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', now(), now())"):
            assert _denied(conn, statement), f"wfm_api may run: {statement}"
    assert conn.execute("SELECT count(*) FROM contact_statistics").fetchone() == (1,)


def test_role_session_limits(conn: psycopg.Connection) -> None:
    settings = dict(conn.execute(
        """SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
           WHERE s.setdatabase = 0 AND r.rolname IN ('wfm_api', 'wfm_etl')""").fetchall())
    assert "statement_timeout=30s" in settings["wfm_api"]
    assert any(c.startswith("lock_timeout=") for c in settings["wfm_etl"])
    assert not any(c.startswith("statement_timeout=") for c in settings["wfm_etl"])  # loads may run long


def test_login_role_granted_wfm_api_gets_only_the_api(db_url: str, conn: psycopg.Connection, service: dict) -> None:
    """A throwaway LOGIN role that is a member of wfm_api, as a deployment would create it."""
    name = f"wfm_t_login_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE wfm_api").format(
            sql.Identifier(name), sql.Literal(password)))
        admin.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = '30s'").format(sql.Identifier(name)))
    try:
        try:
            app = psycopg.connect(db_url, user=name, password=password, options="-c search_path=wfm,public")
        except psycopg.OperationalError as exc:  # e.g. pg_hba allows only peer auth on this server
            pytest.skip(f"the server does not let a new role log in with a password: {exc}")
        with app:
            assert app.execute("SHOW statement_timeout").fetchone() == ("30s",)
            calls = [{**GOOD_CALL[0], "service_id": service["service_id"]}]
            assert app.execute("SELECT status FROM api_batch_insert_calls(%s, 'login-test')",
                               (Jsonb(calls),)).fetchone() == ("completed",)
            app.commit()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute("SELECT * FROM contact_statistics")
            app.rollback()
            with pytest.raises(psycopg.errors.QueryCanceled):
                app.execute("SET statement_timeout = '50ms'")
                app.execute("SELECT pg_sleep(1)")
            app.rollback()
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    assert conn.execute("SELECT source FROM import_batches WHERE source = 'login-test'").fetchone() == ("login-test",)


# ---------------------------------------------------------------- wfm_readonly / wfm_etl

def test_wfm_readonly_reads_everything_and_writes_nothing(conn: psycopg.Connection, service: dict, as_role) -> None:
    unreadable = conn.execute(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'wfm' AND c.relkind IN ('r', 'p', 'v', 'm')
             AND NOT c.relispartition AND NOT has_table_privilege('wfm_readonly', c.oid, 'SELECT')""").fetchall()
    assert unreadable == []
    writable = conn.execute(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'wfm' AND c.relkind IN ('r', 'p')
             AND has_table_privilege('wfm_readonly', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')""").fetchall()
    assert writable == []
    with as_role("wfm_readonly"):
        assert conn.execute("SELECT count(*) FROM wfm.services").fetchone() == (1,)
        conn.execute("SELECT count(*) FROM wfm.contact_statistics")
        assert _denied(conn, "DELETE FROM wfm.services")
        assert _denied(conn, "SELECT * FROM wfm.api_batch_insert_calls('[]')")
        assert _denied(conn, "CREATE TABLE wfm.intruder (x int)")


def test_wfm_etl_loads_but_has_no_ddl(conn: psycopg.Connection, service: dict, as_role) -> None:
    with as_role("wfm_etl"):
        conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)",
                     ("2025-03-01T00:00Z", "2025-03-01T00:00Z"))
        conn.execute(
            """INSERT INTO wfm.contact_statistics (interval_start_time, service_id, unique_incoming,
                   non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id)
               VALUES ('2025-03-03T10:00Z', %s, 1, 2, 3, 4, gen_random_uuid())""", (service["service_id"],))
        assert _denied(conn, "CREATE TABLE wfm.intruder (x int)")
        assert _denied(conn, "DROP TABLE wfm.contact_statistics")
        assert _denied(conn, "SELECT * FROM wfm.api_batch_insert_calls('[]')")


# ---------------------------------------------------------------- SQL injection

PAYLOADS = [
    "'; DROP TABLE wfm.injection_canary; --",
    "\"; DROP TABLE wfm.injection_canary; --",
    "$$; DROP TABLE wfm.injection_canary; $$",
    "1); DROP TABLE wfm.injection_canary; --",
    "' OR '1'='1",
    "wfm.injection_canary",
    "%s %I %L",
    "Robert'); DELETE FROM wfm.services; --",
]

_TYPE_VALUES = {
    "integer": lambda s: s, "bigint": lambda s: s, "smallint": lambda s: s,
    "integer[]": lambda s: [s], "boolean": lambda s: False, "timestamp with time zone": lambda s: "2025-03-03T00:00Z",
    "date": lambda s: "2025-03-03", "uuid": lambda s: str(uuid.uuid4()), "numeric": lambda s: 1,
    "double precision": lambda s: 1.0, "regclass": lambda s: "wfm.contact_statistics",
}


def _injection_arguments(payload: str) -> list:
    """JSON shapes that carry the payload in every position: values, keys, whole rows."""
    return [
        payload,
        [[payload, payload, payload, payload, payload]],
        [{"A": payload, "B": payload, "C": payload, "D": payload, "E": payload}],
        [{"service_id": payload, "group_id": payload, "interval_start": payload, "unique_incoming": payload,
          "non_unique_incoming": payload, "avg_talk_time": payload, "avg_post_processing_time": payload,
          "answered_calls": payload, "answered_within_sl": payload, "abandoned_calls": payload,
          "sl_threshold_seconds": payload, payload: payload}],
    ]


def test_sql_injection_through_every_text_and_json_parameter(conn: psycopg.Connection, service: dict, as_role) -> None:
    conn.execute("CREATE TABLE wfm.injection_canary (x int)")
    conn.execute("INSERT INTO wfm.injection_canary VALUES (1)")
    conn.commit()
    before = conn.execute("SELECT count(*) FROM services").fetchone()
    functions = conn.execute(
        """SELECT p.oid::regproc::text, p.proname,
                  array_agg(format_type(t.typ, NULL) ORDER BY t.pos)
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           CROSS JOIN LATERAL unnest(p.proargtypes::oid[]) WITH ORDINALITY AS t(typ, pos)
           WHERE n.nspname = 'wfm' AND p.prokind = 'f' AND has_function_privilege('wfm_api', p.oid, 'EXECUTE')
           GROUP BY p.oid, p.proname
           HAVING bool_or(format_type(t.typ, NULL) IN ('text', 'jsonb', 'json', 'text[]', 'character varying'))""",
    ).fetchall()
    assert {name for _, name, _ in functions} >= set(WRITE_API)
    calls = 0
    with as_role("wfm_api"):
        for qualified, name, types in functions:
            for payload in PAYLOADS:
                for position, typ in enumerate(types):
                    if typ not in ("text", "jsonb", "json", "text[]", "character varying"):
                        continue
                    values = _injection_arguments(payload) if typ in ("jsonb", "json") else \
                        [[payload]] if typ == "text[]" else [payload]
                    for value in values:
                        args = []
                        for i, other in enumerate(types):
                            if i == position:
                                args.append(Jsonb(value) if typ in ("jsonb", "json") else value)
                            elif other in ("jsonb", "json"):
                                args.append(Jsonb([]))
                            elif other in ("text", "character varying"):
                                args.append("argus" if name == "preview_import" else "x")
                            elif other == "text[]":
                                args.append(["x"])
                            else:
                                args.append(_TYPE_VALUES.get(other, lambda s: None)(service["service_id"]))
                        query = sql.SQL("SELECT * FROM {}({})").format(
                            sql.SQL(qualified),
                            sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(t)) for t in types))
                        try:
                            with conn.transaction():
                                conn.execute(query, args).fetchall()
                        except psycopg.errors.InsufficientPrivilege as exc:
                            pytest.fail(f"{name}: wfm_api was denied something inside the API: {exc}")
                        except psycopg.Error:
                            pass  # a clear rejection of a bad argument is fine
                        calls += 1
    assert calls > 0
    assert conn.execute("SELECT count(*) FROM wfm.injection_canary").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM services").fetchone() == before
    # Payloads in JSON values were recorded verbatim as rejected raw values, never executed.
    raw = {v for (v,) in conn.execute("SELECT raw_value FROM import_errors WHERE raw_value IS NOT NULL")}
    assert set(PAYLOADS) <= raw
    sources = {s for (s,) in conn.execute("SELECT source FROM import_batches")}
    assert set(PAYLOADS) <= sources  # p_source is stored as data
