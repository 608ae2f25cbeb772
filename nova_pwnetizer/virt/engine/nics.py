"""Hot-swap of the clone's NICs: new MAC (and model), real network.

The clone inherits its NICs, MACs included, from the migration stream;
they run on isolated backends.  After switch-over each is unplugged
(ACPI/PCIe hot-unplug, so the guest must cooperate) and a NIC with the
clone's own MAC, the source's network backend and the chosen model is
plugged into the same slot.
"""

import copy
import time

from lxml import etree

from nova_pwnetizer.virt.engine import exception


def _device_xml(element):
    return etree.tostring(element, encoding='unicode')


def with_link(iface, state: str):
    """A copy of the ``<interface>`` element ``iface`` with link ``state``
    ('up' or 'down')."""
    iface = copy.deepcopy(iface)
    link = iface.find('link')
    if link is None:
        link = etree.SubElement(iface, 'link')
    link.set('state', state)
    return iface


def set_links(guest, final_interfaces, state: str) -> None:
    """Set the link of each of ``guest``'s NICs ``final_interfaces`` (by MAC)."""
    for iface in final_interfaces:
        guest.update_device(_device_xml(with_link(iface, state)), live=True)


def live_interfaces(guest):
    return guest.tree().findall('devices/interface')


def swap(guest, events, final_interfaces, timeout):
    """Replace every live NIC of ``guest`` by its final form, in order.

    Returns the seconds spent.  All NICs are unplugged first (in parallel,
    the guest acknowledges each), then the new ones are plugged.
    """
    start = time.monotonic()
    live = live_interfaces(guest)
    if len(live) != len(final_interfaces):
        raise exception.PwnetizerError(
            'the clone has %d NICs, expected %d' % (len(live), len(final_interfaces)))
    since = events.mark()
    aliases = []
    for iface in live:
        alias = iface.find('alias').get('name')
        guest.detach_device(_device_xml(iface), live=True)
        aliases.append(alias)
    for alias in aliases:
        events.wait(lambda e, a=alias: e.role == 'clone' and e.name == 'DEVICE_REMOVED'
                    and e.data.get('alias') == a,
                    timeout, 'the guest to release NIC %s' % alias, since=since)
    for iface in final_interfaces:
        guest.attach_device(_device_xml(iface), live=True)
    return time.monotonic() - start
