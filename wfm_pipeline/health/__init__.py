"""Validation and health domain: the SQL suite of sql/070-078, its Dagster checks and CLI.

``daily_health_check(conn)`` is the hook the warehouse's ``daily_health_check_job`` calls.
"""

from wfm_pipeline.health.checks import daily_health_check

__all__ = ["daily_health_check"]
