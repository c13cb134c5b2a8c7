"""Benchmarks that print figures; run with ``python -m pipeline.benchmarks.<name>``."""
