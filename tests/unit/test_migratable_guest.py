"""MigratableGuest: Nova's live migration of a clone sends no -incoming."""

import libvirt

from nova.virt.libvirt import guest as libvirt_guest

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt import migratable_guest

LIVE = ("<domain xmlns:qemu='%s'><name>c</name><uuid>u</uuid><devices/>"
        "<qemu:commandline><qemu:arg value='-incoming'/>"
        "<qemu:arg value='tcp:10.213.0.2:49194'/></qemu:commandline></domain>"
        % domainxml.NS_QEMU)


class _Domain:
    def __init__(self):
        self.flags = []

    def XMLDesc(self, flags):
        self.flags.append(flags)
        return LIVE


def test_migratable_xml_has_no_incoming():
    domain = _Domain()
    guest = migratable_guest.MigratableGuest(libvirt_guest.Guest(domain))
    xml = guest.get_xml_desc(dump_migratable=True)
    assert 'incoming' not in xml and 'commandline' not in xml
    assert domainxml.parse(xml).find('uuid').text == 'u'
    assert domain.flags == [libvirt.VIR_DOMAIN_XML_MIGRATABLE]


def test_other_xml_is_as_libvirt_gives_it():
    guest = migratable_guest.MigratableGuest(libvirt_guest.Guest(_Domain()))
    assert guest.get_xml_desc() == LIVE
    assert guest.get_xml_desc(dump_inactive=True) == LIVE
