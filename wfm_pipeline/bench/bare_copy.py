"""What the import benchmarks share around their bare COPY (``bench calls``, ``bench agent-states``)."""

from __future__ import annotations

import psycopg


def vacuum_after(url: str, table: str) -> None:
    """VACUUM ``table`` (its partitions) after the benchmark's rolled-back bare COPY, untimed.

    Why: the rolled-back COPY leaves every row and index entry behind as dead. Left there, the
    import that follows writes into bloated indexes while autovacuum cleans the same partitions
    on the other core - a cost of the benchmark, not of importing. Measured with call records
    (docs/benchmarks.md, session 8): 65.6-72.5 s end to end without it, 53.6-56.8 s with it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM {table}")  # table: a constant of the caller
