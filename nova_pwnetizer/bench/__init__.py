"""Benchmarks of the clone engine (scripts, not tests)."""
