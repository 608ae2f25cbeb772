"""libvirt's side of the fake: what libvirtd does for the clone engine.

:class:`LibvirtSemantics` holds the methods that
:class:`~tests.functional.fake_qemu.FakeQemuFixture` (which mixes it in)
installs on Nova's fake ``Connection`` and ``Domain`` classes as
``_conn_<name>`` and ``_dom_<name>``: domain XML as libvirt keeps it (the
definition, plus aliases, ``vnetN`` targets and backing chains while
running), transient and persistent domains, start with ``-incoming``
from ``<qemu:commandline>``, state changes from QEMU's STOP/RESUME events,
lifecycle and device-removed events, hot (un)plug, metadata, block info,
and ``dir`` storage pools over an in-memory file table per host.  Error
codes are the fake module's, messages libvirt's.
"""

import collections
import copy
import itertools
import os
import uuid as uuidlib

from lxml import etree
from nova.tests.fixtures import libvirt as fakelibvirt

from tests.functional import fake_qmp

NS_QEMU = 'http://libvirt.org/schemas/domain/qemu/1.0'
EXTRA_CONSTANTS = {
    'VIR_ERR_NO_DOMAIN_METADATA': 80, 'VIR_ERR_NO_STORAGE_POOL': 49,
    'VIR_ERR_NO_STORAGE_VOL': 50, 'VIR_ERR_STORAGE_VOL_EXIST': 90, 'VIR_FROM_STORAGE': 18,
    'VIR_DOMAIN_PMSUSPENDED': 7, 'VIR_DOMAIN_EVENT_CRASHED': 8,
    'VIR_DOMAIN_EVENT_STOPPED_DESTROYED': 1, 'VIR_DOMAIN_EVENT_STOPPED_FAILED': 5}
DOMAIN_METHODS = ('__init__', 'XMLDesc', 'state', 'isActive', 'isPersistent', 'createWithFlags',
                  'destroy', 'undefine', 'undefineFlags', 'suspend', 'resume',
                  'attachDeviceFlags', 'detachDeviceFlags', 'metadata', 'setMetadata',
                  'blockInfo')
CONNECTION_METHODS = ('__init__', 'createXML', 'defineXML', 'lookupByName', 'listAllDomains',
                      'getURI', 'isAlive', 'close', 'domainEventRegisterAny',
                      'domainEventDeregisterAny', '_emit_lifecycle', '_mark_not_running',
                      'storagePoolLookupByTargetPath', 'storagePoolDefineXML',
                      'storagePoolLookupByName', 'listAllStoragePools')
LIFECYCLE, REMOVED = 0, 15   # VIR_DOMAIN_EVENT_ID_*
DEFINED, UNDEFINED, SUSPENDED, RESUMED, STOPPED = 0, 1, 3, 4, 5
_ALIAS = {'interface': 'net%d', 'serial': 'serial%d', 'console': 'console%d',
          'channel': 'channel%d', 'parallel': 'parallel%d', 'input': 'input%d',
          'video': 'video%d', 'sound': 'sound%d', 'rng': 'rng%d', 'hostdev': 'hostdev%d',
          'watchdog': 'watchdog%d', 'memballoon': 'balloon%d', 'tpm': 'tpm%d'}
_DISK_ALIAS = {'virtio': 'virtio-disk%d', 'sata': 'sata0-0-%d', 'ide': 'ide0-0-%d',
               'scsi': 'scsi0-0-0-%d', 'usb': 'usb-disk%d', 'fdc': 'fdc0-0-%d'}


def _err(msg, code, domain=None):
    return fakelibvirt.make_libvirtError(
        fakelibvirt.libvirtError, msg, error_code=code,
        error_domain=domain or fakelibvirt.VIR_FROM_QEMU, error_message=msg)


def _not_running():
    return _err('Requested operation is not valid: domain is not running',
                fakelibvirt.VIR_ERR_OPERATION_INVALID)


def _method(fn):
    return lambda obj, *args, **kwargs: fn(obj, *args, **kwargs)


def _ns(element):
    return etree.QName(element).namespace if isinstance(element.tag, str) else None


