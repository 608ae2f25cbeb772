"""nova-pwnetizer: live cloning of running virtual machines for OpenStack."""
