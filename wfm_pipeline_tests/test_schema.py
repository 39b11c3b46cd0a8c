import uuid

import psycopg
import pytest

GOOD = {
    "interval_start_time": "2026-11-02 10:15:00+00",
    "unique_incoming": 5,
    "non_unique_incoming": 7,
    "avg_talk_time": 120,
    "avg_post_processing_time": 30,
}


def _insert(conn: psycopg.Connection, service: dict, **overrides) -> None:
    row = {**GOOD, "service_id": service["service_id"], "import_batch_id": uuid.uuid4(), **overrides}
    cols = ", ".join(row)
    conn.execute(f"INSERT INTO contact_statistics ({cols}) VALUES ({', '.join(['%s'] * len(row))})",
                 list(row.values()))


def test_good_row_is_accepted_with_exact_totals(conn: psycopg.Connection, service: dict) -> None:
    _insert(conn, service)
    totals = conn.execute("SELECT talk_time_total, post_processing_time_total FROM contact_statistics").fetchone()
    assert totals == (120 * 7, 30 * 7)


@pytest.mark.parametrize("overrides, constraint", [
    ({"interval_start_time": "2026-11-02 10:20:00+00"}, "contact_statistics_interval_aligned"),
    ({"interval_start_time": "2026-11-02 10:15:30+00"}, "contact_statistics_interval_aligned"),
    ({"unique_incoming": -1, "non_unique_incoming": 0}, "contact_statistics_unique_not_negative"),
    ({"unique_incoming": 8}, "contact_statistics_unique_le_non_unique"),
    ({"avg_talk_time": -1}, "contact_statistics_times_in_range"),
    ({"avg_post_processing_time": 86401}, "contact_statistics_times_in_range"),
    ({"avg_talk_time": None}, "contact_statistics_times_present_when_calls"),
    ({"answered_calls": 8}, "contact_statistics_answered_in_range"),
    ({"answered_calls": 3, "answered_within_sl": 4, "sl_threshold_seconds": 20}, "contact_statistics_within_sl_in_range"),
    ({"abandoned_calls": -2}, "contact_statistics_abandoned_in_range"),
    ({"sl_threshold_seconds": 0}, "contact_statistics_sl_threshold_positive"),
    ({"answered_calls": 3, "answered_within_sl": 2}, "contact_statistics_sl_needs_threshold"),
])
def test_each_check_constraint_rejects_its_bad_row(conn: psycopg.Connection, service: dict, overrides, constraint) -> None:
    with pytest.raises(psycopg.errors.CheckViolation) as info:
        _insert(conn, service, **overrides)
    assert info.value.diag.constraint_name.startswith(constraint)


def test_blank_times_allowed_when_no_calls(conn: psycopg.Connection, service: dict) -> None:
    _insert(conn, service, unique_incoming=0, non_unique_incoming=0, avg_talk_time=None, avg_post_processing_time=None)


def test_service_level_rows_are_unique_despite_null_group(conn: psycopg.Connection, service: dict) -> None:
    _insert(conn, service)
    with pytest.raises(psycopg.errors.UniqueViolation):
        _insert(conn, service)


def test_group_must_belong_to_the_rows_service(conn: psycopg.Connection, service: dict) -> None:
    other = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        _insert(conn, {"service_id": other}, group_id=service["group_id"])


def test_agent_activity_checks(conn: psycopg.Connection, service: dict) -> None:
    agent = conn.execute("INSERT INTO agents (code) VALUES ('a1') RETURNING agent_id").fetchone()[0]
    sql = ("INSERT INTO agent_activity (interval_start_time, agent_id, service_id, logged_in_seconds, "
           "ready_seconds, talk_seconds, import_batch_id) VALUES (%s, %s, %s, %s, %s, %s, gen_random_uuid())")
    conn.execute(sql, ("2026-11-02 10:00+00", agent, service["service_id"], 900, 300, 500))
    for values, constraint in [((901, 0, 0), "agent_activity_seconds_in_interval"),
                               ((600, 400, 300), "agent_activity_states_within_login")]:
        with conn.transaction():
            with pytest.raises(psycopg.errors.CheckViolation) as info:
                with conn.transaction():
                    conn.execute(sql, ("2026-11-02 10:15+00", agent, service["service_id"], *values))
            assert info.value.diag.constraint_name == constraint


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "GMT+25"])
def test_service_with_invalid_time_zone_is_rejected(conn: psycopg.Connection, tz: str) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="invalid time zone"):
        conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('X', 'x', %s)", (tz,))


def test_group_codes_unique_within_service_only(conn: psycopg.Connection, service: dict) -> None:
    other = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G1', 'same code elsewhere')", (other,))
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G1', 'dup')", (other,))


def test_every_table_column_and_function_is_documented(conn: psycopg.Connection) -> None:
    undocumented = conn.execute("""
        SELECT c.relname || coalesce('.' || a.attname, '')
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'wfm'
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
          AND (obj_description(c.oid, 'pg_class') IS NULL
               OR (a.attname IS NOT NULL AND c.relkind IN ('r', 'p') AND col_description(c.oid, a.attnum) IS NULL))
          AND c.relname <> 'schema_migrations' OR (c.relname = 'schema_migrations' AND obj_description(c.oid, 'pg_class') IS NULL)
        UNION ALL
        SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'wfm'
        WHERE obj_description(p.oid, 'pg_proc') IS NULL
    """).fetchall()
    assert undocumented == []


def test_roles_exist_and_cannot_log_in(conn: psycopg.Connection) -> None:
    # Only the product's roles: other tests create throwaway login roles (roles are cluster-wide).
    rows = conn.execute("SELECT rolname, rolcanlogin FROM pg_roles "
                        "WHERE rolname IN ('wfm_api', 'wfm_etl', 'wfm_readonly') ORDER BY 1").fetchall()
    assert rows == [("wfm_api", False), ("wfm_etl", False), ("wfm_readonly", False)]


def test_unknown_service_is_rejected_by_the_reference_check(conn: psycopg.Connection, service: dict) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="unknown service_id 999999"):
        _insert(conn, {"service_id": 999999})


def test_update_to_a_foreign_group_is_rejected(conn: psycopg.Connection, service: dict) -> None:
    other = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    other_group = conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G9', 'g') "
                               "RETURNING group_id", (other,)).fetchone()[0]
    _insert(conn, service, group_id=service["group_id"])
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="not a group of service_id"):
        conn.execute("UPDATE contact_statistics SET group_id = %s", (other_group,))


def test_referenced_service_and_group_cannot_be_deleted_or_moved(conn: psycopg.Connection, service: dict) -> None:
    _insert(conn, service, group_id=service["group_id"])
    conn.commit()
    for statement in ("DELETE FROM groups WHERE group_id = %(g)s",
                      "UPDATE groups SET service_id = (SELECT max(service_id) + 1 FROM services) WHERE group_id = %(g)s",
                      "DELETE FROM services WHERE service_id = %(s)s"):
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still has contact_statistics rows"):
            conn.execute(statement, {"g": service["group_id"], "s": service["service_id"]})
        conn.rollback()
    conn.execute("DELETE FROM contact_statistics")
    conn.execute("DELETE FROM groups WHERE group_id = %s", (service["group_id"],))  # free now
