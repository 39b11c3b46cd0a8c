"""Benchmarks and their generated data sets (plain Python; the CLI wraps them)."""
