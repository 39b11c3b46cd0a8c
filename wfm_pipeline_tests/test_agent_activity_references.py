"""agent_activity's references (sql/220): checked once per statement instead of per-row foreign
keys, with the same verdicts - unknown agent/service/group rejected, referenced rows protected."""

import psycopg
import pytest

ROW = ("INSERT INTO agent_activity (interval_start_time, agent_id, service_id, group_id, logged_in_seconds, "
       "ready_seconds, talk_seconds, import_batch_id) VALUES ('2026-11-02 10:00+00', %s, %s, %s, 900, 300, 500, "
       "gen_random_uuid())")


@pytest.fixture
def agent(conn: psycopg.Connection) -> int:
    agent_id = conn.execute("INSERT INTO agents (code) VALUES ('a1') RETURNING agent_id").fetchone()[0]
    conn.commit()
    return agent_id


def test_rows_with_known_references_are_written(conn: psycopg.Connection, service: dict, agent: int) -> None:
    conn.execute(ROW, (agent, service["service_id"], service["group_id"]))
    conn.execute("UPDATE agent_activity SET ready_seconds = 200")
    assert conn.execute("SELECT count(*) FROM agent_activity WHERE ready_seconds = 200").fetchone()[0] == 1


@pytest.mark.parametrize("bad, constraint, message", [
    ("agent", "agent_activity_agent_exists", "unknown agent_id 999999"),
    ("service", "agent_activity_service_exists", "unknown service_id 999999"),
    ("group", "agent_activity_group_of_service", "not a group of service_id"),
])
def test_unknown_references_are_rejected(conn: psycopg.Connection, service: dict, agent: int, bad: str,
                                         constraint: str, message: str) -> None:
    other = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'two', 'UTC') "
                         "RETURNING service_id").fetchone()[0]
    values = {"agent": (999999, service["service_id"], None),
              "service": (agent, 999999, None),
              "group": (agent, other, service["group_id"])}[bad]
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match=message) as info:
        conn.execute(ROW, values)
    assert info.value.diag.constraint_name == constraint
    assert "(interval 2026-11-02 " in str(info.value)   # the offending row's interval is named


def test_one_bad_triple_among_many_rows_is_found(conn: psycopg.Connection, service: dict, agent: int) -> None:
    # many good rows and one bad (agent, service, group) triple in one statement: the statement
    # check works on the distinct triples, and names the bad one's interval
    conn.execute("INSERT INTO agent_activity (interval_start_time, agent_id, service_id, group_id, talk_seconds, "
                 "import_batch_id) SELECT '2026-11-02 00:00+00'::timestamptz + i * interval '15 minutes', %s, %s, "
                 "NULL, 10, gen_random_uuid() FROM generate_series(0, 49) i", (agent, service["service_id"]))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match=r"unknown agent_id 999999 \(interval 2026-11-03 ") as info:
        conn.execute("INSERT INTO agent_activity (interval_start_time, agent_id, service_id, group_id, talk_seconds, "
                     "import_batch_id) SELECT '2026-11-03 12:00+00'::timestamptz + i * interval '15 minutes', "
                     "CASE WHEN i = 7 THEN 999999 ELSE %s END, %s, NULL, 10, gen_random_uuid() "
                     "FROM generate_series(0, 19) i", (agent, service["service_id"]))
    assert info.value.diag.constraint_name == "agent_activity_agent_exists"


def test_an_update_to_an_unknown_agent_is_rejected(conn: psycopg.Connection, service: dict, agent: int) -> None:
    conn.execute(ROW, (agent, service["service_id"], None))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="unknown agent_id"):
        conn.execute("UPDATE agent_activity SET agent_id = 999999")


def test_referenced_agent_service_and_group_are_protected(conn: psycopg.Connection, service: dict, agent: int) -> None:
    conn.execute(ROW, (agent, service["service_id"], service["group_id"]))
    conn.commit()
    for statement in ("DELETE FROM agents WHERE agent_id = %(a)s",
                      "UPDATE agents SET agent_id = agent_id + 1000 WHERE agent_id = %(a)s",
                      "DELETE FROM groups WHERE group_id = %(g)s",
                      "UPDATE groups SET service_id = (SELECT max(service_id) + 1 FROM services) WHERE group_id = %(g)s",
                      "DELETE FROM services WHERE service_id = %(s)s"):
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still has"):
            conn.execute(statement, {"a": agent, "g": service["group_id"], "s": service["service_id"]})
        conn.rollback()
    conn.execute("UPDATE agents SET name = 'renamed' WHERE agent_id = %s", (agent,))   # not the key: fine
    conn.execute("DELETE FROM agent_activity")
    conn.execute("DELETE FROM agents WHERE agent_id = %s", (agent,))                  # free now
    assert conn.execute("SELECT count(*) FROM agents").fetchone()[0] == 0
