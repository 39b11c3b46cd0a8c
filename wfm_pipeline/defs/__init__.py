"""Dagster wiring only: assets, checks, jobs, sensors and schedules over the plain domain code."""
