"""Declarative automation: what follows new data, and the one sensor that evaluates it.

* ``FOLLOW_NEW_DATA`` (the views, the forecasts): Dagster's ``eager()`` without its
  ``any_deps_missing`` clause. The views and forecasts read *all* months of contact_statistics,
  and most months since 2020 are never materialized (no data), so ``eager()`` as such would never
  fire. They run after an import (or a month rebuild) reported new months, once no month is being
  rebuilt, never twice at once.
* ``AFTER_NEW_DATA`` (checks that judge imported data, the views' freshness): after their asset
  was updated, once it is not in progress.
* ``FIRST_DATA`` (the database-wide checks, whose cost is seconds): once, after the first data
  arrived (they are "Not evaluated" before), then daily by ``health_checks_daily``.
* ``FIRST_EVALUATION`` (cheap checks meaningful without data, e.g. premade partitions): on the
  sensor's first tick, then on their schedule.

``automation_sensor`` evaluates every condition every 30 s and runs by default (a sensor that
starts stopped would leave all of this idle on a fresh install). Checks with a condition of their
own never ride along with the runs it requests (Dagster's rule), so a view refresh does not run the
database-wide checks. Schedules stay for the periodic work (hourly view refresh: loads through the
SQL API leave no Dagster event; weekly forecasts; daily health, premake, retention).
"""

from __future__ import annotations

import dagster as dg

AC = dg.AutomationCondition

FOLLOW_NEW_DATA = AC.eager().without(~AC.any_deps_missing()).with_label("eager (months without data allowed)")

AFTER_NEW_DATA = (AC.any_deps_updated().since_last_handled() & ~AC.any_deps_in_progress()
                  & ~AC.in_progress()).with_label("after its asset was updated")

FIRST_DATA = (AC.missing() & AC.any_deps_updated() & ~AC.in_progress()).with_label(
    "first evaluation, after the first data (then daily)")

FIRST_EVALUATION = AC.missing().newly_true().with_label("first evaluation (then on its schedule)")

automation_sensor = dg.AutomationConditionSensorDefinition(
    "wfm_automation",
    target=dg.AssetSelection.all() | dg.AssetSelection.all_asset_checks(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the automation conditions: views and forecasts after new months, checks after "
                "their asset changed (see wfm_pipeline/defs/automation.py). Running by default.",
)
