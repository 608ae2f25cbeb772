"""Functional tests: the engine on Nova's fake libvirt with a fake QEMU."""
