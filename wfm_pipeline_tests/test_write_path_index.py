"""contact_statistics keeps ONE index (sql/270): the unique key, covering the read columns.

Every row written maintains one B-tree; the upsert's ON CONFLICT still infers it, partitions
created later get it, and a NULL group is still one value (NULLS NOT DISTINCT)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from wfm_pipeline_tests.stats_rows import ensure_stat_months

_COUNTERS = ["unique_incoming", "non_unique_incoming", "avg_talk_time", "avg_post_processing_time",
             "answered_calls", "answered_within_sl", "abandoned_calls"]


def _indexes(conn: psycopg.Connection, table: str) -> list[tuple]:
    """(name, unique, nulls not distinct, key columns, included columns) of each index of ``table``."""
    return conn.execute(
        """SELECT c.relname, i.indisunique, i.indnullsnotdistinct,
                  array(SELECT a.attname::text FROM unnest(i.indkey[:i.indnkeyatts - 1]) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o),
                  array(SELECT a.attname::text FROM unnest(i.indkey[i.indnkeyatts:]) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = %s::regclass ORDER BY 1""", (table,)).fetchall()


def test_one_unique_covering_index_on_the_table_and_on_a_new_partition(conn: psycopg.Connection) -> None:
    expected = (True, True, ["service_id", "interval_start_time", "group_id"], _COUNTERS)
    assert [tuple(r[1:]) for r in _indexes(conn, "wfm.contact_statistics")] == [expected]
    assert _indexes(conn, "wfm.contact_statistics")[0][0] == "contact_statistics_interval_key"
    # a month created after the migration gets the same (one) index, attached to the parent's
    ensure_stat_months(conn, datetime(2031, 7, 1, tzinfo=UTC), datetime(2031, 7, 1, tzinfo=UTC))
    assert [tuple(r[1:]) for r in _indexes(conn, "wfm.contact_statistics_2031_07")] == [expected]
    attached = conn.execute(
        """SELECT count(*) FROM pg_inherits h JOIN pg_index i ON i.indexrelid = h.inhrelid
           WHERE h.inhparent = 'wfm.contact_statistics_interval_key'::regclass
             AND i.indrelid = 'wfm.contact_statistics_2031_07'::regclass""").fetchone()[0]
    assert attached == 1


def test_on_conflict_infers_the_key_and_a_null_group_is_one_value(conn: psycopg.Connection, service: dict) -> None:
    ensure_stat_months(conn, datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    batch = conn.execute("INSERT INTO wfm.import_batches (source, status) VALUES ('t', 'completed') "
                         "RETURNING import_batch_id").fetchone()[0]
    upsert = """INSERT INTO wfm.contact_statistics (interval_start_time, service_id, group_id, unique_incoming,
                    non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id)
                VALUES ('2024-03-04 10:00+00', %s, NULL, %s, %s, 60, 10, %s)
                ON CONFLICT (interval_start_time, service_id, group_id) DO UPDATE
                SET unique_incoming = EXCLUDED.unique_incoming, non_unique_incoming = EXCLUDED.non_unique_incoming"""
    conn.execute(upsert, (service["service_id"], 5, 6, batch))
    conn.execute(upsert, (service["service_id"], 7, 9, batch))
    rows = conn.execute("SELECT unique_incoming, non_unique_incoming FROM wfm.contact_statistics "
                        "WHERE service_id = %s AND group_id IS NULL", (service["service_id"],)).fetchall()
    assert rows == [(7, 9)]
    # without ON CONFLICT a second service-level row for the interval is a unique violation
    try:
        conn.execute(upsert.split(" ON CONFLICT")[0], (service["service_id"], 1, 1, batch))
    except psycopg.errors.UniqueViolation as exc:
        assert exc.diag.constraint_name is not None and exc.diag.constraint_name.startswith("contact_statistics_")
    else:
        raise AssertionError("a second service-level row for one interval was accepted")


def test_alignment_check_accepts_exactly_what_the_epoch_modulo_accepted(conn: psycopg.Connection) -> None:
    # sql/271 replaced extract(epoch ...)::numeric % 900 = 0 (numeric maths per row written) by
    # date_bin; the stored expression must give the old verdict on every kind of instant.
    definition = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'wfm.contact_statistics'::regclass AND conname = 'contact_statistics_interval_aligned'"
    ).fetchone()[0]
    assert definition.startswith("CHECK (") and "date_bin" in definition
    instants = ["2026-11-02 10:15:00+00", "2026-11-02 10:20:00+00", "2026-11-02 10:15:30+00",
                "2026-11-02 10:15:00.000001+00", "2026-11-02 10:14:59.999999+00", "1999-12-31 23:45:00+00",
                "1969-07-20 20:15:00+00", "1969-07-20 20:17:00+00", "1678-01-01 00:00:00+00",
                "2261-12-31 23:45:00+00", "2026-03-29 01:45:00+05:30", "2026-03-29 01:30:00+05:30",
                "infinity", "-infinity"]
    rows = conn.execute(
        f"SELECT v.interval_start_time::text, coalesce({definition[len('CHECK '):]}, true), "
        "coalesce(extract(epoch FROM v.interval_start_time)::numeric %% 900 = 0, true) "
        "FROM unnest(%s::timestamptz[]) AS v(interval_start_time)", (instants,)).fetchall()
    assert [(t, new) for t, new, _ in rows] == [(t, old) for t, _, old in rows]
    assert sum(1 for _, new, _ in rows if new) == 7  # the aligned ones only; infinities rejected
