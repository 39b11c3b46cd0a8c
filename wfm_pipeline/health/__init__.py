"""Validation and health domain: the SQL suite of sql/070-078, its Dagster checks and CLI."""
