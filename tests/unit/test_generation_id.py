"""Every server the driver boots has a VM generation ID, kept with it."""

from unittest import mock
import uuid as uuidlib

from lxml import etree
from oslo_config import cfg
import pytest

from nova import objects
from nova.virt.libvirt import config as vconfig

from nova_pwnetizer.virt import driver as driver_mod
from nova_pwnetizer.virt import generation_id

objects.register_all()
CONF = cfg.CONF
UUID = '50c00000-0000-4000-8000-000000000000'
STORED = 'a0000000-0000-4000-8000-00000000000a'


def _nova_xml(arch=None):
    """A guest XML as Nova's LibvirtDriver makes it (its config objects)."""
    guest = vconfig.LibvirtConfigGuest()
    guest.virt_type, guest.name, guest.uuid = 'kvm', 'instance-00000001', UUID
    guest.memory, guest.vcpus = 1048576, 1
    guest.os_type, guest.os_mach_type, guest.os_arch = 'hvm', 'q35', arch
    guest.features.append(vconfig.LibvirtConfigGuestFeatureACPI())
    guest.add_device(vconfig.LibvirtConfigGuestInput())
    return guest.to_xml()


NOVA_XML = _nova_xml()


def _children(xml):
    return [child.tag for child in etree.fromstring(xml.encode())]


def _instance(**sysmeta):
    inst = objects.Instance(uuid=UUID, system_metadata=dict(sysmeta))
    inst.save = mock.Mock()
    return inst


# -- the XML ------------------------------------------------------------------

def test_the_genid_goes_right_after_the_uuid():
    xml = generation_id.with_genid(NOVA_XML, STORED)
    assert _children(NOVA_XML)[:2] == ['uuid', 'name']   # Nova's order
    assert _children(xml)[:3] == ['uuid', 'genid', 'name']
    assert etree.fromstring(xml.encode()).findtext('genid') == STORED


def test_an_existing_genid_is_replaced_not_repeated():
    old = NOVA_XML.replace('<memory>', '<genid>b0000000-0000-4000-8000-00000000000b'
                                       '</genid><genid/><memory>')
    assert old.count('<genid') == 2
    xml = generation_id.with_genid(old, STORED)
    tree = etree.fromstring(xml.encode())
    assert [g.text for g in tree.findall('genid')] == [STORED]
    assert _children(xml)[:3] == ['uuid', 'genid', 'name']


def test_the_rest_of_the_xml_is_kept():
    def canonical(xml):
        return etree.tostring(etree.fromstring(
            xml.encode(), etree.XMLParser(remove_blank_text=True)))
    tree = etree.fromstring(generation_id.with_genid(NOVA_XML, STORED).encode())
    tree.remove(tree.find('genid'))
    assert canonical(etree.tostring(tree, encoding='unicode')) == canonical(NOVA_XML)


@pytest.mark.parametrize('virt_type, xml, default_arch, expected', [
    ('kvm', NOVA_XML, 'x86_64', True),
    ('qemu', NOVA_XML, 'i686', True),
    ('kvm', NOVA_XML, 'aarch64', False),
    ('lxc', NOVA_XML, 'x86_64', False),
    ('parallels', NOVA_XML, 'x86_64', False),
    # hw_emulation_architecture: Nova names the guest's arch in <os><type>
    ('qemu', _nova_xml(arch='aarch64'), 'x86_64', False),
    ('qemu', _nova_xml(arch='x86_64'), 'aarch64', True),
])
def test_only_guests_that_can_have_a_genid_get_one(virt_type, xml, default_arch, expected):
    assert generation_id.applies(virt_type, xml, default_arch) is expected


# -- the stored value ---------------------------------------------------------

def test_the_stored_genid_is_reused_without_a_save():
    inst = _instance(**{generation_id.SYSMETA_KEY: STORED})
    assert generation_id.of_instance(inst) == STORED
    inst.save.assert_not_called()


def test_a_new_genid_is_made_once_and_saved():
    inst = _instance()
    first = generation_id.of_instance(inst)
    assert uuidlib.UUID(first).version == 4
    assert inst.system_metadata[generation_id.SYSMETA_KEY] == first
    inst.save.assert_called_once_with()
    assert generation_id.of_instance(inst) == first   # the next XML: the same
    inst.save.assert_called_once_with()


def test_a_stored_value_that_is_no_uuid_is_replaced():
    inst = _instance(**{generation_id.SYSMETA_KEY: 'junk'})
    genid = generation_id.of_instance(inst)
    assert generation_id.is_valid(genid) and genid != 'junk'
    inst.save.assert_called_once_with()


def test_the_key_is_one_the_api_guard_reserves():
    # system_metadata is not writable through Nova's API; the reserved key
    # guard keeps the name out of the tenant's metadata too
    from nova_pwnetizer.api import reserved_keys
    assert reserved_keys.reserved_in({generation_id.SYSMETA_KEY: STORED, 'x': 1}) == [
        generation_id.SYSMETA_KEY]


# -- the driver ---------------------------------------------------------------

@pytest.fixture
def drv():
    CONF.set_override('virt_type', 'kvm', group='libvirt')
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver._get_guest_xml',
                    return_value=NOVA_XML) as stock:
        driver = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
        driver.stock = stock
        yield driver
    CONF.clear_override('virt_type', group='libvirt')


def _image(arch='x86_64'):
    return objects.ImageMeta.from_dict({'properties': {'hw_architecture': arch}})


def test_every_guest_xml_of_the_driver_has_the_servers_genid(drv):
    inst = _instance(**{generation_id.SYSMETA_KEY: STORED})
    image = _image()
    xml = drv._get_guest_xml('ctx', inst, ['vif'], {'disk': 1}, image, rescue={'r': 1},
                             block_device_info={'b': 1}, mdevs=['m'], accel_info=['a'],
                             share_info='s', old_guest='g')
    assert etree.fromstring(xml.encode()).findtext('genid') == STORED
    assert _children(xml)[:2] == ['uuid', 'genid']
    drv.stock.assert_called_once_with(
        'ctx', inst, ['vif'], {'disk': 1}, image, rescue={'r': 1},
        block_device_info={'b': 1}, mdevs=['m'], accel_info=['a'], share_info='s',
        old_guest='g')


def test_a_server_booted_before_gets_one_at_its_next_xml_and_keeps_it(drv):
    inst = _instance()
    first = drv._get_guest_xml('ctx', inst, [], {}, _image())
    again = drv._get_guest_xml('ctx', inst, [], {}, _image())   # e.g. a hard reboot
    genid = inst.system_metadata[generation_id.SYSMETA_KEY]
    for xml in (first, again):
        assert etree.fromstring(xml.encode()).findtext('genid') == genid
    inst.save.assert_called_once_with()


def test_a_guest_that_cannot_have_one_gets_the_stock_xml(drv):
    inst = _instance()
    assert drv._get_guest_xml('ctx', inst, [], {}, _image('aarch64')) == NOVA_XML
    assert generation_id.SYSMETA_KEY not in inst.system_metadata
    inst.save.assert_not_called()
