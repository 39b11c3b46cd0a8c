"""Warehouse domain: partitions, views and maintenance schedules."""
