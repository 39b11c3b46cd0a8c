"""The validation and health suite (SQL functions of sql/070-078, sql/functions/health/) seen from Python.

Plain Python over a psycopg connection (no Dagster imports): the Dagster checks, the CLI and
the warehouse's daily health hook all call these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

STATUSES = ("PASS", "WARN", "FAIL")

# The SQL functions of the suite (all return SETOF wfm.check_result). Keyword arguments map
# to their parameters, e.g. database_health_check(p_long_query_seconds=5).
SUITES = (
    "database_health_check",
    "monitor_resource_usage",
    "check_data_quality",
    "validate_query_performance",
    "validate_throughput_capacity",
    "test_integration_performance",
    "analyze_query_performance",
    "check_schema_security",
    "run_all_validations",
)


@dataclass(frozen=True)
class CheckResult:
    """One row of wfm.check_result."""

    check_name: str
    status: str
    measured: float | None
    threshold: float | None
    unit: str | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def run_suite(conn: psycopg.Connection, function: str, **params: Any) -> list[CheckResult]:
    """Call ``wfm.<function>(p_... => ...)`` and return its rows.

    The functions roll their own work back and release their locks, so this leaves the
    connection's transaction with nothing to commit; the caller decides when to end it.
    """
    if function not in SUITES:
        raise ValueError(f"unknown validation function {function!r}; expected one of {', '.join(SUITES)}")
    args = sql.SQL(", ").join(
        sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in params)
    query = sql.SQL("SELECT check_name, status, measured, threshold, unit, details FROM wfm.{}({})").format(
        sql.Identifier(function), args)
    if function == "database_health_check":  # `wfm health` and the Dagster health checks
        _sweep_interrupted_imports(conn)
    # floats would arrive as double precision, which does not match the numeric parameters
    values = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in params.items()}
    rows = conn.execute(query, values).fetchall()
    return [CheckResult(name, status, _number(measured), _number(threshold), unit, details or {})
            for name, status, measured, threshold, unit, details in rows]


def run_all_validations(conn: psycopg.Connection, runs: int = 20) -> list[CheckResult]:
    return run_suite(conn, "run_all_validations", p_runs=runs)


def _sweep_interrupted_imports(conn: psycopg.Connection) -> None:
    """Running batches whose session is gone become failed first, so health.failed_imports
    reports an import killed hard (wfm.sweep_interrupted_imports)."""
    from wfm_pipeline.argus.batches import sweep_interrupted

    try:
        sweep_interrupted(conn)
    except psycopg.errors.InsufficientPrivilege:
        pass  # a read-only role: the check still reports imports stuck running


def database_health_check(conn: psycopg.Connection, **params: Any) -> list[CheckResult]:
    """The quick health suite (after the sweep of interrupted imports, see run_suite)."""
    return run_suite(conn, "database_health_check", **params)


def worst(statuses: Iterable[str]) -> str:
    """FAIL > WARN > PASS; nothing at all counts as PASS."""
    found = set(statuses)
    return "FAIL" if "FAIL" in found else "WARN" if "WARN" in found else "PASS"


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    totals = dict.fromkeys(STATUSES, 0)
    for r in results:
        totals[r.status] = totals.get(r.status, 0) + 1
    return totals


def format_number(value: float | None) -> str:
    """Compact human form: 0.713, 34405, 1.3e+09."""
    if value is None:
        return "-"
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}".replace(",", " ") if abs(value) >= 10000 else str(int(value))
    return f"{value:.4g}"


def to_json(results: Iterable[CheckResult]) -> str:
    return json.dumps([r.as_dict() for r in results], indent=2, default=str)


def measured_text(result: CheckResult) -> str:
    """The measured value as text; when nothing was measured, what the row says instead
    (``details.measured_text``, e.g. "never" for a table never analyzed), else "not measured"."""
    if result.measured is not None:
        return format_number(result.measured)
    return str((result.details or {}).get("measured_text") or "not measured")


def summary(result: CheckResult) -> str:
    """One line: measured vs threshold with the unit."""
    unit = f" {result.unit}" if result.unit else ""
    if result.threshold is None:
        return f"{measured_text(result)}{unit}"
    return f"{measured_text(result)} vs {format_number(result.threshold)}{unit}"


def partitions_named(result: CheckResult) -> list[str]:
    """The partitions a partition check's row is about: missing premade months, guard partitions
    holding rows (empty for other rows)."""
    details: Mapping[str, Any] = result.details or {}
    named: list[str] = []
    for item in details.get("missing") or []:
        named.append(item.get("partition") or f"{item.get('table')} {item.get('month')}" if isinstance(item, dict)
                     else str(item))
    for item in details.get("guards_with_rows") or []:
        if isinstance(item, dict):
            named.append(f"{item.get('guard')} ({item.get('rows')} rows)")
    return named


def first_reason(result: CheckResult) -> str:
    """The most useful detail for a non-PASS row (error, offending objects, rule)."""
    details: Mapping[str, Any] = result.details or {}
    for key in ("error", "reason", "how_to_enable"):
        if details.get(key):
            return str(details[key])
    for key, value in details.items():
        if isinstance(value, list) and value:
            return f"{key}: {json.dumps(value[:3], default=str)}"
    return str(details.get("rule", ""))
