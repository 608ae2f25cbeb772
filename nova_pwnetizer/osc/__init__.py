"""openstackclient plugin of nova-pwnetizer: ``openstack server clone``.

The plugin module is :mod:`nova_pwnetizer.osc.plugin` (entry point group
``openstack.cli.extension``); its commands are in the group
``openstack.pwnetizer.v1``.
"""