class _Host:
    """What one fake libvirtd knows besides domains: files, pools, callbacks."""

    def __init__(self, conn):
        self.conn = conn
        self.images = {}               # path -> fake_qmp.Image
        self.dirs = {'/'}
        self.pools = {}
        self.callbacks = []            # (id, via connection, kind, uuid, name, cb, opaque)
        self.vnet = itertools.count()
        self.machines = None

    def mkdir(self, path):
        while path not in self.dirs:
            self.dirs.add(path)
            path = os.path.dirname(path)


class _Dom:
    def __init__(self, config):
        self.config, self.live, self.qemu, self.reason = config, None, None, 0


class _Vol:
    def __init__(self, host, path):
        self._host, self._path = host, path

    def name(self):
        return os.path.basename(self._path)

    def path(self):
        return self._path

    key = path

    def _image(self):
        if self._path not in self._host.images:
            raise _err('Storage volume not found: no storage vol with matching path %s'
                       % self._path, fakelibvirt.VIR_ERR_NO_STORAGE_VOL, 18)
        return self._host.images[self._path]

    def info(self):
        image = self._image()
        return [0, image.capacity, len(image.data) * 512]

    def XMLDesc(self, flags=0):
        image = self._image()
        vol = etree.Element('volume', type='file')
        etree.SubElement(vol, 'name').text = self.name()
        etree.SubElement(vol, 'key').text = self._path
        etree.SubElement(vol, 'capacity', unit='bytes').text = str(image.capacity)
        etree.SubElement(vol, 'allocation', unit='bytes').text = str(len(image.data) * 512)
        target = etree.SubElement(vol, 'target')
        etree.SubElement(target, 'path').text = self._path
        etree.SubElement(target, 'format', type=image.fmt)
        if image.backing:
            backing = etree.SubElement(vol, 'backingStore')
            etree.SubElement(backing, 'path').text = image.backing
            etree.SubElement(backing, 'format', type=image.backing_fmt or 'raw')
        return etree.tostring(vol, encoding='unicode')

    def delete(self, flags=0):
        self._image()
        del self._host.images[self._path]
        return 0


class _Pool:
    """A libvirt ``dir`` storage pool over a directory of a fake host."""

    def __init__(self, host, name, path):
        self._host, self._name, self.path, self.active = host, name, path, False

    def name(self):
        return self._name

    def isActive(self):
        return int(self.active)

    def _need_active(self):
        if not self.active:
            raise _err("Requested operation is not valid: storage pool '%s' is not active"
                       % self._name, fakelibvirt.VIR_ERR_OPERATION_INVALID, 18)

    def build(self, flags=0):
        self._host.mkdir(self.path)
        return 0

    def create(self, flags=0):
        if self.path not in self._host.dirs:
            raise _err("cannot open directory '%s': No such file or directory" % self.path,
                       fakelibvirt.VIR_ERR_SYSTEM_ERROR, 18)
        self.active = True
        return 0

    def refresh(self, flags=0):
        self._need_active()
        return 0

    def destroy(self):
        self._need_active()
        self.active = False
        return 0

    def undefine(self):
        if self.active:
            raise _err("Requested operation is not valid: storage pool '%s' is still active"
                       % self._name, fakelibvirt.VIR_ERR_OPERATION_INVALID, 18)
        self._host.pools.pop(self._name, None)
        return 0

    def listAllVolumes(self, flags=0):
        self._need_active()
        return [_Vol(self._host, p) for p in self._host.images
                if os.path.dirname(p) == self.path]

    def storageVolLookupByName(self, name):
        self._need_active()
        path = os.path.join(self.path, name)
        if path not in self._host.images:
            raise _err("Storage volume not found: no storage vol with matching name '%s'"
                       % name, fakelibvirt.VIR_ERR_NO_STORAGE_VOL, 18)
        return _Vol(self._host, path)

    def createXML(self, xml, flags=0):
        self._need_active()
        tree = etree.fromstring(xml)
        name, images = tree.findtext('name'), self._host.images
        path = os.path.join(self.path, name)
        if path in images:
            raise _err("storage volume name '%s' already in use." % name,
                       fakelibvirt.VIR_ERR_STORAGE_VOL_EXIST, 18)
        capacity = tree.find('capacity')
        scale = {'KiB': 1024, 'K': 1024, 'MiB': 1 << 20, 'M': 1 << 20, 'GiB': 1 << 30,
                 'G': 1 << 30}.get(capacity.get('unit'), 1)
        fmt = tree.find('target/format')
        fmt = fmt.get('type') if fmt is not None else 'raw'
        backing, backing_fmt = tree.findtext('backingStore/path'), None
        if backing:
            if fmt == 'raw':
                raise _err('backing storage not supported for raw volumes',
                           fakelibvirt.VIR_ERR_NO_SUPPORT, 18)
            if backing not in images:
                raise _err("internal error: qemu-img: %s: Could not open '%s': No such file "
                           "or directory" % (path, backing), fakelibvirt.VIR_ERR_INTERNAL_ERROR,
                           18)
            backing_fmt = tree.find('backingStore/format').get('type')
        images[path] = fake_qmp.Image(int(capacity.text) * scale, fmt, backing, backing_fmt)
        return _Vol(self._host, path)


