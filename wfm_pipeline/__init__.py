"""WFM pipeline: call-centre interval statistics into a partitioned PostgreSQL store, via Dagster."""

__version__ = "0.1.0"
