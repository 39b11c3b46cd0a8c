"""Catalog metadata of the assets: keys defined once, owners, tags, code versions, table names in
the definitions (no database needed), column schemas read from the database catalog with the
column comments, the standard dagster/row_count; and no "Unsynced" on months an import wrote."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver  # the resolver behind "Unsynced"

from wfm_pipeline.db import columns
from wfm_pipeline.definitions import defs
from wfm_pipeline.defs import keys
from wfm_pipeline.defs.ingest import argus_file_import, contact_statistics
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.defs.warehouse import VIEW_ASSETS
from wfm_pipeline_tests.dagster_files import ROWS, materialization, register, run_file, write_xlsx

DEFS = Path(__file__).resolve().parent.parent / "wfm_pipeline" / "defs"


def test_every_asset_has_owners_a_domain_tag_a_code_version_and_its_table_name() -> None:
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == keys.OWNERS, key
        assert node.tags.get("domain") == node.group_name, key
        if node.is_materializable:
            assert node.code_version, key
        if key in keys.TABLES:  # definition metadata, no database needed
            assert node.metadata["dagster/table_name"] == keys.TABLES[key], key
    assert set(graph.get_all_asset_keys()) == {v for v in vars(keys).values() if isinstance(v, dg.AssetKey)}


def test_asset_keys_are_spelled_once_in_keys_py() -> None:
    """No defs module names an asset by a string literal: they import the key from defs/keys.py."""
    names = {k.path[-1] for k in vars(keys).values() if isinstance(k, dg.AssetKey)}
    for path in DEFS.glob("*.py"):
        if path.name == "keys.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("AssetKey", "AssetSpec"):
                assert not [a for a in node.args if isinstance(a, ast.Constant) and a.value in names], \
                    f"{path.name}:{node.lineno} names an asset key as a string"
            for kw in getattr(node, "keywords", []):
                if kw.arg in ("asset_key", "asset", "key") and isinstance(kw.value, ast.Constant):
                    assert kw.value.value not in names, f"{path.name}:{node.lineno} {kw.arg}={kw.value.value!r}"


@pytest.mark.parametrize("relation", sorted(set(keys.TABLES.values())))
def test_every_column_of_a_table_asset_has_its_comment_in_the_catalog(conn, relation: str) -> None:
    found = columns.table_columns(conn, relation)
    names = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (relation,))]
    assert [c.name for c in found] == names
    assert not [c.name for c in found if not c.description], relation   # the Columns tab explains each


def test_column_types_nullability_and_keys_come_from_the_catalog(conn) -> None:
    by_name = {c.name: c for c in columns.table_columns(conn, "wfm.import_batches")}
    assert by_name["import_batch_id"].type == "uuid" and not by_name["import_batch_id"].nullable
    assert by_name["import_batch_id"].constraints == ("primary key",) and columns.is_unique(by_name["import_batch_id"])
    assert by_name["file_name"].nullable and by_name["details"].type == "jsonb"
    forecast = {c.name: c for c in columns.table_columns(conn, "wfm.forecasts")}
    assert forecast["interval_start_time"].constraints == ("primary key (forecast_run_id, interval_start_time)",)
    assert not columns.is_unique(forecast["interval_start_time"])
    with pytest.raises(LookupError, match="wfm.nope does not exist"):
        columns.table_columns(conn, "wfm.nope")


@pytest.fixture
def setup(wfm_env, service):
    from wfm_pipeline.settings import get_settings

    settings = get_settings()
    settings.landing_dir.mkdir(parents=True)
    with dg.instance_for_test() as instance:
        yield settings, instance


def _schema(metadata) -> dict[str, str | None]:
    return {c.name: c.description for c in metadata["dagster/column_schema"].value.columns}


def test_import_and_refresh_report_table_name_column_schema_and_row_count(setup, db_url, conn) -> None:
    settings, instance = setup
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    result = run_file(instance, register(instance, path, "S1", "G1"), db_url)
    described = dict(conn.execute(
        "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
        "WHERE attrelid = 'wfm.contact_statistics'::regclass AND attnum > 0 AND NOT attisdropped").fetchall())
    conn.rollback()

    batch = materialization(result, "argus_import_batch")
    assert batch["dagster/table_name"].value == "wfm.import_batches"
    assert "rows_inserted" in _schema(batch) and batch["dagster/row_count"].value == 3   # rows it wrote
    january = materialization(result, "contact_statistics", "2024-01-01")
    assert january["dagster/table_name"].value == "wfm.contact_statistics"
    assert _schema(january) == described                                  # the COMMENT ON COLUMN texts
    assert january["dagster/row_count"].value == 2

    views = dg.materialize(VIEW_ASSETS, instance=instance, resources={"wfm_db": WfmDatabase(url=db_url)})
    hourly = materialization(views, "mv_hourly_stats")
    assert hourly["dagster/table_name"].value == "wfm.mv_hourly_stats"
    assert _schema(hourly)["hour_start"] == "Start of the UTC hour."
    assert hourly["dagster/row_count"].value == conn.execute("SELECT count(*) FROM mv_hourly_stats").fetchone()[0]


def test_no_unsynced_months_after_imports_or_rebuilds(setup, db_url) -> None:
    settings, instance = setup
    assets = [argus_file_import, contact_statistics, *VIEW_ASSETS]

    def status(key: str, partition: str | None = None):
        resolver = get_stale_status_resolver(instance, assets)
        return resolver.get_status(dg.AssetKey(key), partition), resolver.get_stale_causes(dg.AssetKey(key), partition)

    jan = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    assert run_file(instance, register(instance, jan, "S1", "G1"), db_url).success
    for month in ("2024-01-01", "2024-03-01"):
        assert status("contact_statistics", month) == (StaleStatus.FRESH, [])   # written by the import itself
    dg.materialize(VIEW_ASSETS, instance=instance, resources={"wfm_db": WfmDatabase(url=db_url)})
    assert status("mv_hourly_stats")[0] == StaleStatus.FRESH

    # Another file, another month: the earlier months stay in sync (it did not touch them) ...
    may = write_xlsx(settings.landing_dir / "S1" / "G1" / "may.xlsx",
                     [ROWS[0], (datetime(2024, 5, 6, 10, 0), 1, 2, 60, 10)])
    assert run_file(instance, register(instance, may, "S1", "G1"), db_url).success
    for month in ("2024-01-01", "2024-03-01", "2024-05-01"):
        assert status("contact_statistics", month)[0] == StaleStatus.FRESH, month
    # Dagster does not compare an unpartitioned asset with every month of a time-partitioned one
    # (for speed), so the views never show "Unsynced" for it: the automation refreshes them within
    # a tick of the new month instead (test_automation).
    assert status("mv_hourly_stats")[0] == StaleStatus.FRESH

    # A month rebuilt by hand is in sync too (its dependency on the files is lineage only).
    dg.materialize([contact_statistics], partition_key="2024-01-01", instance=instance,
                   resources={"wfm_db": WfmDatabase(url=db_url)})
    assert status("contact_statistics", "2024-01-01")[0] == StaleStatus.FRESH
