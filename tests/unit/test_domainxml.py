"""Clone XML: identity, incoming form, persistent form."""

from lxml import etree

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import metadata

SRC_UUID = '11111111-2222-3333-4444-555555555555'
SOURCE = f"""<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>web-1</name>
  <uuid>{SRC_UUID}</uuid>
  <genid>aaaaaaaa-0000-0000-0000-000000000001</genid>
  <metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'/>
  </metadata>
  <memory unit='KiB'>262144</memory>
  <sysinfo type='smbios'><system><entry name='uuid'>{SRC_UUID}</entry>
    <entry name='serial'>{SRC_UUID}</entry><entry name='product'>x</entry></system></sysinfo>
  <os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/nova/instances/{SRC_UUID}/disk'/>
      <backingStore type='file'><format type='qcow2'/><source file='/base/abc'/></backingStore>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'><source file='/iso/tools.iso'/>
      <target dev='sda' bus='sata'/><readonly/></disk>
    <interface type='bridge'>
      <mac address='52:54:00:11:22:33'/>
      <source bridge='br0'/>
      <target dev='vnet3'/>
      <model type='virtio'/>
      <driver name='vhost' queues='2'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
    <serial type='file'><source path='/var/log/web-1.console'/>
      <log file='/var/log/web-1.serial.log'/><target port='0'/></serial>
    <console type='file'><source path='/var/log/web-1.console'/><target port='0'/></console>
    <channel type='unix'>
      <source mode='bind'
        path='/var/lib/libvirt/qemu/channel/target/domain-3-web-1/org.qemu.guest_agent.0'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'/>
  </devices>
  <qemu:commandline><qemu:arg value='-s'/></qemu:commandline>
</domain>"""


def _identity(tree):
    ident = domainxml.Identity(name='web-1-clone-1',
                               uuid='99999999-0000-0000-0000-000000000009',
                               genid='bbbbbbbb-0000-0000-0000-000000000002')
    for el, attr in domainxml.chardev_paths(tree):
        path = el.get(attr)
        ident.paths[path] = domainxml.clone_path(path, 'web-1', SRC_UUID, ident)
    return ident


def _incoming():
    source = domainxml.parse(SOURCE)
    ident = _identity(source)
    info = metadata.CloneInfo(family=SRC_UUID, source_uuid=SRC_UUID, source_name='web-1',
                              source_host='qemu:///system', created='2026-01-01T00:00:00Z')
    tree = domainxml.build_incoming(source, ident, {'vda': '/clones/web-1-clone-1.qcow2'},
                                    'tcp:10.0.0.2:49153', info.to_xml())
    return source, tree


def test_clone_path_replaces_uuid_then_name_else_prefixes():
    ident = domainxml.Identity(name='b', uuid='U2')
    assert domainxml.clone_path('/i/U1/disk', 'a', 'U1', ident) == '/i/U2/disk'
    assert domainxml.clone_path('/i/a.console', 'a', 'U1', ident) == '/i/b.console'
    assert domainxml.clone_path('/i/disk.img', 'a', 'U1', ident) == '/i/b-disk.img'
    assert domainxml.clone_path('/i/U1/disk', 'a', 'U1', ident, '/c') == '/c/b-disk'
    assert domainxml.clone_path('/i/a.qcow2', 'a', 'U1', ident, '/c') == '/c/b.qcow2'


def test_incoming_has_new_identity():
    source, tree = _incoming()
    assert tree.findtext('name') == 'web-1-clone-1'
    assert tree.findtext('uuid') == '99999999-0000-0000-0000-000000000009'
    assert tree.findtext('genid') == 'bbbbbbbb-0000-0000-0000-000000000002'
    entries = {e.get('name'): e.text for e in tree.iterfind('sysinfo/system/entry')}
    assert entries == {'uuid': '99999999-0000-0000-0000-000000000009',
                       'serial': '99999999-0000-0000-0000-000000000009', 'product': 'x'}
    assert source.findtext('name') == 'web-1'  # the source tree is not modified