def _assign_aliases(devices):
    """libvirt's device aliases, for the devices that have none."""
    used = {a.get('name') for a in devices.iter('alias')}
    counters = collections.Counter()
    for dev in devices:
        if not isinstance(dev.tag, str) or dev.find('alias') is not None:
            continue
        if dev.tag == 'disk':
            target = dev.find('target')
            pattern = _DISK_ALIAS.get(target.get('bus') if target is not None else None,
                                      'disk%d')
        elif dev.tag == 'controller':
            pattern = dev.get('type', 'controller') + '%d'
        elif dev.tag == 'memballoon' and dev.get('model') == 'none':
            continue
        else:
            pattern = _ALIAS.get(dev.tag)
        if pattern is None:
            continue
        while pattern % counters[pattern] in used:
            counters[pattern] += 1
        used.add(pattern % counters[pattern])
        etree.SubElement(dev, 'alias', name=pattern % counters[pattern])


def _find_device(tree, wanted):
    for device in tree.iterfind('devices/' + wanted.tag):
        if wanted.tag == 'interface':
            if device.find('mac').get('address').lower() == \
                    wanted.find('mac').get('address').lower():
                return device
        elif wanted.tag == 'disk':
            if device.find('target').get('dev') == wanted.find('target').get('dev'):
                return device
        elif wanted.find('alias') is None or wanted.find('alias').get('name') == \
                (device.find('alias').get('name') if device.find('alias') is not None else None):
            return device
    return None


def _qualify(source, uri, key, parent, nsmap=None):
    """Copy ``source`` under ``parent``, unqualified elements into ``uri``."""
    tag = source.tag if _ns(source) else '{%s}%s' % (uri, source.tag)
    element = etree.SubElement(parent, tag, attrib=dict(source.attrib), nsmap=nsmap)
    element.text, element.tail = source.text, source.tail
    for child in source:
        if isinstance(child.tag, str):
            _qualify(child, uri, key, element)


