"""Columns of a table or view as the database catalog describes them (plain Python, no Dagster).

The Dagster assets turn these into ``dagster/column_schema`` at materialization time, so the
catalog in the UI shows what the database really has, with the ``COMMENT ON COLUMN`` texts of
the migrations as descriptions: one source of truth, nothing copied into Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class Column:
    """One column: name, SQL type (``format_type``), nullability, its catalog comment and the keys
    it belongs to (``primary key``, ``unique``, or ``primary key (a, b)`` when composite)."""

    name: str
    type: str
    nullable: bool
    description: str | None
    constraints: tuple[str, ...] = ()


# pg_attribute: every live, user-visible column in table order; col_description: its comment;
# the primary and unique keys the column belongs to, named with their columns when composite.
_COLUMNS = """
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.col_description(a.attrelid, a.attnum),
       coalesce(array_agg(
           CASE k.contype WHEN 'p' THEN 'primary key' ELSE 'unique' END
           || CASE WHEN cardinality(k.conkey) > 1 THEN
                  ' (' || (SELECT string_agg(quote_ident(o.attname), ', ' ORDER BY u.ord)
                           FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                           JOIN pg_catalog.pg_attribute o ON o.attrelid = k.conrelid AND o.attnum = u.attnum) || ')'
              ELSE '' END
           ORDER BY k.contype) FILTER (WHERE k.contype IS NOT NULL), '{}')
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_constraint k
       ON k.conrelid = a.attrelid AND k.contype IN ('p', 'u') AND a.attnum = ANY (k.conkey)
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
GROUP BY a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attrelid
ORDER BY a.attnum
"""


def table_columns(conn: psycopg.Connection, relation: str) -> list[Column]:
    """The columns of ``relation`` (``wfm.contact_statistics``, a view or materialized view).

    ``LookupError`` when the relation does not exist (``to_regclass`` is NULL)."""
    if conn.execute("SELECT to_regclass(%s)", (relation,)).fetchone()[0] is None:
        raise LookupError(f"{relation} does not exist")
    return [Column(name, type_, nullable, description, tuple(constraints))
            for name, type_, nullable, description, constraints in conn.execute(_COLUMNS, (relation,))]


def table_comment(conn: psycopg.Connection, relation: str) -> str | None:
    """``COMMENT ON TABLE`` (or view) of ``relation``."""
    return conn.execute("SELECT pg_catalog.obj_description(%s::regclass, 'pg_class')", (relation,)).fetchone()[0]


def is_unique(column: Column) -> bool:
    """Whether the column alone is unique (a single-column primary or unique key)."""
    return any(k in ("primary key", "unique") for k in column.constraints)
