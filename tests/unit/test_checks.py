"""What the engine refuses, before anything is touched."""

import pytest

from nova_pwnetizer.virt.engine import checks
from nova_pwnetizer.virt.engine import domainxml


class FakeHost:
    def __init__(self, qemu=(10, 0, 2), libvirt=(11, 3, 0), machines=('pc', 'q35')):
        self.qemu_version = qemu
        self.libvirt_version = libvirt
        self._machines = set(machines)

    def machine_types(self, arch, domain_type):
        return self._machines


def _domain(devices='', extra='', dtype='qemu'):
    return domainxml.parse(f"""<domain type='{dtype}'><name>d</name><uuid>u</uuid>
      <os><type arch='x86_64' machine='pc'>hvm</type></os>{extra}
      <devices>{devices}</devices></domain>""")


def test_tcg_with_old_qemu_is_refused_with_what_to_upgrade():
    reasons = checks.check_hosts(FakeHost(qemu=(7, 2, 0)), FakeHost(), 'qemu')
    text = ' '.join(reasons)
    assert 'QEMU 7.2.0 on the source host loses dirty pages' in text
    assert '03bfc2188f' in text and 'bookworm-backports' in text


def test_kvm_with_7_2_is_fine():
    assert checks.check_hosts(FakeHost(qemu=(7, 2, 0)), FakeHost(qemu=(7, 2, 0)), 'kvm') == []


def test_older_target_qemu_is_refused():
    reasons = checks.check_hosts(FakeHost(qemu=(10, 0, 2)), FakeHost(qemu=(9, 2, 0)), 'kvm')
    assert any('older QEMU' in r for r in reasons)


def test_target_without_machine_type():
    tree = _domain()
    assert checks.check_target_machine(tree, FakeHost(machines=('q35',))) == [
        'the target host does not offer machine type pc']
    assert 'cannot run' in checks.check_target_machine(tree, FakeHost(machines=()))[0]


@pytest.mark.parametrize('devices, extra, expected', [
    ("<disk type='network' device='disk'><source protocol='rbd' name='p/i'/>"
     "<target dev='vda'/></disk>", '', "of type 'network'"),
    ("<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vda'/></disk>",
     '', "of type 'block'"),
    ("<disk type='file' device='disk'><driver name='qemu' type='vmdk'/>"
     "<source file='/x'/><target dev='vda'/></disk>", '', "format 'vmdk'"),
    ("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/x'/>"
     "<target dev='vda'/><shareable/></disk>", '', 'shareable'),
    ("<hostdev mode='subsystem' type='pci'/>", '', 'host devices'),
    ("<tpm model='tpm-crb'/>", '', 'vTPM'),
    ("<filesystem type='mount'/>", '', 'shared filesystems'),
    ("<vsock model='virtio'/>", '', 'vsock'),
    ("<interface type='vhostuser'/>", '', 'vhostuser'),
    ('', "<memoryBacking><source type='file'/></memoryBacking>", 'backed by file'),
    ('', "<memoryBacking><access mode='shared'/></memoryBacking>", 'shared guest memory'),
    ('', "<launchSecurity type='sev'/>", 'confidential'),
])
def test_unsupported_devices(devices, extra, expected):
    reasons = checks.check_devices(_domain(devices, extra))
    assert any(expected in r for r in reasons), reasons


def test_nvram_is_refused():
    tree = domainxml.parse("""<domain type='kvm'><name>d</name><uuid>u</uuid>
      <os><type arch='x86_64' machine='q35'>hvm</type><nvram>/v/d_VARS.fd</nvram></os>
      <devices/></domain>""")
    assert any('NVRAM' in r for r in checks.check_devices(tree))


def test_supported_devices_pass():
    devices = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
               "<source file='/x'/><target dev='vda'/></disk>"
               "<disk type='file' device='cdrom'><source file='/iso'/><target dev='sda'/>"
               "<readonly/></disk><interface type='bridge'/>")
    assert checks.check_devices(_domain(devices)) == []
