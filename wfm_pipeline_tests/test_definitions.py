import os
import subprocess
import sys

import dagster as dg

from wfm_pipeline.defs.instance import write_workspace_yaml
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.settings import load_settings


def test_definitions_load() -> None:
    from wfm_pipeline.definitions import defs

    repo = defs.get_repository_def()
    assert "wfm_db" in repo.get_top_level_resources()
    assert repo.has_job("partition_premake_job")


def test_dagster_definitions_validate_passes(tmp_path) -> None:
    # The workspace `wfm dev` writes into $DAGSTER_HOME (equal to the checkout's workspace.yaml,
    # test_packaging), loaded from outside the checkout as an installed package would be.
    workspace = write_workspace_yaml(load_settings({"WFM_HOME": str(tmp_path)}))
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    result = subprocess.run([dagster, "definitions", "validate", "-w", str(workspace)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_premake_job_runs_against_the_database(db_url: str) -> None:
    from wfm_pipeline.defs.warehouse import partition_premake_job

    result = partition_premake_job.execute_in_process(resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success
    assert result.output_for_node("premake_partitions_op") == []   # template already premade


def test_dagster_yaml_uses_postgres_storage(wfm_env) -> None:
    from wfm_pipeline.defs.instance import SERVICE_TAG, write_dagster_yaml
    from wfm_pipeline.settings import get_settings

    path = write_dagster_yaml(get_settings())
    text = path.read_text()
    assert "postgres_url" in text and os.environ["WFM_DATABASE_URL"] in text
    instance = dg.DagsterInstance.from_config(str(path.parent))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        # a service's landing files import one at a time, in queue order; services at once
        queue = instance.run_coordinator.get_run_queue_config()
        assert queue.max_concurrent_runs == 4
        [limit] = queue.tag_concurrency_limits
        assert (limit["key"], limit["value"], limit["limit"]) == (SERVICE_TAG, {"applyLimitPerUniqueValue": True}, 1)
    finally:
        instance.dispose()


def test_a_users_dagster_yaml_without_the_service_limit_is_warned_about(tmp_path) -> None:
    """`wfm dev` keeps a dagster.yaml of the user's own, and warns when it lets one service's
    landing runs overlap (they would apply out of order)."""
    from wfm_pipeline.defs.instance import SERVICE_TAG, service_order_warning

    own = tmp_path / "dagster.yaml"
    own.write_text("run_coordinator:\n  module: dagster.core.run_coordinator\n  class: QueuedRunCoordinator\n"
                   "  config:\n    max_concurrent_runs: 8\n")
    warning = service_order_warning(own)
    assert warning is not None and SERVICE_TAG in warning and "out of order" in warning
    own.write_text(f"concurrency:\n  runs:\n    tag_concurrency_limits:\n      - key: {SERVICE_TAG}\n"
                   "        value:\n          applyLimitPerUniqueValue: true\n        limit: 1\n")
    assert service_order_warning(own) is None
    own.write_text(f"concurrency:\n  runs:\n    tag_concurrency_limits:\n      - key: {SERVICE_TAG}\n        limit: 1\n")
    assert service_order_warning(own) is None       # one such run in all: in order too
    own.write_text(f"concurrency:\n  runs:\n    tag_concurrency_limits:\n      - key: {SERVICE_TAG}\n"
                   "        value: S1\n        limit: 1\n")
    assert service_order_warning(own) is not None   # one service only: the others may overlap


def test_the_dagster_yaml_wfm_dev_writes_needs_no_warning(wfm_env) -> None:
    from wfm_pipeline.defs.instance import service_order_warning, write_dagster_yaml
    from wfm_pipeline.settings import get_settings

    assert service_order_warning(write_dagster_yaml(get_settings())) is None
