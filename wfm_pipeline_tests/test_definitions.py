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
