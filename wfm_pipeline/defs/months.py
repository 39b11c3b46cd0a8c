"""Month partition keys of ``contact_statistics`` (plain Python)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone

FIRST_MONTH = "2020-01-01"  # first partition of the contact_statistics asset


def month_start(value: date | datetime) -> date:
    """The first day of the UTC month of ``value`` (aware datetimes are converted to UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        value = value.date()
    return value.replace(day=1)


def partition_keys(months: Iterable[date | datetime]) -> list[str]:
    """Sorted, distinct ``YYYY-MM-01`` keys (the MonthlyPartitionsDefinition key format)."""
    return sorted({month_start(m).isoformat() for m in months})


def in_range(key: str, today: date | None = None) -> bool:
    """Whether a month key is one of the asset's partitions (FIRST_MONTH .. the current month)."""
    today = today or datetime.now(timezone.utc).date()
    return FIRST_MONTH <= key <= month_start(today).isoformat()
