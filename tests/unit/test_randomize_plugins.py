"""Device-class plugins: what they offer and how they rewrite a domain."""

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.randomize import capabilities
from nova_pwnetizer.virt.randomize import disk
from nova_pwnetizer.virt.randomize import inputdev
from nova_pwnetizer.virt.randomize import nic
from nova_pwnetizer.virt.randomize import sound
from nova_pwnetizer.virt.randomize import usb
from nova_pwnetizer.virt.randomize import video


def caps(machine='pc-i440fx-10.0', buses=('ide', 'fdc', 'scsi', 'virtio', 'usb', 'sata'),
         videos=('vga', 'cirrus', 'virtio', 'none', 'bochs', 'ramfb'), qemu_types=None):
    xml = ('<domainCapabilities><machine>%s</machine><devices>'
           "<disk><enum name='bus'>%s</enum></disk>"
           "<video><enum name='modelType'>%s</enum></video></devices></domainCapabilities>"
           % (machine, ''.join('<value>%s</value>' % b for b in buses),
              ''.join('<value>%s</value>' % v for v in videos)))
    return capabilities.HypervisorCaps.from_xml(xml, qemu_types)


def domain(devices, machine='pc'):
    return domainxml.parse("<domain type='qemu'><name>d</name><uuid>u</uuid>"
                           "<os><type arch='x86_64' machine='%s'>hvm</type></os>"
                           "<devices>%s</devices></domain>" % (machine, devices))


def test_nic_models_offered_follow_qemu_and_pcie_slots():
    tree = domain("<interface type='bridge'><model type='virtio'/></interface>")
    r = nic.NicModel()
    assert r.present(tree) and r.current(tree) == 'virtio' and r.live
    assert r.hypervisor_models(caps(), tree) == set(nic.QEMU_DEVICES)
    assert r.hypervisor_models(caps(qemu_types={'e1000', 'virtio-net-pci'}), tree) == {
        'e1000', 'virtio'}
    assert r.hypervisor_models(caps(machine='pc-q35-10.0'), tree) == {'virtio', 'e1000e'}


def test_nic_apply_drops_virtio_only_driver_options():
    tree = domain("<interface type='bridge'><model type='virtio'/>"
                  "<driver name='vhost' queues='4'/></interface>")
    nic.NicModel().apply(tree, 'rtl8139')
    iface = tree.find('devices/interface')
    assert iface.find('model').get('type') == 'rtl8139' and iface.find('driver') is None


def test_disk_bus_apply_renames_and_readdresses():
    tree = domain("<disk type='file' device='disk'><target dev='vda' bus='virtio'/>"
                  "<address type='pci' slot='0x04'/></disk>"
                  "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>")
    r = disk.DiskBus()
    assert r.current(tree) == 'virtio'
    r.apply(tree, 'sata')
    target = tree.find('devices/disk/target')
    assert (target.get('bus'), target.get('dev')) == ('sata', 'sdb')  # sda is the cdrom
    assert tree.find('devices/disk/address') is None
    r.apply(tree, 'scsi')
    assert tree.find("devices/controller[@type='scsi']").get('model') == 'virtio-scsi'


def test_disk_buses_offered_come_from_domain_capabilities():
    tree = domain("<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>")
    q35 = caps(machine='pc-q35-10.0', buses=('fdc', 'scsi', 'virtio', 'usb', 'sata'))
    assert disk.DiskBus().hypervisor_models(q35, tree) == {'scsi', 'virtio', 'sata'}


def test_video_apply_keeps_primary_and_pci_address():
    tree = domain("<video><model type='qxl' ram='65536' vram='65536' primary='yes'>"
                  "<acceleration accel3d='no'/></model><address type='pci' slot='0x02'/>"
                  "</video>")
    r = video.VideoModel()
    assert r.present(tree) and r.current(tree) == 'qxl'
    r.apply(tree, 'cirrus')
    model = tree.find('devices/video/model')
    assert dict(model.attrib) == {'type': 'cirrus', 'primary': 'yes'} and len(model) == 0
    assert tree.find('devices/video/address') is not None
    r.apply(tree, 'ramfb')
    assert tree.find('devices/video/address') is None
    assert not r.present(domain("<video><model type='none'/></video>"))
    assert r.hypervisor_models(caps(), tree) == {'vga', 'cirrus', 'virtio', 'bochs', 'ramfb'}


def test_input_tablet_needs_a_usb_controller():
    r = inputdev.InputDevice()
    with_usb = domain("<controller type='usb' model='piix3-uhci'/>"
                      "<input type='tablet' bus='usb'/>")
    assert r.current(with_usb) == 'usb-tablet'
    assert r.hypervisor_models(caps(), with_usb) == {'usb-tablet', 'virtio-tablet', 'ps2'}
    no_usb = domain("<controller type='usb' model='none'/>")
    assert r.current(no_usb) == 'ps2'
    assert 'usb-tablet' not in r.hypervisor_models(caps(), no_usb)
    r.apply(with_usb, 'virtio-tablet')
    assert [(i.get('type'), i.get('bus')) for i in with_usb.iterfind('devices/input')] == [
        ('tablet', 'virtio')]
    r.apply(with_usb, 'ps2')
    assert with_usb.find('devices/input') is None


def test_usb_apply_removes_companions_and_address():
    tree = domain("<controller type='usb' index='0' model='ich9-ehci1'>"
                  "<address type='pci' slot='0x1d' function='0x7'/></controller>"
                  "<controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/>"
                  "</controller>")
    r = usb.UsbController()
    assert r.current(tree) == 'ich9-ehci1'
    r.apply(tree, 'qemu-xhci')
    ctls = tree.findall("devices/controller[@type='usb']")
    assert len(ctls) == 1 and ctls[0].get('model') == 'qemu-xhci'
    assert ctls[0].find('address') is None


def test_sound_apply_drops_hda_codecs_for_other_models():
    tree = domain("<sound model='ich9'><codec type='micro'/></sound>")
    r = sound.SoundModel()
    assert r.present(tree) and r.current(tree) == 'ich9'
    r.apply(tree, 'ac97')
    assert tree.find('devices/sound').get('model') == 'ac97'
    assert tree.find('devices/sound/codec') is None


def test_usb_apply_adds_the_implicit_controller():
    tree = domain('')
    usb.UsbController().apply(tree, 'nec-xhci')
    assert tree.find("devices/controller[@type='usb']").get('model') == 'nec-xhci'
