"""Benchmarks and their generated data sets (``wfm bench ...``); never imported by the product."""
