"""The host-specific parts of a source's XML: refused or rewritten."""

from unittest import mock

import pytest

from nova_pwnetizer.virt.engine import checks
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import events as events_mod
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import host_specific
from nova_pwnetizer.virt.engine import job as job_mod
from nova_pwnetizer.virt.engine import options as options_mod
from nova_pwnetizer.virt.engine import recovery

SRC_UUID = '5a1f0c00-0000-4000-8000-000000000001'
SOURCE_ADDR = '192.0.2.10'        # the source host's address (TEST-NET-1)
TARGET_ADDR = '198.51.100.20'     # the target host's (TEST-NET-2)

_DISK = f"""
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/nova/instances/{SRC_UUID}/disk'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>"""
_NIC = """
    <interface type='bridge'>
      <mac address='fa:16:3e:12:34:56'/>
      <source bridge='qbr1234'/>
      <target dev='tap1234'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>"""
_PTY_SERIAL = f"""
    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <log file='/var/lib/nova/instances/{SRC_UUID}/console.log' append='off'/>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <source path='/dev/pts/3'/>
      <log file='/var/lib/nova/instances/{SRC_UUID}/console.log' append='off'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>"""
_VNC = f"""
    <graphics type='vnc' port='5900' autoport='yes' listen='{SOURCE_ADDR}'>
      <listen type='address' address='{SOURCE_ADDR}'/>
    </graphics>"""
_SPICE = f"""
    <graphics type='spice' port='5901' autoport='yes' listen='{SOURCE_ADDR}'>
      <listen type='address' address='{SOURCE_ADDR}'/>
      <image compression='auto_glz'/>
    </graphics>"""


def _nova_domain(head='<vcpu placement=\'static\'>2</vcpu>', cpu='', devices=_VNC):
    """A domain as Nova's libvirt driver makes it, with ``head`` (memory
    backing, vcpu, cputune, numatune), ``cpu`` (in <cpu>) and ``devices``."""
    return domainxml.parse(f"""<domain type='kvm' id='7'>
  <name>instance-0000000a</name>
  <uuid>{SRC_UUID}</uuid>
  <metadata>
    <nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>
      <nova:name>web-1</nova:name>
    </nova:instance>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  {head}
  <sysinfo type='smbios'><system>
    <entry name='manufacturer'>OpenStack Foundation</entry>
    <entry name='uuid'>{SRC_UUID}</entry>
  </system></sysinfo>
  <os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='host-model' check='partial'>
    <topology sockets='2' dies='1' clusters='1' cores='1' threads='1'/>{cpu}
  </cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>{_DISK}{_NIC}{_PTY_SERIAL}{devices}
    <video><model type='virtio' heads='1' primary='yes'/></video>
  </devices>
</domain>""")


# hw:cpu_policy=dedicated, hw:mem_page_size=2MB: Nova's pinned NUMA guest
PINNED_HEAD = """
  <memoryBacking>
    <hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages>
  </memoryBacking>
  <vcpu placement='static'>2</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <shares>2048</shares>
    <vcpupin vcpu='0' cpuset='4'/>
    <vcpupin vcpu='1' cpuset='5'/>
    <emulatorpin cpuset='4-5'/>
    <iothreadpin iothread='1' cpuset='4-5'/>
  </cputune>
  <numatune>
    <memory mode='strict' nodeset='0'/>
    <memnode cellid='0' mode='strict' nodeset='0'/>
  </numatune>"""
PINNED_CPU = """
    <numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB' memAccess='shared'/></numa>"""
# [compute] cpu_shared_set = 0-3,8-11 on the source host, no NUMA topology
SHARED_HEAD = "<vcpu placement='static' cpuset='0-3,8-11'>2</vcpu>"
TCP_SERIAL = f"""
    <serial type='tcp'>
      <source mode='bind' host='{SOURCE_ADDR}' service='10000'/>
      <protocol type='raw'/>
      <target type='isa-serial' port='1'><model name='isa-serial'/></target>
      <alias name='serial1'/>
    </serial>
    <console type='tcp'>
      <source mode='bind' host='{SOURCE_ADDR}' service='10000'/>
      <protocol type='raw'/>
      <target type='serial' port='1'/>
    </console>"""
HOSTDEV = """
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <driver name='vfio'/>
      <source><address domain='0x0000' bus='0x81' slot='0x00' function='0x1'/></source>
      <alias name='hostdev0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </hostdev>"""

PLACEMENT = host_specific.TargetPlacement(
    cpuset='2-3,6', graphics_listen={'vnc': TARGET_ADDR, 'spice': TARGET_ADDR})


# -- problems -----------------------------------------------------------------