def test_incoming_disks_and_files():
    _, tree = _incoming()
    disk, cdrom = tree.findall('devices/disk')
    assert disk.find('source').get('file') == '/clones/web-1-clone-1.qcow2'
    assert disk.find('backingStore') is None
    assert disk.find('address').get('bus') == '0x04'
    assert cdrom.find('source').get('file') == '/iso/tools.iso'
    assert tree.find('devices/serial/source').get('path') == '/var/log/web-1-clone-1.console'
    assert tree.find('devices/serial/log').get('file') == '/var/log/web-1-clone-1.serial.log'
    assert tree.find('devices/console/source').get('path') == '/var/log/web-1-clone-1.console'
    assert tree.find('devices/channel/source').get('path') is None  # libvirt makes one
    graphics = tree.find('devices/graphics')
    assert graphics.get('autoport') == 'yes' and graphics.get('port') is None


def _with_drives():
    """SOURCE with Nova's config drive, a CD-ROM, and a vfat disk."""
    return domainxml.parse(SOURCE.replace("<interface type='bridge'>", f"""
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>
      <source file='/var/lib/nova/instances/{SRC_UUID}/disk.config'/>
      <backingStore/><target dev='sdb' bus='sata'/><readonly/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='/data/{SRC_UUID}/vfat.config'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='bridge'>""", 1))


def test_disk_files_names_each_file_backed_disk_with_its_device():
    assert domainxml.disk_files(_with_drives()) == [
        ('disk', '/var/lib/nova/instances/%s/disk' % SRC_UUID),
        ('cdrom', '/iso/tools.iso'),
        ('cdrom', '/var/lib/nova/instances/%s/disk.config' % SRC_UUID),
        ('disk', '/data/%s/vfat.config' % SRC_UUID)]


def test_incoming_media_and_disks_of_the_clones_own_read_its_files():
    source = _with_drives()
    own = {'/var/lib/nova/instances/%s/disk.config' % SRC_UUID: '/clone/disk.config',
           '/data/%s/vfat.config' % SRC_UUID: '/clone/vfat.config'}
    tree = domainxml.build_incoming(source, _identity(source),
                                    {'vda': '/clones/web-1-clone-1.qcow2'},
                                    'tcp:10.0.0.2:49153', own_files=own)
    disk, tools, drive, vfat = tree.findall('devices/disk')
    assert disk.find('source').get('file') == '/clones/web-1-clone-1.qcow2'
    assert tools.find('source').get('file') == '/iso/tools.iso'   # not its own: shared
    assert drive.find('source').get('file') == '/clone/disk.config'
    assert drive.find('backingStore') is None       # the source file's, gone
    assert drive.find('readonly') is not None and drive.get('device') == 'cdrom'
    assert drive.find('target').get('dev') == 'sdb'   # the same device
    assert vfat.find('source').get('file') == '/clone/vfat.config'
    persistent = domainxml.build_persistent(tree, [])
    assert [d.find('source').get('file') for d in persistent.findall('devices/disk')][2:] \
        == ['/clone/disk.config', '/clone/vfat.config']
    # the source's tree keeps its own
    assert source.findall('devices/disk')[2].find('source').get('file') == (
        '/var/lib/nova/instances/%s/disk.config' % SRC_UUID)


def test_incoming_nics_are_isolated_but_identical_devices():
    _, tree = _incoming()
    (iface,) = domainxml.interfaces(tree)
    assert iface.get('type') == 'ethernet'
    assert iface.find('source') is None and iface.find('target') is None
    assert iface.find('mac').get('address') == '52:54:00:11:22:33'
    assert iface.find('model').get('type') == 'virtio'
    assert iface.find('driver').get('queues') == '2'
    assert iface.find('address').get('bus') == '0x01'


def test_incoming_listens_and_keeps_other_qemu_args_and_metadata():
    _, tree = _incoming()
    args = [a.get('value') for a in tree.iterfind('{%s}commandline/{%s}arg'
                                                  % (domainxml.NS_QEMU, domainxml.NS_QEMU))]
    assert args == ['-s', '-incoming', 'tcp:10.0.0.2:49153']
    children = [etree.QName(c).namespace for c in tree.find('metadata')]
    assert children == ['http://openstack.org/xmlns/libvirt/nova/1.1', metadata.NAMESPACE]
    assert metadata.of_tree(tree).source_name == 'web-1'


