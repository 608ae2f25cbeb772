"""What the target hypervisor offers: libvirt domain capabilities for the
domain's machine type, and QEMU's device types."""

import logging

from lxml import etree

from nova_pwnetizer.virt.engine import exception

LOG = logging.getLogger(__name__)


class HypervisorCaps:
    def __init__(self, domcaps, qemu_types=None):
        self.domcaps = domcaps          # lxml tree of <domainCapabilities>
        self.qemu_types = qemu_types    # set of QEMU device type names, or None

    @classmethod
    def probe(cls, target_host, tree, qemu_guest=None):
        """Capabilities of ``target_host`` for a domain like ``tree``.

        QEMU's device types are read with ``qom-list-types`` from
        ``qemu_guest``, a running domain whose QEMU is the target's (the
        source when the target is its own host or runs the same QEMU
        version); without one, device types are assumed present and only
        libvirt's domain capabilities filter.
        """
        os_type = tree.find('os/type')
        domcaps = target_host.domain_capabilities(os_type.get('arch'), tree.get('type'),
                                                  os_type.get('machine'))
        qemu_types = None
        if qemu_guest is not None:
            try:
                qemu_types = {t['name'] for t in qemu_guest.qmp('qom-list-types',
                                                                abstract=False)}
            except exception.PwnetizerError as e:
                LOG.warning('cannot list QEMU device types: %s', e)
        return cls(domcaps, qemu_types)

    @classmethod
    def from_xml(cls, domcaps_xml, qemu_types=None):
        return cls(etree.fromstring(domcaps_xml), qemu_types)

    @property
    def machine(self):
        return self.domcaps.findtext('machine') or ''

    def is_q35(self):
        return 'q35' in self.machine

    def enum(self, path, name):
        """Values of ``<enum name=name>`` under ``devices/path``."""
        return {v.text for v in self.domcaps.iterfind(
            "devices/%s/enum[@name='%s']/value" % (path, name))}

    def has_device(self, qemu_type):
        return self.qemu_types is None or qemu_type in self.qemu_types
