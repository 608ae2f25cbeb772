"""I/O device randomization: each clone of a family gets other device models.

Over a third of KVM/Xen vulnerabilities are in emulated I/O devices
(Pwnetizer thesis, Princeton TR-960-13): a family whose members present
different NIC, disk bus, video, input, USB and sound models cannot all be
taken down by one device-emulation exploit.  One plugin per device class
(:class:`~.base.DeviceRandomizer`, loaded with stevedore from the entry
point namespace ``nova_pwnetizer.randomizers``) says which models exist,
which the target hypervisor offers and how to rewrite a domain to use one;
:mod:`.planner` intersects them with what the guest declares it supports
and the operator's policy, and picks the least-used model of the family.
"""
