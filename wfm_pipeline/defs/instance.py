"""The Dagster instance configuration (runs, events and schedules stored in PostgreSQL) and the
workspace `wfm dev` loads, both written into $DAGSTER_HOME so an installed wheel needs no checkout."""

from __future__ import annotations

from pathlib import Path

from wfm_pipeline.db.connection import ensure_database, server_url, with_database
from wfm_pipeline.settings import Settings

_MARKER = "# written by `wfm dev`"


def dagster_storage_url(settings: Settings) -> str:
    """Embedded mode: database ``dagster`` on the embedded server; else the WFM database itself."""
    if settings.database_url:
        return settings.database_url
    url = with_database(server_url(settings), "dagster")
    ensure_database(url)
    return url


def existing_instance(settings: Settings):
    """The Dagster instance of $DAGSTER_HOME when one is configured (its dagster.yaml exists, as
    ``wfm dev`` writes it), else None: a command outside Dagster reports to it only if it exists.
    The caller disposes of it. (dagster is imported here, not at the top: the CLI starts faster.)"""
    if not (settings.dagster_home / "dagster.yaml").is_file():
        return None
    import dagster as dg

    return dg.DagsterInstance.from_config(str(settings.dagster_home))


# Runs carrying this tag (a landing file's import: sensors.py) run one at a time per value, in the
# order they were queued: a service's files apply in the order they arrived ("latest batch wins"
# means the latest applied), while files of different services load at once (up to
# max_concurrent_runs), as `wfm import --service-from-folder` does on two connections.
SERVICE_TAG = "wfm/service"


def write_dagster_yaml(settings: Settings) -> Path:
    """Write $DAGSTER_HOME/dagster.yaml when absent (or when we wrote it and the URL moved)."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    path = settings.dagster_home / "dagster.yaml"
    if path.exists() and _MARKER not in path.read_text():
        return path  # the user's own configuration wins
    url = dagster_storage_url(settings)
    text = f"""{_MARKER}; edit freely (remove this line to stop wfm from refreshing the URL)
storage:
  postgres:
    postgres_url: "{url}"
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: "{SERVICE_TAG}"
        value:
          applyLimitPerUniqueValue: true
        limit: 1
telemetry:
  enabled: false
"""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def service_order_warning(path: Path) -> str | None:
    """Why a ``dagster.yaml`` of the user's own (not written by ``wfm dev``) would let one
    service's landing files import out of order - no one-run-per-``SERVICE_TAG`` limit, under
    ``run_coordinator.config`` or ``concurrency.runs`` - else None."""
    import yaml  # dagster's own dependency; imported here, as dagster is (the CLI starts faster)

    text = path.read_text()
    if _MARKER in text:
        return None
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return None   # Dagster itself reports a broken file
    coordinator = ((config.get("run_coordinator") or {}).get("config") or {}) if isinstance(config, dict) else {}
    runs = ((config.get("concurrency") or {}).get("runs") or {}) if isinstance(config, dict) else {}
    limits = list(coordinator.get("tag_concurrency_limits") or []) + list(runs.get("tag_concurrency_limits") or [])
    for limit in limits:
        # one run per service, or one such run in all (in order too, without the concurrency)
        if (isinstance(limit, dict) and limit.get("key") == SERVICE_TAG and limit.get("limit") == 1
                and (limit.get("value") is None
                     or isinstance(limit["value"], dict) and limit["value"].get("applyLimitPerUniqueValue"))):
            return None
    return (f"{path} has no tag_concurrency_limits entry limiting '{SERVICE_TAG}' to one run per value "
            "(applyLimitPerUniqueValue: true, limit: 1): two landing files of one service may then import "
            "at once and apply out of order (docs/import.md, 'Order and concurrency')")


# The code location `wfm dev` serves. Same text as the repository's workspace.yaml (which serves
# `dagster dev` run by hand in a checkout; a test keeps the two equal): the location name is
# part of the identity of sensor cursors and schedule states, so it must not change.
WORKSPACE_YAML = """load_from:
  - python_module:
      module_name: wfm_pipeline.definitions
      location_name: wfm_pipeline
"""


def write_workspace_yaml(settings: Settings) -> Path:
    """Write $DAGSTER_HOME/workspace.yaml (the installed package's definitions); return its path."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    path = settings.dagster_home / "workspace.yaml"
    if not path.exists() or path.read_text() != WORKSPACE_YAML:
        path.write_text(WORKSPACE_YAML)
    return path