def test_a_pinned_numa_guest_has_one_reason_per_kind():
    reasons = host_specific.problems(_nova_domain(PINNED_HEAD, PINNED_CPU))
    assert len(reasons) == 6, reasons
    for element in ('<vcpupin>', '<emulatorpin>', '<iothreadpin>', '<numatune>',
                    '<hugepages>', '<cpu><numa>'):
        assert sum(element in r for r in reasons) == 1, (element, reasons)


def test_a_shared_guest_with_vnc_spice_and_pty_consoles_has_none():
    tree = _nova_domain(SHARED_HEAD, devices=_VNC + _SPICE)
    assert host_specific.problems(tree) == []


def test_huge_pages_from_no_given_node_can_move():
    head = ("<memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages>"
            "</memoryBacking><vcpu placement='static'>2</vcpu>")
    assert host_specific.problems(_nova_domain(head)) == []


def test_only_cpu_shares_in_cputune_can_move():
    head = ("<vcpu placement='static'>2</vcpu>"
            "<cputune><shares>2048</shares><period>100000</period></cputune>")
    assert host_specific.problems(_nova_domain(head)) == []


def test_tcp_serial_and_its_console_are_one_reason():
    reasons = host_specific.problems(_nova_domain(devices=_VNC + TCP_SERIAL))
    assert len(reasons) == 1 and 'tcp' in reasons[0] and '<serial>' in reasons[0]


def test_a_tcp_console_alone_is_refused():
    console = f"""<console type='tcp'><source mode='connect' host='{SOURCE_ADDR}'
      service='4555'/><protocol type='telnet'/><target type='virtio' port='0'/></console>"""
    assert len(host_specific.problems(_nova_domain(devices=console))) == 1


def test_a_passthrough_device_is_refused():
    assert host_specific.problems(_nova_domain(devices=HOSTDEV)) == [
        host_specific.HOSTDEV_REASON]


def test_reasons_name_no_host_or_address():
    tree = _nova_domain(PINNED_HEAD, PINNED_CPU, devices=_VNC + TCP_SERIAL + HOSTDEV)
    reasons = host_specific.problems(tree)
    assert len(reasons) == 8
    text = ' '.join(reasons)
    for secret in (SOURCE_ADDR, '10000', '0x81', '4-5', 'instance-0000000a'):
        assert secret not in text


# -- rewrite ------------------------------------------------------------------

def _listens(graphics):
    return [(listen.get('type'), listen.get('address')) for listen in graphics.iter('listen')]


def test_the_shared_cpuset_becomes_the_targets():
    tree = _nova_domain(SHARED_HEAD)
    host_specific.rewrite(tree, PLACEMENT)
    assert tree.find('vcpu').get('cpuset') == '2-3,6'
    assert tree.find('vcpu').text == '2' and tree.find('vcpu').get('placement') == 'static'


def test_a_target_without_shared_cpus_removes_the_cpuset():
    tree = _nova_domain(SHARED_HEAD)
    host_specific.rewrite(tree, host_specific.TargetPlacement())
    assert 'cpuset' not in tree.find('vcpu').attrib


def test_a_guest_without_cpuset_gets_the_targets():
    tree = _nova_domain()
    host_specific.rewrite(tree, PLACEMENT)
    assert tree.find('vcpu').get('cpuset') == '2-3,6'


def test_vnc_and_spice_listen_on_the_targets_address():
    tree = _nova_domain(devices=_VNC + _SPICE)
    host_specific.rewrite(tree, PLACEMENT)
    vnc, spice = tree.findall('devices/graphics')
    for graphics in (vnc, spice):
        assert graphics.get('listen') == TARGET_ADDR
        assert _listens(graphics) == [('address', TARGET_ADDR)]
    assert spice.find('image').get('compression') == 'auto_glz'
    assert SOURCE_ADDR not in domainxml.tostring(tree)


def test_a_type_the_target_does_not_give_loses_its_address():
    tree = _nova_domain(devices=_VNC + _SPICE)
    host_specific.rewrite(tree, host_specific.TargetPlacement(
        graphics_listen={'vnc': TARGET_ADDR}))
    vnc, spice = tree.findall('devices/graphics')
    assert vnc.get('listen') == TARGET_ADDR
    assert spice.get('listen') is None
    assert _listens(spice) == [('address', None)]  # libvirt's default on the target
    assert SOURCE_ADDR not in domainxml.tostring(tree)


def test_an_empty_address_is_no_address():
    tree = _nova_domain()
    host_specific.rewrite(tree, host_specific.TargetPlacement(graphics_listen={'vnc': ''}))
    graphics = tree.find('devices/graphics')
    assert graphics.get('listen') is None and _listens(graphics) == [('address', None)]


