"""The sensor that refreshes the views after an import, evaluated against a real instance."""

import dagster as dg

from wfm_pipeline.definitions import defs
from wfm_pipeline.defs import warehouse as wh


def _run_requests(context: dg.SensorEvaluationContext) -> list[dg.RunRequest]:
    return [r for r in (wh.refresh_views_after_load(context) or []) if isinstance(r, dg.RunRequest)]


def test_one_run_request_per_new_contact_statistics_event() -> None:
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
        assert _run_requests(context) == []   # nothing happened yet

        instance.report_runless_asset_event(dg.AssetMaterialization("contact_statistics", partition="2026-01-01"))
        first = _run_requests(context)
        assert len(first) == 1 and first[0].run_key.startswith("contact_statistics-")

        instance.report_runless_asset_event(dg.AssetMaterialization("contact_statistics", partition="2026-02-01"))
        second = _run_requests(context)
        assert len(second) == 1 and second[0].run_key != first[0].run_key


def test_view_refresh_and_rebuild_jobs_leave_the_health_checks_to_their_schedule() -> None:
    repo = defs.get_repository_def()
    assert repo.get_job("health_checks_job").asset_layer.asset_graph.asset_check_keys  # the checks exist
    for job_name in ("refresh_views_job", "contact_statistics_rebuild"):
        assert repo.get_job(job_name).asset_layer.asset_graph.asset_check_keys == set(), job_name
