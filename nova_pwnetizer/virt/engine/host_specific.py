"""The host-specific parts of a domain's XML.

A clone's incoming XML is a copy of its source's, and some of it names the
source's host: the host CPUs its vCPUs, emulator and I/O threads may run
on, the host NUMA nodes its memory comes from, the addresses its graphics
and TCP serial consoles listen on, the host devices passed through to it.
On another host these would pin the clone onto CPUs given to someone else,
or make it listen on an address that is not there.

As Nova's live migration does (``nova.virt.libvirt.migration``), the
parts a new guest gets from its host's configuration alone (the shared
``<vcpu cpuset>``, the graphics listen addresses) are rewritten for the
target; the parts that need a claim on the target host (pinned CPUs, NUMA
nodes, huge pages of a node, serial ports, devices) are refused, since the
engine has no such claim to rewrite them from.
"""

import dataclasses
from typing import Optional

from lxml import etree

HOSTDEV_REASON = 'host devices (PCI/USB passthrough) cannot be cloned'

# What cannot follow a clone to another host: (XPath from <domain>, why).
_REFUSED = (
    ('cputune/vcpupin', '<vcpupin> pins vCPUs to CPUs of the source host'),
    ('cputune/emulatorpin',
     '<emulatorpin> pins the emulator threads to CPUs of the source host'),
    ('cputune/iothreadpin', '<iothreadpin> pins I/O threads to CPUs of the source host'),
    ('cputune/cachetune|cputune/memorytune',
     '<cachetune>/<memorytune> allocate cache or memory bandwidth of the source host'),
    ('numatune', '<numatune> binds the guest memory to NUMA nodes of the source host'),
    ('memoryBacking/hugepages/page[@nodeset]',
     '<hugepages> takes huge pages from NUMA nodes of the source host'),
    ('cpu/numa',
     '<cpu><numa> cells were fitted to the NUMA nodes of the source host'),
    ("devices/*[self::serial or self::console or self::channel or self::parallel]"
     "[@type='tcp' or @type='udp']",
     '<serial>/<console>/<channel>/<parallel> of type tcp or udp uses an address '
     'and port of the source host'),
    ('devices/hostdev', HOSTDEV_REASON),
)

# <listen> types whose address is the host's: 'network' holds the address
# its network resolved to on the source host (live XML only).
_ADDRESS_LISTENS = ('address', 'network')


@dataclasses.dataclass
class TargetPlacement:
    """What the target host gives a clone, as it would a new guest.

    ``cpuset`` is the ``<vcpu cpuset>`` of a new unpinned guest there (e.g.
    Nova's ``[compute] cpu_shared_set``); None: no cpuset, the guest may run
    on any host CPU.  ``graphics_listen`` maps a graphics type ('vnc',
    'spice') to the address it listens on there; the listen address of a
    type that is missing is removed, so that libvirt on the target uses its
    own default (``vnc_listen``/``spice_listen`` of its qemu.conf), never the
    source host's address.
    """

    cpuset: Optional[str] = None
    graphics_listen: dict = dataclasses.field(default_factory=dict)


def problems(tree: etree._Element) -> list[str]:
    """Why the domain XML ``tree`` cannot be placed on another host.

    One human-readable reason per kind of host-specific element found;
    empty when every host-specific part can be rewritten by
    :func:`rewrite`.  The reasons name elements, never hosts or addresses.
    """
    return [why for path, why in _REFUSED if tree.xpath(path)]


def rewrite(tree: etree._Element, placement: TargetPlacement) -> None:
    """Give ``tree`` the target's CPU set and listen addresses, in place.

    ``<vcpu cpuset>`` becomes ``placement.cpuset`` (removed when None).
    Each graphics device's listen address (its ``listen`` attribute and
    its ``<listen type='address'>`` children) becomes the target's for its
    type, or is removed when ``placement`` has none for it; a ``<listen
    type='network'>`` loses the address its network had on the source.
    ``<listen type='socket'>`` and ``<listen type='none'>`` are kept.
    """
    vcpu = tree.find('vcpu')
    if vcpu is not None:
        if placement.cpuset:
            vcpu.set('cpuset', placement.cpuset)
        else:
            vcpu.attrib.pop('cpuset', None)
    for graphics in tree.iterfind('devices/graphics'):
        _rewrite_listen(graphics, placement.graphics_listen.get(graphics.get('type')))


def _rewrite_listen(graphics: etree._Element, address: Optional[str]) -> None:
    """Point ``graphics`` at ``address`` (None: libvirt's default)."""
    listens = graphics.findall('listen')
    for listen in listens:
        if listen.get('type') == 'address' and address:
            listen.set('address', address)
        elif listen.get('type') in _ADDRESS_LISTENS:
            listen.attrib.pop('address', None)
    if graphics.get('listen') is None:
        return
    # libvirt refuses a listen attribute that differs from the address of
    # the first <listen>: it follows that one, or goes.
    if address and (not listens or listens[0].get('type') == 'address'):
        graphics.set('listen', address)
    else:
        del graphics.attrib['listen']