def test_only_the_listen_attribute_is_rewritten_when_it_is_alone():
    tree = _nova_domain(devices=f"<graphics type='vnc' autoport='yes' listen='{SOURCE_ADDR}'/>")
    host_specific.rewrite(tree, PLACEMENT)
    graphics = tree.find('devices/graphics')
    assert graphics.get('listen') == TARGET_ADDR and _listens(graphics) == []


def test_socket_and_none_listens_are_kept():
    devices = """
    <graphics type='vnc'><listen type='socket' socket='/run/vnc/web-1.sock'/></graphics>
    <graphics type='spice' autoport='no'><listen type='none'/></graphics>"""
    tree = _nova_domain(devices=devices)
    host_specific.rewrite(tree, PLACEMENT)
    vnc, spice = tree.findall('devices/graphics')
    assert vnc.find('listen').attrib == {'type': 'socket', 'socket': '/run/vnc/web-1.sock'}
    assert spice.find('listen').attrib == {'type': 'none'}
    assert vnc.get('listen') is None and spice.get('listen') is None


def test_a_network_listen_loses_the_address_it_had_on_the_source():
    devices = f"""<graphics type='vnc' autoport='yes' listen='{SOURCE_ADDR}'>
      <listen type='network' network='mgmt' address='{SOURCE_ADDR}'/></graphics>"""
    tree = _nova_domain(devices=devices)
    host_specific.rewrite(tree, PLACEMENT)
    graphics = tree.find('devices/graphics')
    assert graphics.find('listen').attrib == {'type': 'network', 'network': 'mgmt'}
    assert graphics.get('listen') is None  # it would have to match the first <listen>


def test_nothing_else_changes():
    tree = _nova_domain(devices=_VNC + _SPICE)
    before = domainxml.tostring(tree)
    host_specific.rewrite(tree, PLACEMENT)
    after = domainxml.tostring(tree)
    assert after != before
    assert after.replace(TARGET_ADDR, SOURCE_ADDR).replace(
        "<vcpu placement=\"static\" cpuset=\"2-3,6\">", "<vcpu placement=\"static\">") == before


def test_rewrite_of_the_incoming_xml():
    source = _nova_domain(SHARED_HEAD, devices=_VNC)
    ident = domainxml.Identity(name='web-1-clone-1', uuid='c1000000-0000-4000-8000-000000000001')
    ident.paths = {el.get(attr): '/clone/' + attr
                   for el, attr in domainxml.chardev_paths(source)}
    incoming = domainxml.build_incoming(source, ident, {'vda': '/clone/disk'},
                                        'tcp:%s:49152' % TARGET_ADDR)
    host_specific.rewrite(incoming, PLACEMENT)
    graphics = incoming.find('devices/graphics')
    assert graphics.get('port') is None and graphics.get('listen') == TARGET_ADDR
    assert incoming.find('vcpu').get('cpuset') == '2-3,6'
    assert source.find('vcpu').get('cpuset') == '0-3,8-11'  # the source's is kept


# -- options and checks -------------------------------------------------------

def test_options_take_only_a_target_placement():
    options_mod.CloneOptions(target_placement=PLACEMENT).validate()
    options_mod.CloneOptions().validate()
    with pytest.raises(exception.InvalidOptions, match='TargetPlacement'):
        options_mod.CloneOptions(target_placement={'cpuset': '0-3'}).validate()


def test_no_placement_checks_nothing():
    tree = _nova_domain(PINNED_HEAD, PINNED_CPU)
    assert checks.check_placement(tree, None) == []
    assert len(checks.check_placement(tree, PLACEMENT)) == 6


def test_a_passthrough_device_is_not_refused_twice():
    tree = _nova_domain(devices=HOSTDEV)
    found = checks.check_devices(tree)
    assert host_specific.HOSTDEV_REASON in found
    assert checks.check_placement(tree, PLACEMENT, found) == []
    assert checks.check_placement(tree, PLACEMENT) == [host_specific.HOSTDEV_REASON]


# -- the job ------------------------------------------------------------------

class _Stop(exception.PwnetizerError):
    """What the fake target's create_guest raises: the test has seen enough."""


