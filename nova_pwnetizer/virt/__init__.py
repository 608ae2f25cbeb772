"""Hypervisor side of nova-pwnetizer: the clone engine and Nova's driver."""
