"""What this compute host gives a clone, from its Nova configuration.

A clone started here gets what Nova's libvirt driver gives a new guest
without a NUMA topology on this host (``_get_guest_numa_config``,
``_guest_add_video_device``): the ``<vcpu cpuset>`` of the host CPUs for
shared vCPUs, and the VNC and SPICE listen addresses.  The clone engine
rewrites the clone's copy of its source's XML with it
(:func:`nova_pwnetizer.virt.engine.host_specific.rewrite`).
"""

from typing import Optional

import nova.conf
from nova.virt import hardware

from nova_pwnetizer.virt.engine import host_specific

CONF = nova.conf.CONF


def _shared_cpuset() -> Optional[str]:
    """The ``<vcpu cpuset>`` of a new unpinned guest here, or None.

    As the driver's ``_get_vcpu_available``: the deprecated
    ``vcpu_pin_set`` while it is set, else ``[compute] cpu_shared_set``;
    with neither, no cpuset (any host CPU).
    """
    cpus = hardware.get_vcpu_pin_set() or hardware.get_cpu_shared_set()
    return hardware.format_cpu_spec(cpus) if cpus else None


def for_this_host() -> host_specific.TargetPlacement:
    """This host's :class:`~.host_specific.TargetPlacement` for a clone.

    Graphics types that are not enabled here are left out: their listen
    address, if the source had one, is removed (libvirt's default).
    """
    listen = {}
    if CONF.vnc.enabled:
        listen['vnc'] = CONF.vnc.server_listen
    if CONF.spice.enabled:
        listen['spice'] = CONF.spice.server_listen
    return host_specific.TargetPlacement(cpuset=_shared_cpuset(), graphics_listen=listen)