class FakeHost:
    """A libvirt host that records everything done to it."""

    qemu_version = (10, 0, 2)
    libvirt_version = (11, 3, 0)

    def __init__(self, uri):
        self.uri = uri
        self.hostname = uri.split('//')[1].split('/')[0]
        self.done = []
        self.created_xml = None

    def same_as(self, other):
        return self is other

    def machine_types(self, arch, domain_type):
        return {'pc-q35-10.0'}

    def exists(self, name=None, uuid=None):
        return False

    def file_info(self, path):
        return None

    def _record(name):
        def method(self, *args, **kwargs):
            self.done.append((name, args))
        return method

    ensure_directory = _record('ensure_directory')
    create_image = _record('create_image')
    delete_file = _record('delete_file')

    def create_guest(self, xml, paused=False):
        self.done.append(('create_guest', ()))
        self.created_xml = xml
        raise _Stop('stopped by the test')


class FakeSource:
    name = 'instance-0000000a'
    uuid = SRC_UUID
    state = 'running'

    def __init__(self, tree):
        self.xml = domainxml.tostring(tree)
        self.host = FakeHost('qemu+ssh://source.example/system')
        self.commands = []

    def tree(self, migratable=False):
        return domainxml.parse(self.xml)

    def migration_status(self):
        return {}

    def qmp(self, command, **args):
        self.commands.append(command)
        return []

    def block_info(self, dev):
        return (10 << 30, 10 << 30, 1 << 30)


@pytest.fixture
def clone_job(tmp_path, monkeypatch):
    monkeypatch.setattr(recovery, 'LOCK_DIR', str(tmp_path))

    def make(tree, placement):
        source = FakeSource(tree)
        target = FakeHost('qemu+ssh://target.example/system')
        options = options_mod.CloneOptions(
            target_placement=placement, guardian=False, migration_address=TARGET_ADDR)
        return job_mod.CloneJob(source, target, options), source, target

    with mock.patch.object(events_mod, 'start_event_loop'):
        yield make


def test_a_pinned_source_is_refused_before_anything_is_made(clone_job):
    job, source, target = clone_job(_nova_domain(PINNED_HEAD, PINNED_CPU), PLACEMENT)
    with pytest.raises(exception.SourceNotCloneable) as e:
        job.run()
    assert len(e.value.reasons) == 6
    assert '<vcpupin>' in e.value.message and '<numatune>' in e.value.message
    assert target.done == [] and source.host.done == []
    assert source.commands == ['query-block-jobs']  # only looked at


def test_without_a_placement_a_pinned_source_goes_on_as_before(clone_job):
    job, source, target = clone_job(_nova_domain(PINNED_HEAD, PINNED_CPU), None)
    with pytest.raises(exception.CloneFailed, match='stopped by the test'):
        job.run()
    created = domainxml.parse(target.created_xml)
    assert created.find('cputune/vcpupin').get('cpuset') == '4'
    assert created.find('devices/graphics').get('listen') == SOURCE_ADDR
    assert ('delete_file', ('/var/lib/nova/instances/%s/disk' % job.identity.uuid,)) \
        in target.done  # and the rollback removed what it made


def test_the_clone_starts_from_the_rewritten_xml(clone_job):
    job, source, target = clone_job(_nova_domain(SHARED_HEAD, devices=_VNC + _SPICE),
                                    host_specific.TargetPlacement(
                                        cpuset='16-31', graphics_listen={'vnc': TARGET_ADDR}))
    with pytest.raises(exception.CloneFailed, match='stopped by the test'):
        job.run()
    created = domainxml.parse(target.created_xml)
    assert created.find('vcpu').get('cpuset') == '16-31'
    vnc, spice = created.findall('devices/graphics')
    assert vnc.get('listen') == TARGET_ADDR and _listens(vnc) == [('address', TARGET_ADDR)]
    assert spice.get('listen') is None and _listens(spice) == [('address', None)]
    assert job.incoming_tree.findtext('name') == created.findtext('name')


@pytest.mark.parametrize('device', [
    "<channel type='tcp'><source mode='bind' host='%s' service='4556'/>"
    "<target type='virtio' name='org.example.0'/></channel>" % SOURCE_ADDR,
    "<serial type='udp'><source mode='bind' host='%s' service='4557'/>"
    "<target port='1'/></serial>" % SOURCE_ADDR,
    "<parallel type='tcp'><source mode='bind' host='%s' service='4558'/>"
    "<target port='0'/></parallel>" % SOURCE_ADDR,
])
def test_any_network_character_device_is_refused(device):
    reasons = host_specific.problems(_nova_domain(devices=device))
    assert len(reasons) == 1 and 'tcp or udp' in reasons[0]


def test_cache_and_memory_bandwidth_allocations_are_refused():
    head = ("<cputune><cachetune vcpus='0'><cache id='0' level='3' type='both' "
            "size='3' unit='MiB'/></cachetune></cputune>")
    assert len(host_specific.problems(_nova_domain(head))) == 1
