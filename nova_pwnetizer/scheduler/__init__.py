"""Scheduler filter and weigher for clone requests."""