class LibvirtSemantics:
    """The fake libvirtd; mixed into the fixture, which provides ``env``
    (fake_qmp.Env), ``_doms``, ``_host()``, ``_queue_event()``,
    ``_register()``/``_deregister()``, ``_orig`` (the fake's own methods),
    ``strict_files``, ``default_capacity`` and ``unplug_ignored``."""

    def _set_state(self, dom, state, event, reason=0):
        dom._state, self._dom(dom).reason = state, reason
        dom._connection._emit_lifecycle(dom, event, 0)

    def _dom(self, dom):
        if dom not in self._doms:   # made before this fixture
            self._doms[dom] = _Dom(etree.fromstring(self._orig['XMLDesc'](dom, 0)))
        return self._doms[dom]

    def _check(self, dom):
        if dom._connection._vms.get(dom.name()) is not dom:
            raise _err("Domain not found: no domain with matching uuid '%s' (%s)"
                       % (dom.UUIDString(), dom.name()), fakelibvirt.VIR_ERR_NO_DOMAIN)

    @staticmethod
    def _active(dom):
        return dom._state in (fakelibvirt.VIR_DOMAIN_RUNNING, fakelibvirt.VIR_DOMAIN_BLOCKED,
                              fakelibvirt.VIR_DOMAIN_PAUSED, 7)

    def _normalize(self, conn, tree, dom):
        """What libvirt makes of a definition (user aliases only, a genid...)."""
        tree.attrib.pop('id', None)
        for alias in tree.iterfind('devices/*/alias'):
            if not alias.get('name', '').startswith('ua-'):
                alias.getparent().remove(alias)
        if tree.find('uuid') is None:
            etree.SubElement(tree, 'uuid').text = dom.UUIDString()
        genid = tree.find('genid')
        if genid is not None and not (genid.text or '').strip():
            genid.text = str(uuidlib.uuid4())
        os_type = tree.find('os/type')
        if os_type is not None:
            os_type.set('arch', os_type.get('arch') or conn.host_info.arch)
            names, default = self._machines(conn, os_type.get('arch'))
            machine = os_type.get('machine') or default
            if machine:
                os_type.set('machine', names.get(machine, machine))
        metadata, seen = tree.find('metadata'), set()
        for child in list(metadata if metadata is not None else ()):
            if _ns(child) is None or _ns(child) in seen:
                metadata.remove(child)
            seen.add(_ns(child))
        return tree

    def _machines(self, conn, arch):
        host = self._host(conn)
        if host.machines is None:
            host.machines = {}
            try:
                caps = etree.fromstring(conn.getCapabilities())
            except Exception:  # the fake's capabilities depend on os.uname
                caps = etree.Element('capabilities')
            for arch_el in caps.iterfind('guest/arch'):
                names = {m.text: m.get('canonical') or m.text for m in arch_el.iter('machine')}
                defaults = [m.get('canonical') for m in arch_el.iter('machine')
                            if m.get('canonical')]
                host.machines[arch_el.get('name')] = (names, defaults[0] if defaults else None)
        return host.machines.get(arch, ({}, None))

    def _live_tree(self, dom, host):
        tree = copy.deepcopy(self._dom(dom).config)
        if dom._id < 0:
            dom._id = dom._connection._id_counter
        tree.set('id', str(dom._id))
        devices = tree.find('devices')
        if devices is None:
            return tree
        _assign_aliases(devices)
        for iface in devices.iterfind('interface'):
            if iface.find('target') is None:
                etree.SubElement(iface, 'target', dev='vnet%d' % next(host.vnet))
        for disk in devices.iterfind('disk'):
            source, node = disk.find('source'), disk
            path = source.get('file') if source is not None else None
            if disk.find('backingStore') is not None or path not in host.images:
                continue
            while host.images.get(path) is not None and host.images[path].backing:
                image, path = host.images[path], host.images[path].backing
                node = etree.SubElement(node, 'backingStore', type='file')
                etree.SubElement(node, 'format', type=image.backing_fmt or 'raw')
                etree.SubElement(node, 'source', file=path)
            etree.SubElement(node, 'backingStore')
        return tree

    def _dom___init__(self, dom, connection, xml, running=False, transient=False):
        self._orig['__init__'](dom, connection, xml, running=running, transient=transient)
        self._doms[dom] = _Dom(self._normalize(connection, etree.fromstring(xml), dom))

    def _dom_XMLDesc(self, dom, flags=0):
        with self.env.lock:
            self._check(dom)
            st = self._dom(dom)
            tree = st.config
            if st.live is not None and not flags & fakelibvirt.VIR_DOMAIN_XML_INACTIVE:
                tree = st.live
                if flags & fakelibvirt.VIR_DOMAIN_XML_MIGRATABLE:
                    tree = copy.deepcopy(tree)
                    for target in tree.iterfind('devices/interface/target'):
                        if target.get('dev', '').startswith('vnet'):
                            target.getparent().remove(target)
            return etree.tostring(tree, encoding='unicode', pretty_print=True)

    def _dom_state(self, dom, flags=0):
        self._check(dom)
        return [dom._state, self._dom(dom).reason]

    def _dom_isActive(self, dom):
        self._check(dom)
        return int(self._active(dom))

    def _dom_isPersistent(self, dom):
        self._check(dom)
        return int(not dom._transient)

    def _dom_createWithFlags(self, dom, flags=0):
        self._check(dom)
        if self._active(dom):
            raise _err('Requested operation is not valid: domain is already running',
                       fakelibvirt.VIR_ERR_OPERATION_INVALID)
        self._launch(dom, flags)
        return 0

    def _launch(self, dom, flags):
        """Start the domain's QEMU (-S), then let libvirt run or pause it."""
        with self.env.lock:
            st, host = self._dom(dom), self._host(dom._connection)
            self._open_files(host, st.config)
            live = self._live_tree(dom, host)
            qemu = fake_qmp.Qemu(self.env, dom.name(), dom._connection.hostname, live,
                                 host.images, dom)
            args = [a.get('value') for a in live.iterfind('{%s}commandline/{%s}arg'
                                                          % (NS_QEMU, NS_QEMU))]
            if '-incoming' in args[:-1]:
                uri = args[args.index('-incoming') + 1]
                try:
                    qemu.listen_incoming(uri)
                except fake_qmp.QmpError as e:
                    raise _err("internal error: QEMU unexpectedly closed the monitor (vm='%s'): "
                               'qemu-system-x86_64: -incoming %s: %s' % (dom.name(), uri, e.desc),
                               fakelibvirt.VIR_ERR_INTERNAL_ERROR)
            st.live, st.qemu = live, qemu
            try:
                self._orig['createWithFlags'](dom, 0)   # running, STARTED
            except Exception:
                qemu.terminate()
                st.live = st.qemu = None
                raise
            if flags & fakelibvirt.VIR_DOMAIN_START_PAUSED:
                self._set_state(dom, fakelibvirt.VIR_DOMAIN_PAUSED, SUSPENDED, 1)
            else:
                qemu.boot()
                st.reason = 1

    def _open_files(self, host, tree):
        """What QEMU opens: disks (must exist, unless not strict), char files."""
        for disk in tree.iterfind('devices/disk'):
            source = disk.find('source')
            path = source.get('file') if source is not None else None
            if disk.get('type', 'file') != 'file' or not path or path in host.images:
                continue
            if self.strict_files:
                raise _err("Cannot access storage file '%s': No such file or directory"
                           % path, fakelibvirt.VIR_ERR_SYSTEM_ERROR)
            host.mkdir(os.path.dirname(path))
            fmt = disk.find('driver').get('type', 'raw') if disk.find('driver') is not None \
                else 'raw'
            host.images[path] = fake_qmp.Image(self.default_capacity, fmt)
        for tag in ('serial', 'console', 'parallel', 'channel'):
            for dev in tree.iterfind('devices/' + tag):
                paths = [dev.find('log').get('file')] if dev.find('log') is not None else []
                if dev.get('type') == 'file' and dev.find('source') is not None:
                    paths.append(dev.find('source').get('path'))
                for path in filter(None, paths):
                    if os.path.dirname(path) not in host.dirs:
                        if self.strict_files:
                            raise _err("internal error: process exited while connecting to "
                                       "monitor: Could not open '%s': No such file or "
                                       "directory" % path, fakelibvirt.VIR_ERR_INTERNAL_ERROR)
                        host.mkdir(os.path.dirname(path))
                    host.images.setdefault(path, fake_qmp.Image(0, 'raw'))

    def _stop(self, dom, detail):
        with self.env.lock:
            st, conn = self._dom(dom), dom._connection
            if st.qemu is not None:
                st.qemu.terminate()
            st.qemu = st.live = None
            dom._state, st.reason, dom._id = fakelibvirt.VIR_DOMAIN_SHUTOFF, detail, -1
            for key, value in list(conn._running_vms.items()):
                if value is dom:
                    del conn._running_vms[key]
            if dom._transient and conn._vms.get(dom.name()) is dom:
                del conn._vms[dom.name()]
            conn._emit_lifecycle(dom, STOPPED, detail)

    def _dom_destroy(self, dom):
        self._check(dom)
        if not self._active(dom):
            raise _not_running()
        self._stop(dom, fakelibvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
        return 0

    def _dom_undefineFlags(self, dom, flags=0):
        with self.env.lock:
            self._check(dom)
            if self._active(dom):
                dom._transient = True
            else:
                del dom._connection._vms[dom.name()]
            if flags & fakelibvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                dom._has_saved_state = False
            dom._connection._emit_lifecycle(dom, UNDEFINED, 0)
        return 0

    def _dom_undefine(self, dom):
        return self._dom_undefineFlags(dom, 0)

    def _qmp(self, dom, command):
        reply = self._dom(dom).qemu.execute(command, {})
        if 'error' in reply:
            raise _err("internal error: unable to execute QEMU command '%s': %s"
                       % (command, reply['error']['desc']), fakelibvirt.VIR_ERR_INTERNAL_ERROR)

    def _dom_suspend(self, dom):
        self._check(dom)
        if not self._active(dom):
            raise _not_running()
        if self._dom(dom).qemu is None:
            return self._orig['suspend'](dom)
        self._qmp(dom, 'stop')
        return 0

    def _dom_resume(self, dom):
        with self.env.lock:
            self._check(dom)
            if not self._active(dom):
                raise _not_running()
            if self._dom(dom).qemu is None:
                return self._orig['resume'](dom)
            if dom._state == fakelibvirt.VIR_DOMAIN_PAUSED:
                self._qmp(dom, 'cont')
                if dom._state == fakelibvirt.VIR_DOMAIN_PAUSED:   # inmigrate: autostart
                    self._set_state(dom, fakelibvirt.VIR_DOMAIN_RUNNING, RESUMED)
        return 0

    def _affect(self, dom, flags):
        both = fakelibvirt.VIR_DOMAIN_AFFECT_LIVE | fakelibvirt.VIR_DOMAIN_AFFECT_CONFIG
        live = bool(flags & fakelibvirt.VIR_DOMAIN_AFFECT_LIVE) or (
            not flags & both and self._active(dom))
        config = bool(flags & fakelibvirt.VIR_DOMAIN_AFFECT_CONFIG) or (
            not flags & both and not self._active(dom))
        if live and not self._active(dom):
            raise _not_running()
        if config and dom._transient:
            raise _err('Requested operation is not valid: transient domains do not have any '
                       'persistent config', fakelibvirt.VIR_ERR_OPERATION_INVALID)
        st = self._dom(dom)
        return [t for t, on in ((st.live, live), (st.config, config)) if on]

    def _dom_attachDeviceFlags(self, dom, xml, flags=0):
        with self.env.lock:
            self._check(dom)
            trees = self._affect(dom, flags)
            self._orig['attachDevice'](dom, xml)   # the fake's own device lists
            for tree in trees:
                device = etree.fromstring(xml)
                for alias in device.iterfind('alias'):
                    if not alias.get('name', '').startswith('ua-'):
                        device.remove(alias)
                tree.find('devices').append(device)
                if tree is self._dom(dom).live:
                    _assign_aliases(tree.find('devices'))
                    if device.tag == 'interface' and device.find('target') is None:
                        etree.SubElement(device, 'target', dev='vnet%d'
                                         % next(self._host(dom._connection).vnet))
        return 0

    def _dom_detachDeviceFlags(self, dom, xml, flags=0):
        with self.env.lock:
            self._check(dom)
            st, trees = self._dom(dom), self._affect(dom, flags)
            wanted = etree.fromstring(xml)
            found = [(tree, _find_device(tree, wanted)) for tree in trees]
            if any(device is None for _, device in found):
                mac = wanted.find('mac')
                raise _err('operation failed: no device matching %s found' % (
                    'MAC address %s' % mac.get('address') if mac is not None else wanted.tag),
                    fakelibvirt.VIR_ERR_OPERATION_FAILED)
            self._orig['detachDevice'](dom, xml)
            for tree, device in found:
                if tree is not st.live:
                    tree.find('devices').remove(device)
                elif dom.name() not in self.unplug_ignored:   # the guest acknowledges
                    alias = device.find('alias').get('name')
                    tree.find('devices').remove(device)
                    st.qemu.emit('DEVICE_DELETED', {'device': alias,
                                                    'path': '/machine/peripheral/' + alias})
                    self._queue_event(dom._connection, REMOVED, dom, alias)
        return 0

    def _metadata_tree(self, dom, flags):
        st = self._dom(dom)
        if flags & fakelibvirt.VIR_DOMAIN_AFFECT_CONFIG or st.live is None:
            if flags & fakelibvirt.VIR_DOMAIN_AFFECT_LIVE:
                raise _not_running()
            return st.config
        return st.live

    def _dom_metadata(self, dom, kind, uri, flags=0):
        """virDomainGetMetadata: an element comes back without its namespace."""
        self._check(dom)
        tree = self._metadata_tree(dom, flags)
        if kind != fakelibvirt.VIR_DOMAIN_METADATA_ELEMENT:
            text = tree.findtext('title' if kind == fakelibvirt.VIR_DOMAIN_METADATA_TITLE
                                 else 'description')
            if text is None:
                raise _err('metadata not found: Requested metadata element is not present',
                           fakelibvirt.VIR_ERR_NO_DOMAIN_METADATA)
            return text
        for element in tree.iterfind('metadata/*'):
            if _ns(element) == uri:
                element = copy.deepcopy(element)
                for e in element.iter():
                    if _ns(e) == uri:
                        e.tag = etree.QName(e).localname
                etree.cleanup_namespaces(element)
                return etree.tostring(element, encoding='unicode')
        raise _err('metadata not found: Requested metadata element is not present',
                   fakelibvirt.VIR_ERR_NO_DOMAIN_METADATA)

    def _dom_setMetadata(self, dom, kind, metadata, key, uri, flags=0):
        """virDomainSetMetadata: unqualified elements get ``uri`` as ``key:``."""
        with self.env.lock:
            self._check(dom)
            for tree in self._affect(dom, flags):
                if kind != fakelibvirt.VIR_DOMAIN_METADATA_ELEMENT:
                    tag = ('title' if kind == fakelibvirt.VIR_DOMAIN_METADATA_TITLE
                           else 'description')
                    element = tree.find(tag)
                    if element is None:
                        element = etree.SubElement(tree, tag)
                    element.text = metadata
                    continue
                parent = tree.find('metadata')
                if parent is None:
                    parent = etree.Element('metadata')
                    tree.insert(list(tree).index(tree.find('uuid')) + 1, parent)
                for old in list(parent):
                    if _ns(old) == uri:
                        parent.remove(old)
                if metadata:
                    _qualify(etree.fromstring(metadata), uri, key, parent, {key: uri})
        return 0

    def _dom_blockInfo(self, dom, path, flags=0):
        self._check(dom)
        st, images = self._dom(dom), self._host(dom._connection).images
        for disk in (st.live if st.live is not None else st.config).iterfind('devices/disk'):
            source = disk.find('source')
            file = source.get('file') if source is not None else None
            if path in (disk.find('target').get('dev'), file) and file in images:
                image = images[file]
                return [image.capacity, len(image.data) * 512, image.capacity]
        raise _err('invalid argument: invalid path %s not assigned to domain' % path,
                   fakelibvirt.VIR_ERR_INVALID_ARG)

    def _conn___init__(self, conn, *args, **kwargs):
        self._orig['conn___init__'](conn, *args, **kwargs)
        if kwargs.get('hostname') or len(args) > 4 and args[4]:
            self.add_host(conn, upgrade=False)

    def _conn_createXML(self, conn, xml, flags=0):
        with self.env.lock:
            tree = etree.fromstring(xml)
            name, uuid = tree.findtext('name'), tree.findtext('uuid')
            self._check_identity(conn, name, uuid)
            existing = conn._vms.get(name)
            if existing is not None and self._active(existing):
                raise _err("Requested operation is not valid: domain '%s' is already active"
                           % name, fakelibvirt.VIR_ERR_OPERATION_INVALID)
            dom = fakelibvirt.Domain(connection=conn, xml=xml, running=False,
                                     transient=existing is None)
            conn._vms[name] = dom
            try:
                self._launch(dom, flags)
            except Exception:
                if existing is not None:
                    conn._vms[name] = existing
                else:
                    del conn._vms[name]
                raise
            return dom

    @staticmethod
    def _check_identity(conn, name, uuid):
        for other in conn._vms.values():
            if (other.name() == name) != (other.UUIDString() == uuid) and uuid:
                raise _err("operation failed: domain '%s' already exists with uuid %s"
                           % (other.name(), other.UUIDString()),
                           fakelibvirt.VIR_ERR_OPERATION_FAILED)

    def _conn_defineXML(self, conn, xml):
        with self.env.lock:
            tree = etree.fromstring(xml)
            name, uuid = tree.findtext('name'), tree.findtext('uuid')
            self._check_identity(conn, name, uuid)
            dom = conn._vms.get(name)
            if dom is None:
                dom = fakelibvirt.Domain(connection=conn, xml=xml, running=False,
                                         transient=False)
                conn._vms[name] = dom
                conn._emit_lifecycle(dom, DEFINED, 0)
                return dom
            self._dom(dom).config = self._normalize(conn, tree, dom)
            if not self._active(dom):
                dom._def = dom._parse_definition(xml)
            dom._transient = False
            conn._emit_lifecycle(dom, DEFINED, 1)
            return dom

    def _conn_lookupByName(self, conn, name):
        if name not in conn._vms:
            raise _err("Domain not found: no domain with matching name '%s'" % name,
                       fakelibvirt.VIR_ERR_NO_DOMAIN)
        return conn._vms[name]

    def _conn_listAllDomains(self, conn, flags=0):
        if not flags:
            return list(conn._vms.values())
        return self._orig['conn_listAllDomains'](conn, flags)

    def _conn_getURI(self, conn):
        return conn._uri

    def _conn_isAlive(self, conn):
        return 1

    def _conn_close(self, conn):
        return 0   # a host's own connection stays usable (Nova shares it)

    def _conn_domainEventRegisterAny(self, conn, dom, event_id, cb, opaque):
        conn._event_callbacks[event_id] = [cb, opaque]
        return self._register(conn, event_id, dom, None, cb, opaque)

    def _conn_domainEventDeregisterAny(self, conn, callback_id):
        return self._deregister(conn, callback_id)

    def _conn__emit_lifecycle(self, conn, dom, event, detail):
        self._queue_event(conn, LIFECYCLE, dom, event, detail)

    def _conn__mark_not_running(self, conn, dom):
        with self.env.lock:
            st = self._doms.get(dom)
            if st is not None and st.qemu is not None:
                st.qemu.terminate()
                st.qemu = st.live = None
            self._orig['conn__mark_not_running'](conn, dom)

    def _conn_storagePoolLookupByTargetPath(self, conn, path):
        for pool in self._host(conn).pools.values():
            if pool.path == os.path.normpath(path):
                return pool
        raise _err("Storage pool not found: no storage pool with matching target path '%s'"
                   % path, fakelibvirt.VIR_ERR_NO_STORAGE_POOL, 18)

    def _conn_storagePoolLookupByName(self, conn, name):
        if name not in self._host(conn).pools:
            raise _err("Storage pool not found: no storage pool with matching name '%s'"
                       % name, fakelibvirt.VIR_ERR_NO_STORAGE_POOL, 18)
        return self._host(conn).pools[name]

    def _conn_storagePoolDefineXML(self, conn, xml, flags=0):
        tree, host = etree.fromstring(xml), self._host(conn)
        name, path = tree.findtext('name'), os.path.normpath(tree.findtext('target/path'))
        if tree.get('type') != 'dir':
            raise _err('fake libvirt models dir pools only', fakelibvirt.VIR_ERR_NO_SUPPORT)
        for pool in host.pools.values():
            if pool.name() == name or pool.path == path:
                raise _err("operation failed: Storage source conflict with pool: '%s'"
                           % pool.name(), fakelibvirt.VIR_ERR_OPERATION_FAILED, 18)
        host.pools[name] = _Pool(host, name, path)
        return host.pools[name]

    def _conn_listAllStoragePools(self, conn, flags=0):
        return list(self._host(conn).pools.values())
