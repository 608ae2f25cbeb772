"""Domain XML of a clone: its identity, its incoming form, its final form.

The incoming XML starts the clone's QEMU waiting for the migration stream:
same device models and addresses as the source (the stream requires it),
new name, UUID, VM generation ID and per-domain files, NICs attached to an
isolated backend so that the inherited MACs never reach a real network.
The persistent XML is what the clone boots from later: real NIC backends
with the new MACs, no incoming migration arguments.
"""

import copy
import dataclasses
import os
import random

from lxml import etree

NS_QEMU = 'http://libvirt.org/schemas/domain/qemu/1.0'
INCOMING_FLAG = '-incoming'

# Children of <interface> that describe the guest-visible device and must
# stay identical for the migration stream; everything else is backend.
_NIC_DEVICE_CHILDREN = {'mac', 'model', 'driver', 'address', 'rom', 'mtu', 'boot',
                        'alias', 'acpi'}

# Per-domain host files of character devices.
_CHARDEV_TAGS = ('serial', 'console', 'parallel', 'channel')


def parse(xml):
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml)


def tostring(tree):
    return etree.tostring(tree, encoding='unicode', pretty_print=True)


def random_mac(prefix='52:54:00'):
    """A random locally administered-style MAC in QEMU's usual prefix."""
    return prefix + ''.join(':%02x' % random.randint(0, 255) for _ in range(3))


@dataclasses.dataclass
class Identity:
    """Who the clone is; ``paths`` maps source host paths to clone paths."""

    name: str
    uuid: str
    genid: str = None
    paths: dict = dataclasses.field(default_factory=dict)


def clone_path(path, source_name, source_uuid, identity, directory=None):
    """Where the clone keeps its copy of the per-domain file ``path``.

    The source's UUID or name in the path is replaced by the clone's;
    otherwise the clone's name prefixes the file name.
    """
    head, base = os.path.split(path)
    if directory:
        head = directory
    if source_uuid in path and not directory:
        return path.replace(source_uuid, identity.uuid)
    if source_uuid in base:
        return os.path.join(head, base.replace(source_uuid, identity.uuid))
    if source_name and source_name in base:
        return os.path.join(head, base.replace(source_name, identity.name))
    return os.path.join(head, '%s-%s' % (identity.name, base))


def interfaces(tree):
    return tree.findall('devices/interface')


def chardev_paths(tree):
    """(element, attribute) pairs naming per-domain files of char devices."""
    found = []
    for tag in _CHARDEV_TAGS:
        for dev in tree.iterfind('devices/' + tag):
            src = dev.find('source')
            if src is not None and src.get('path') and dev.get('type') in ('file', 'unix'):
                found.append((src, 'path'))
            log = dev.find('log')
            if log is not None and log.get('file'):
                found.append((log, 'file'))
    return found


def _is_libvirt_managed_channel(path):
    return '/channel/target/' in path


def isolated_interface(iface):
    """The incoming form of an inherited NIC: same device, no network."""
    new = etree.Element('interface', type='ethernet')
    for child in iface:
        if child.tag in _NIC_DEVICE_CHILDREN:
            new.append(copy.deepcopy(child))
    return new


def final_interface(iface, mac, model=None):
    """The clone's own NIC: the source's backend, a new MAC, maybe a new model."""
    new = copy.deepcopy(iface)
    for child in list(new):
        if child.tag == 'target' or (child.tag == 'alias'
                                     and not child.get('name', '').startswith('ua-')):
            new.remove(child)
    mac_el = new.find('mac')
    if mac_el is None:
        mac_el = etree.SubElement(new, 'mac')
    mac_el.attrib.clear()
    mac_el.set('address', mac)
    if model:
        model_el = new.find('model')
        if model_el is None:
            model_el = etree.SubElement(new, 'model')
        model_el.set('type', model)
        driver = new.find('driver')
        if driver is not None and model != 'virtio':
            new.remove(driver)  # virtio-only tuning would be refused
    return new


def _set_text(tree, tag, text):
    el = tree.find(tag)
    if el is None:
        el = etree.SubElement(tree, tag)
    el.text = text


def disk_files(tree: etree._Element) -> list:
    """(device, path) of each file-backed <disk> of ``tree``: its device
    ('disk', 'cdrom' or 'floppy') and the file it reads."""
    found = []
    for disk in tree.iterfind('devices/disk'):
        source = disk.find('source')
        if disk.get('type') == 'file' and source is not None and source.get('file'):
            found.append((disk.get('device', 'disk'), source.get('file')))
    return found


