"""Table metadata of the table-backed assets: ``dagster/column_schema`` from the database catalog.

Built at materialization time (a definition must load without a database): ``column_schema``
reads ``db.columns`` (pg_attribute + col_description) and returns the ``TableSchema`` the
catalog's Columns tab shows, each column with its ``COMMENT ON COLUMN`` text.
"""

from __future__ import annotations

import dagster as dg
import psycopg

from wfm_pipeline.db import columns
from wfm_pipeline.defs import keys


def column_schema(conn: psycopg.Connection, relation: str) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.type, description=c.description,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=columns.is_unique(c),
                                                             other=list(c.constraints)))
        for c in columns.table_columns(conn, relation)])


def table_metadata(conn: psycopg.Connection, key: dg.AssetKey, row_count: int | None = None) -> dict:
    """``dagster/table_name``, ``dagster/column_schema`` and (when known) ``dagster/row_count``."""
    relation = keys.TABLES[key]
    metadata: dict = {"dagster/table_name": relation,
                      "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(conn, relation))}
    if row_count is not None:
        metadata["dagster/row_count"] = dg.MetadataValue.int(int(row_count))
    return metadata
