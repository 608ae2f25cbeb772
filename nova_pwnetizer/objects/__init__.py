"""Versioned objects that cross services: the clone contract (API to the
compute hosts) and the clone placement (API to the scheduler)."""