def build_incoming(source_tree, identity, disk_paths, incoming_uri, metadata_xml=None,
                   own_files: dict = None):
    """The clone's incoming domain XML (a new tree).

    ``incoming_uri`` (e.g. ``tcp:127.0.0.1:49152``) is where the clone's
    QEMU listens for the migration stream from its start: a port that is
    taken makes the start fail at once, and nothing has to be undone.

    ``disk_paths`` maps each copied disk's target dev to its clone path.
    ``metadata_xml`` (an element string of the engine's namespace) replaces
    the element of the same namespace in <metadata>.  ``own_files`` maps
    paths of the source's <os> kernel/initrd/dtb and of its other disks
    (removable media, a config drive) to the clone's own files.
    """
    source_uuid = source_tree.findtext('uuid')
    tree = copy.deepcopy(source_tree)
    tree.attrib.pop('id', None)
    _set_text(tree, 'name', identity.name)
    _set_text(tree, 'uuid', identity.uuid)
    if tree.find('genid') is not None and identity.genid:
        tree.find('genid').text = identity.genid
    for entry in tree.iterfind('sysinfo/system/entry'):
        if entry.text == source_uuid:
            entry.text = identity.uuid

    own_files = own_files or {}
    for tag in ('kernel', 'initrd', 'dtb'):
        el = tree.find('os/' + tag)
        if el is not None and el.text in own_files:
            el.text = own_files[el.text]

    for disk in tree.iterfind('devices/disk'):
        dev = disk.find('target').get('dev')
        source = disk.find('source')
        if dev in disk_paths:
            source.set('file', disk_paths[dev])
        elif source is not None and source.get('file') in own_files:
            source.set('file', own_files[source.get('file')])
        else:
            continue
        backing = disk.find('backingStore')   # the source file's chain
        if backing is not None:
            disk.remove(backing)

    for el, attr in chardev_paths(tree):
        path = el.get(attr)
        if attr == 'path' and _is_libvirt_managed_channel(path):
            del el.attrib[attr]  # libvirt makes a fresh one
        else:
            el.set(attr, identity.paths[path])

    for graphics in tree.iterfind('devices/graphics'):
        if graphics.get('port') not in (None, '-1') and graphics.get('autoport') != 'yes':
            graphics.set('autoport', 'yes')
        for attr in ('port', 'tlsPort', 'websocket'):
            graphics.attrib.pop(attr, None)

    devices = tree.find('devices')
    for iface in interfaces(tree):
        devices.replace(iface, isolated_interface(iface))

    cmdline = tree.find('{%s}commandline' % NS_QEMU)
    if cmdline is None:
        cmdline = etree.SubElement(tree, '{%s}commandline' % NS_QEMU, nsmap={'qemu': NS_QEMU})
    for value in (INCOMING_FLAG, incoming_uri):
        etree.SubElement(cmdline, '{%s}arg' % NS_QEMU, value=value)

    if metadata_xml is not None:
        set_metadata(tree, metadata_xml)
    return tree


def set_metadata(tree, metadata_xml):
    """Put ``metadata_xml`` into <metadata>, replacing its namespace's element."""
    element = etree.fromstring(metadata_xml)
    metadata = tree.find('metadata')
    if metadata is None:
        metadata = etree.Element('metadata')
        tree.insert(list(tree).index(tree.find('uuid')) + 1, metadata)
    ns = etree.QName(element).namespace
    for old in list(metadata):
        if isinstance(old.tag, str) and etree.QName(old).namespace == ns:
            metadata.remove(old)
    metadata.append(element)


def _incoming_args(tree):
    """The trailing ``-incoming URI`` pair that :func:`build_incoming`
    added to <qemu:commandline>, or ()."""
    cmdline = tree.find('{%s}commandline' % NS_QEMU)
    args = cmdline.findall('{%s}arg' % NS_QEMU) if cmdline is not None else []
    if len(args) >= 2 and args[-2].get('value') == INCOMING_FLAG:
        return tuple(args[-2:])
    return ()


def strip_incoming(tree: etree._Element) -> etree._Element:
    """Remove, in place, the incoming migration arguments that
    :func:`build_incoming` added (and the then empty <qemu:commandline>):
    a running clone's live XML keeps them, and a domain started from it
    (a later live migration's destination) must not."""
    args = _incoming_args(tree)
    if args:
        cmdline = args[0].getparent()
        for arg in args:
            cmdline.remove(arg)
        if len(cmdline) == 0:
            tree.remove(cmdline)
    return tree


def without_incoming(xml: str) -> str:
    """``xml`` without the clone's incoming migration arguments (``xml``
    itself where it has none)."""
    tree = parse(xml)
    return tostring(strip_incoming(tree)) if _incoming_args(tree) else xml


def build_persistent(incoming_tree, final_interfaces, metadata_xml=None):
    """The clone's persistent XML from its incoming XML and final NICs."""
    tree = strip_incoming(copy.deepcopy(incoming_tree))
    devices = tree.find('devices')
    for old, new in zip(interfaces(tree), final_interfaces):
        devices.replace(old, copy.deepcopy(new))
    if metadata_xml is not None:
        set_metadata(tree, metadata_xml)
    return tree