def test_persistent_has_real_nics_and_no_incoming():
    source, incoming = _incoming()
    final = domainxml.final_interface(domainxml.interfaces(source)[0], '52:54:00:aa:bb:cc')
    tree = domainxml.build_persistent(incoming, [final])
    args = [a.get('value') for a in tree.iterfind('{%s}commandline/{%s}arg'
                                                  % (domainxml.NS_QEMU, domainxml.NS_QEMU))]
    assert args == ['-s']
    (iface,) = domainxml.interfaces(tree)
    assert iface.get('type') == 'bridge' and iface.find('source').get('bridge') == 'br0'
    assert iface.find('mac').get('address') == '52:54:00:aa:bb:cc'
    assert iface.find('target') is None and iface.find('alias') is None
    assert iface.find('address').get('bus') == '0x01'


def test_persistent_drops_empty_commandline():
    tree = domainxml.parse("<domain><name>a</name><uuid>u</uuid><devices/></domain>")
    ident = domainxml.Identity(name='b', uuid='v')
    incoming = domainxml.build_incoming(tree, ident, {}, 'tcp:127.0.0.1:1')
    assert incoming.find('{%s}commandline' % domainxml.NS_QEMU) is not None
    persistent = domainxml.build_persistent(incoming, [])
    assert persistent.find('{%s}commandline' % domainxml.NS_QEMU) is None


def _qemu_args(tree):
    return [a.get('value') for a in tree.iterfind('{%s}commandline/{%s}arg'
                                                  % (domainxml.NS_QEMU, domainxml.NS_QEMU))]


def test_without_incoming_keeps_other_args_and_the_rest():
    _, incoming = _incoming()
    live = domainxml.tostring(incoming)
    stripped = domainxml.parse(domainxml.without_incoming(live))
    assert _qemu_args(stripped) == ['-s']
    assert stripped.find('uuid').text == incoming.find('uuid').text
    assert len(stripped.find('devices')) == len(incoming.find('devices'))
    # a domain without the engine's arguments is returned as it was
    assert domainxml.without_incoming(SOURCE) == SOURCE
    again = domainxml.without_incoming(domainxml.tostring(stripped))
    assert _qemu_args(domainxml.parse(again)) == ['-s']


def test_without_incoming_removes_only_a_trailing_pair():
    # Only a trailing "-incoming URI" pair is the engine's; a lone arg stays.
    xml = ("<domain xmlns:qemu='%s'><name>a</name><qemu:commandline>"
           "<qemu:arg value='-incoming'/></qemu:commandline></domain>" % domainxml.NS_QEMU)
    assert _qemu_args(domainxml.parse(domainxml.without_incoming(xml))) == ['-incoming']


def test_final_interface_changes_model_and_drops_virtio_tuning():
    source = domainxml.parse(SOURCE)
    iface = domainxml.final_interface(domainxml.interfaces(source)[0], '52:54:00:00:00:01',
                                      model='e1000')
    assert iface.find('model').get('type') == 'e1000'
    assert iface.find('driver') is None
    kept = domainxml.final_interface(
        domainxml.parse("<interface type='network'><alias name='ua-x'/></interface>"),
        '52:54:00:00:00:02')
    assert kept.find('alias').get('name') == 'ua-x'
    assert kept.find('mac').get('address') == '52:54:00:00:00:02'


def test_random_mac_is_unicast_qemu_prefix():
    for _ in range(50):
        mac = domainxml.random_mac()
        assert mac.startswith('52:54:00:') and len(mac) == 17


def test_a_source_without_genid_gives_an_incoming_xml_without_one():
    # a vmgenid device the source lacks would not match the migration stream
    source = domainxml.parse(SOURCE)
    source.remove(source.find('genid'))
    tree = domainxml.build_incoming(source, _identity(source), {}, 'tcp:10.0.0.2:49153')
    assert tree.find('genid') is None


def test_the_persistent_xml_keeps_the_clones_genid():
    source, incoming = _incoming()
    final = domainxml.final_interface(domainxml.interfaces(source)[0], '52:54:00:aa:bb:cc')
    tree = domainxml.build_persistent(incoming, [final])
    assert tree.findtext('genid') == 'bbbbbbbb-0000-0000-0000-000000000002'
