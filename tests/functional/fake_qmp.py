"""A fake QEMU process: the QMP commands and events the clone engine uses.

One :class:`Qemu` per running fake domain models run states, pre-copy
migration over a fake network shared by all fake hosts (with
``pause-before-switchover``), the NBD server and its exports (in I/O
threads of ``object-add``), image and NBD client nodes, ``blockdev-mirror``
jobs and ``yank``.  Guest memory and disk
contents are small dicts, so that a test can check that a clone got its
source's state.  All QEMUs of one fixture share one lock (``Env.lock``);
migrations and mirror jobs run in threads and report through ``Env.emit``.
Messages are QEMU's own where the engine (or a reader) looks at them.
"""

import copy
import threading
import time

PAGE = 4096
ACTIVE = ('setup', 'active', 'pre-switchover', 'device', 'cancelling')
CAPABILITIES = (
    'xbzrle', 'rdma-pin-all', 'auto-converge', 'events', 'postcopy-ram', 'x-colo',
    'release-ram', 'return-path', 'pause-before-switchover', 'multifd', 'dirty-bitmaps',
    'postcopy-blocktime', 'late-block-activate', 'x-ignore-shared', 'validate-uuid',
    'background-snapshot', 'zero-copy-send', 'postcopy-preempt', 'switchover-ack',
    'dirty-limit', 'mapped-ram')
PARAMETERS = {
    'announce-initial': 50, 'announce-max': 550, 'announce-rounds': 5, 'announce-step': 100,
    'throttle-trigger-threshold': 50, 'cpu-throttle-initial': 20,
    'cpu-throttle-increment': 10, 'cpu-throttle-tailslow': False, 'tls-creds': '',
    'tls-hostname': '', 'tls-authz': '', 'max-bandwidth': 134217728,
    'avail-switchover-bandwidth': 0, 'downtime-limit': 300, 'x-checkpoint-delay': 20000,
    'multifd-channels': 2, 'xbzrle-cache-size': 67108864, 'max-postcopy-bandwidth': 0,
    'max-cpu-throttle': 99, 'multifd-compression': 'none', 'multifd-zlib-level': 1,
    'multifd-zstd-level': 1, 'mode': 'normal', 'zero-page-detection': 'multifd',
    'direct-io': False}
# blockdev-add: the options of the NBD nodes and the image nodes (over 'file')
_BLOCKDEV_OPTS = ('server', 'export', 'cache', 'reconnect-delay', 'open-timeout',
                  'tls-creds', 'tls-hostname', 'read-only', 'auto-read-only', 'discard',
                  'detect-zeroes', 'force-share', 'node-name', 'x-dirty-bitmap', 'file')
# command: (required arguments, optional arguments or None for any)
COMMANDS = {
    'query-status': ((), ()), 'stop': ((), ()), 'cont': ((), ()), 'query-version': ((), ()),
    'query-name': ((), ()), 'qom-list-types': ((), ('implements', 'abstract')),
    'query-migrate': ((), ()), 'query-migrate-capabilities': ((), ()),
    'query-migrate-parameters': ((), ()), 'migrate-set-capabilities': (('capabilities',), ()),
    'migrate-set-parameters': ((), None),
    'migrate': ((), ('uri', 'channels', 'detach', 'resume')),
    'migrate-incoming': ((), ('uri', 'channels', 'exit-on-error')),
    'migrate-continue': (('state',), ()), 'migrate_cancel': ((), ()),
    'nbd-server-start': (('addr',), ('tls-creds', 'tls-authz', 'max-connections')),
    'nbd-server-stop': ((), ()),
    'block-export-add': (('type', 'id', 'node-name'), (
        'name', 'writable', 'description', 'bitmaps', 'allocation-depth', 'iothread',
        'fixed-iothread', 'writethrough')),
    'block-export-del': (('id',), ('mode',)),
    'object-add': (('qom-type', 'id'), None), 'object-del': (('id',), ()),
    'blockdev-add': (('driver',), _BLOCKDEV_OPTS), 'blockdev-del': (('node-name',), ()),
    'blockdev-mirror': (('device', 'target', 'sync'), (
        'job-id', 'replaces', 'speed', 'granularity', 'buf-size', 'on-source-error',
        'on-target-error', 'filter-node-name', 'copy-mode', 'auto-finalize',
        'auto-dismiss')),
    'query-block-jobs': ((), ()), 'query-block': ((), ()),
    'query-named-block-nodes': ((), ('flat',)),
    'block-job-cancel': (('device',), ('force',)), 'block-job-complete': (('device',), ()),
    'job-dismiss': (('id',), ()), 'yank': (('instances',), ()),
}
QOM_TYPES = ('virtio-net-pci', 'e1000', 'e1000e', 'rtl8139', 'igb', 'virtio-blk-pci',
             'ide-hd', 'scsi-hd', 'usb-storage', 'virtio-scsi-pci', 'usb-tablet', 'usb-mouse',
             'usb-kbd', 'virtio-tablet-pci', 'VGA', 'cirrus-vga', 'qxl-vga', 'virtio-vga',
             'bochs-display', 'ich9-intel-hda', 'intel-hda', 'AC97', 'virtio-sound-pci',
             'qemu-xhci', 'nec-usb-xhci', 'piix3-usb-uhci', 'ich9-usb-ehci1')


class QmpError(Exception):
    def __init__(self, desc, cls='GenericError'):
        super().__init__(desc)
        self.desc, self.cls = desc, cls


class Image:
    """A disk image file on a fake host; ``data`` maps offsets to contents."""

    def __init__(self, capacity=0, fmt='raw', backing=None, backing_fmt=None, data=None):
        self.capacity, self.fmt = capacity, fmt
        self.backing, self.backing_fmt = backing, backing_fmt
        self.data = dict(data or {})


def read_chain(images, path):
    """What a guest reads from ``path``: its backing chain merged, top last."""
    chain = []
    while path in images and len(chain) < 16:
        chain.append(images[path])
        path = images[path].backing
    merged = {}
    for image in reversed(chain):
        merged.update(image.data)
    return merged


class Network:
    """TCP ports of all fake hosts: (host, port) -> (kind, qemu)."""

    LOCAL = ('127.0.0.1', 'localhost', '::1', '0.0.0.0', '::', '')

    def __init__(self):
        self.listeners = {}
        self.addresses = {}   # address -> host name
        self.hosts = set()

    def _key(self, hostname, address, port):
        address = str(address).strip('[]')
        if address in self.LOCAL:
            return hostname, int(port)
        return self.addresses.get(address, address), int(port)

    def listen(self, qemu, kind, address, port):
        key = self._key(qemu.hostname, address, port)
        if key[0] != qemu.hostname and key[0] in self.hosts:
            raise QmpError('Failed to bind socket: Cannot assign requested address')
        if key in self.listeners:
            raise QmpError('Failed to bind socket: Address already in use')
        self.listeners[key] = (kind, qemu)
        return key

    def connect(self, qemu, kind, address, port):
        kind_there, peer = self.listeners.get(self._key(qemu.hostname, address, port),
                                              (None, None))
        if kind_there != kind or not peer.alive:
            raise QmpError("Failed to connect to '%s:%s': Connection refused" % (address, port))
        return peer

    def close(self, key):
        self.listeners.pop(key, None)


class Env:
    """What all fake QEMUs of a fixture share; ``emit(qemu, name, data)`` and
    ``crash(qemu)`` are the fixture's (libvirt's) side."""

    def __init__(self, emit, crash, tick=0.005, passes=3):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.network = Network()
        self.emit, self.crash = emit, crash
        self.tick, self.passes = tick, passes
        self.hooks = []        # [command, domain name or None, fn(qemu, args), once]
        self.pass_hooks = []   # fn(source qemu, pass number), after each RAM pass
        self.kill_incoming_at = None
        self.stopped = False

    def sleep(self, factor=1.0):
        time.sleep(self.tick * factor)

    def run_hooks(self, qemu, command, args):
        for hook in list(self.hooks):
            if hook[0] == command and hook[1] in (None, qemu.name):
                if hook[3]:
                    self.hooks.remove(hook)
                hook[2](qemu, args)


class _Stop(Exception):
    pass


class Node:
    def __init__(self, name, drv, path=None, backing=None):
        self.name, self.drv, self.path, self.backing = name, drv, path, backing
        self.peer = None      # NBD client: (server qemu, export id)
        self.broken = False   # NBD client: connection gone (EOF or yank)


class Qemu:
    """One QEMU process; ``owner`` is the fixture's domain object."""

    def __init__(self, env, name, hostname, tree, images, owner=None):
        self.env, self.name, self.hostname, self.images = env, name, hostname, images
        self.owner = owner
        self.alive, self.status, self.autostart = True, 'prelaunch', False
        self.memory, self.events = {}, []
        memory = tree.find('memory')
        scale = {'b': 1, 'bytes': 1, 'KiB': 1024, 'k': 1024, 'MiB': 1 << 20, 'M': 1 << 20,
                 'GiB': 1 << 30, 'G': 1 << 30}.get(memory.get('unit', 'KiB'), 1024)
        self.ram_size = int(memory.text) * scale
        self.caps = dict.fromkeys(CAPABILITIES, False)
        self.params = dict(PARAMETERS)
        self.migration = self.incoming = self.incoming_status = self.nbd_server = None
        self.exports, self.nodes, self.jobs, self.devices = {}, {}, {}, []
        self.iothreads = set()
        self._build_nodes(tree)

    def _build_nodes(self, tree):
        index = 0
        for disk in tree.iterfind('devices/disk'):
            alias, target = disk.find('alias').get('name'), disk.find('target')
            qdev = '/machine/peripheral/%s' % alias
            if target.get('bus') == 'virtio':
                qdev += '/virtio-backend'
            source = disk.find('source')
            path = source.get('file') if source is not None else None
            top = None
            if path and disk.get('type', 'file') == 'file':
                chain = [path]
                while chain[-1] in self.images and self.images[chain[-1]].backing:
                    chain.append(self.images[chain[-1]].backing)
                for p in reversed(chain):
                    index += 1
                    fmt = self.images[p].fmt if p in self.images else 'raw'
                    self.nodes['libvirt-%d-storage' % index] = Node(
                        'libvirt-%d-storage' % index, 'file', p)
                    top = self.nodes['libvirt-%d-format' % index] = Node(
                        'libvirt-%d-format' % index, fmt, p, top and top.name)
            self.devices.append({'alias': alias, 'dev': target.get('dev'), 'qdev': qdev,
                                 'node': top and top.name,
                                 'removable': disk.get('device') in ('cdrom', 'floppy')})

    # -- process, run state, events ----------------------------------------

    def emit(self, name, data=None):
        self.events.append((name, data))
        self.env.emit(self, name, data)

    def vm_stop(self, state='paused'):
        was_running, self.status = self.status == 'running', state
        if was_running:
            self.emit('STOP')

    def vm_start(self):
        self.status = 'running'
        self.emit('RESUME')

    def boot(self):
        """libvirt's ``cont`` after starting QEMU with -S."""
        if self.status == 'inmigrate':
            self.autostart = True
        else:
            self.status = 'running'

    def listen_incoming(self, uri):
        if uri == 'defer':
            self.status, self.incoming = 'inmigrate', 'defer'
            return
        address, port = _tcp(uri)
        self.incoming = self.env.network.listen(self, 'migration', address, port)
        self.status = 'inmigrate'

    def terminate(self):
        """The process exits: sockets close, peers see EOF."""
        if not self.alive:
            return
        self.alive, self.status = False, 'shutdown'
        for key in (self.incoming, self.nbd_server):
            if isinstance(key, tuple):
                self.env.network.close(key)
        for export in self.exports.values():
            for client in export['clients']:
                client.broken = True
        for node in self.nodes.values():
            self._disconnect(node)
        self.env.cond.notify_all()

    def crash(self):
        """QEMU dies on its own (libvirt: STOPPED, FAILED)."""
        self.env.crash(self)

    # -- guest activity (tests) --------------------------------------------

    def _guest_running(self):
        if not self.alive or self.status != 'running':
            raise RuntimeError('the guest of %s is not running (%s)' % (self.name, self.status))

    def write_memory(self, key, value):
        with self.env.lock:
            self._guest_running()
            self.memory[key] = value
            if self.migration is not None and self.migration.status in ACTIVE:
                self.migration.dirty += 1

    def write_disk(self, dev, key, value):
        """A guest write to disk ``dev``; running mirror jobs see it."""
        with self.env.lock:
            self._guest_running()
            node = self.nodes[[d for d in self.devices if d['dev'] == dev][0]['node']]
            self.images[node.path].data[key] = value
            for job in self.jobs.values():
                if job.source is node and job.status in ('running', 'ready'):
                    if job.copy_mode == 'write-blocking' and job.ready:
                        job.failed = job.failed or not job.write({key: value})
                    else:
                        job.dirty.add(key)

    def read_disk(self, dev):
        node = self.nodes[[d for d in self.devices if d['dev'] == dev][0]['node']]
        return read_chain(self.images, node.path)

    # -- QMP ---------------------------------------------------------------

    def execute(self, command, args):
        """Run one QMP command; return QEMU's reply (a dict)."""
        with self.env.lock:
            try:
                self.env.run_hooks(self, command, args)
                if command not in COMMANDS:
                    raise QmpError('The command %s has not been found' % command,
                                   'CommandNotFound')
                required, optional = COMMANDS[command]
                for name in required:
                    if name not in args:
                        raise QmpError("Parameter '%s' is missing" % name)
                for name in args:
                    if optional is not None and name not in required + optional:
                        raise QmpError("Parameter '%s' is unexpected" % name)
                ret = getattr(self, '_' + command.replace('-', '_'))(args)
            except QmpError as e:
                return {'error': {'class': e.cls, 'desc': e.desc}}
            return {'return': {} if ret is None else ret}

    def _query_status(self, a):
        return {'status': self.status, 'running': self.status == 'running'}

    def _query_version(self, a):
        return {'qemu': {'major': 10, 'minor': 0, 'micro': 0}, 'package': ''}

    def _query_name(self, a):
        return {'name': self.name}

    def _qom_list_types(self, a):
        return [{'name': t, 'parent': 'device'} for t in QOM_TYPES]

    def _stop(self, a):
        if self.status == 'inmigrate':
            self.autostart = False
        elif self.status == 'running':
            self.vm_stop('paused')

    def _cont(self, a):
        if self.status in ('internal-error', 'shutdown', 'guest-panicked'):
            raise QmpError('Resetting the Virtual Machine is required')
        if self.status == 'finish-migrate':
            raise QmpError('Migration is not finalized yet')
        if self.status == 'inmigrate':
            self.autostart = True
        elif self.status != 'running':
            self.vm_start()

    # -- migration ---------------------------------------------------------

    def _query_migrate(self, a):
        if self.migration is None:
            return {'status': self.incoming_status} if self.incoming_status else {}
        return self.migration.info()

    def _query_migrate_capabilities(self, a):
        return [{'capability': k, 'state': v} for k, v in self.caps.items()]

    def _query_migrate_parameters(self, a):
        return dict(self.params)

    def _migrate_set_capabilities(self, a):
        if self.migration is not None and self.migration.status in ACTIVE:
            raise QmpError("There's a migration process in progress")
        for cap in a['capabilities']:
            if cap.get('capability') not in CAPABILITIES:
                raise QmpError("Parameter 'capability' does not accept value '%s'"
                               % cap.get('capability'))
        for cap in a['capabilities']:
            self.caps[cap['capability']] = bool(cap.get('state'))

    def _migrate_set_parameters(self, a):
        for name, value in a.items():
            if name not in PARAMETERS:
                raise QmpError("Parameter '%s' is unexpected" % name)
            if name == 'downtime-limit' and not 0 <= value <= 2000000:
                raise QmpError("Parameter 'downtime_limit' expects an integer in the range "
                               "of 0 to 2000000 milliseconds")
        self.params.update(a)

    def _migrate(self, a):
        if self.migration is not None and self.migration.status in ACTIVE:
            raise QmpError("There's a migration process in progress")
        if self.status == 'inmigrate':
            raise QmpError('Guest is waiting for an incoming migration')
        if a.get('resume'):
            raise QmpError('fake QEMU: postcopy resume is not modelled')
        if 'channels' in a:
            addr = a['channels'][0]['addr']
            address, port = addr['host'], addr['port']
        elif 'uri' in a:
            address, port = _tcp(a['uri'])
        else:
            raise QmpError("Either 'uri' or 'channels' must be specified")
        self.migration = Migration(self, address, port)
        self.migration.thread.start()

    def _migrate_incoming(self, a):
        if self.incoming != 'defer':
            raise QmpError("'-incoming' was not specified on the command line"
                           if self.incoming is None else
                           'The incoming migration has already been started')
        self.listen_incoming(a['uri'])

    def _migrate_continue(self, a):
        status = self.migration.status if self.migration else 'none'
        if status != a['state']:
            raise QmpError('Migration not in expected state: %s' % status)
        self.migration.continued = True
        self.env.cond.notify_all()

    def _migrate_cancel(self, a):
        m = self.migration
        if m is not None and m.status in ACTIVE and not m.cancelled:
            m.cancelled = True
            m.set('cancelling')
            self.env.cond.notify_all()

    # -- incoming side (called by the source's Migration) --------------------

    def accept(self, migration):
        self.env.network.close(self.incoming)
        self.incoming = None
        for status in ('setup', 'active'):
            self._incoming(status)

    def _incoming(self, status):
        self.incoming_status = status
        if self.caps['events']:
            self.emit('MIGRATION', {'status': status})

    def incoming_done(self):
        self._incoming('completed')
        if self.autostart:
            self.vm_start()
        else:
            self.status = 'paused'

    def incoming_failed(self):
        if self.alive:
            self._incoming('failed')
            self.crash()   # QEMU exits when its incoming migration fails

    # -- NBD server and exports ----------------------------------------------

    def _nbd_server_start(self, a):
        if self.nbd_server:
            raise QmpError('NBD server already running')
        addr = a['addr']
        if addr.get('type') != 'inet' or 'data' not in addr:
            raise QmpError('fake QEMU models inet NBD servers only, given as '
                           "{'type': 'inet', 'data': {...}}")
        self.nbd_server = self.env.network.listen(self, 'nbd', addr['data']['host'],
                                                  addr['data']['port'])

    def _nbd_server_stop(self, a):
        if not self.nbd_server:
            raise QmpError('NBD server not running')
        for export_id in list(self.exports):
            self._drop_export(export_id)
        self.env.network.close(self.nbd_server)
        self.nbd_server = None

    def _block_export_add(self, a):
        if a['type'] != 'nbd':
            raise QmpError('fake QEMU models NBD exports only')
        if a['id'] in self.exports:
            raise QmpError("Block export id '%s' is already in use" % a['id'])
        if not self.nbd_server:
            raise QmpError('NBD server not running')
        node = self._node(a['node-name'])
        iothread = a.get('iothread')
        if iothread is not None and iothread not in self.iothreads:
            raise QmpError("Cannot find iothread %s" % iothread)
        if iothread and a.get('fixed-iothread') and any(
                d['node'] == node.name for d in self.devices):
            raise QmpError('Cannot change iothread of active block backend')
        name = a.get('name', a['node-name'])
        if any(e['name'] == name for e in self.exports.values()):
            raise QmpError("NBD server already has export named '%s'" % name)
        self.exports[a['id']] = {'node': node.name, 'name': name, 'clients': set(),
                                 'writable': a.get('writable', False), 'iothread': iothread}

    def _block_export_del(self, a):
        export = self.exports.get(a['id'])
        if export is None:
            raise QmpError("Export '%s' is not found" % a['id'])
        if export['clients'] and a.get('mode', 'safe') != 'hard':
            raise QmpError("export '%s' still in use" % a['id'])
        self._drop_export(a['id'])

    def _drop_export(self, export_id):
        for client in self.exports.pop(export_id)['clients']:
            client.broken = True
        self.emit('BLOCK_EXPORT_DELETED', {'id': export_id})

    # -- I/O threads -----------------------------------------------------------

    def _object_add(self, a):
        if a['qom-type'] != 'iothread':
            raise QmpError('fake QEMU models iothread objects only')
        if a['id'] in self.iothreads:
            raise QmpError("attempt to add duplicate property '%s' to object "
                           "(type 'container')" % a['id'])
        self.iothreads.add(a['id'])

    def _object_del(self, a):
        if a['id'] not in self.iothreads:
            raise QmpError("object '%s' not found" % a['id'])
        if any(e['iothread'] == a['id'] for e in self.exports.values()):
            raise QmpError("object '%s' can't be deleted" % a['id'])
        self.iothreads.discard(a['id'])

    # -- block nodes -----------------------------------------------------------

    def _node(self, name):
        if name not in self.nodes:
            raise QmpError('Cannot find device=%s nor node_name=%s' % (name, name))
        return self.nodes[name]

    def _blockdev_add(self, a):
        name = a.get('node-name')
        if not name:
            raise QmpError("'node-name' must be specified for the root node")
        if name in self.nodes:
            raise QmpError("Duplicate nodes with node-name='%s'" % name)
        if a['driver'] in ('qcow2', 'raw'):
            return self._image_node_add(name, a)
        if a['driver'] != 'nbd':
            raise QmpError('fake QEMU models blockdev-add of qcow2, raw and NBD nodes only')
        server = a.get('server') or {}
        if server.get('type') != 'inet':
            raise QmpError('fake QEMU models inet NBD servers only')
        peer = self.env.network.connect(self, 'nbd', server['host'], server['port'])
        found = [i for i, e in peer.exports.items() if e['name'] == a.get('export', '')]
        if not found:
            raise QmpError('Requested export not available')
        node = self.nodes[name] = Node(name, 'nbd')
        node.peer = (peer, found[0])
        peer.exports[found[0]]['clients'].add(node)

    def _image_node_add(self, name, a):
        file = a.get('file')
        if not isinstance(file, dict) or file.get('driver') != 'file':
            raise QmpError("fake QEMU models image nodes over {'driver': 'file'} only")
        path = file.get('filename')
        image = self.images.get(path)
        if image is None:
            raise QmpError("Could not open '%s': No such file or directory" % path)
        if image.fmt != a['driver']:
            raise QmpError("Image is not in %s format" % a['driver'])
        self.nodes[name] = Node(name, a['driver'], path)

    def _disconnect(self, node):
        if node.peer is not None:
            export = node.peer[0].exports.get(node.peer[1])
            if export is not None:
                export['clients'].discard(node)
            node.broken = True

    def _blockdev_del(self, a):
        node = self.nodes.get(a['node-name'])
        if node is None:
            raise QmpError("Failed to find node with node-name='%s'" % a['node-name'])
        if any(node in (j.source, j.target) for j in self.jobs.values()):
            raise QmpError("Node '%s' is busy: block device is in use by block job: mirror"
                           % node.name)
        if node.drv != 'nbd' and (
                any(d['node'] == node.name for d in self.devices)
                or any(e['node'] == node.name for e in self.exports.values())):
            raise QmpError("Node %s is in use" % node.name)
        self._disconnect(node)
        del self.nodes[node.name]

    def _yank(self, a):
        nodes = []
        for instance in a['instances']:
            node = self.nodes.get(instance.get('node-name'))
            if instance.get('type') != 'block-node' or node is None or node.drv != 'nbd':
                raise QmpError('Instance not found', 'DeviceNotFound')
            nodes.append(node)
        for node in nodes:
            self._disconnect(node)

    def _image_info(self, node):
        image = self.images.get(node.path)
        if node.drv == 'nbd':
            return {'filename': 'nbd://%s' % node.name, 'format': 'nbd', 'virtual-size': 0}
        return {'filename': node.path, 'format': node.drv,
                'virtual-size': image.capacity if image else 0}

    def _query_named_block_nodes(self, a):
        return [{'node-name': n.name, 'drv': n.drv, 'file': self._image_info(n)['filename'],
                 'ro': False, 'encrypted': False, 'detect_zeroes': 'off',
                 'image': self._image_info(n)} for n in self.nodes.values()]

    def _query_block(self, a):
        devices = []
        for d in self.devices:
            info = {'device': '', 'qdev': d['qdev'], 'locked': False, 'type': 'unknown',
                    'removable': d['removable'], 'io-status': 'ok'}
            if d['node']:
                node = self.nodes[d['node']]
                info['inserted'] = {'node-name': node.name, 'file': node.path,
                                    'drv': node.drv, 'ro': False, 'encrypted': False,
                                    'image': self._image_info(node)}
            devices.append(info)
        return devices

    # -- block jobs --------------------------------------------------------------

    def _blockdev_mirror(self, a):
        job_id = a.get('job-id', a['device'])
        if job_id in self.jobs:
            raise QmpError("Job ID '%s' already in use" % job_id)
        source, target = self._node(a['device']), self._node(a['target'])
        for node in (source, target):
            if any(node in (j.source, j.target) for j in self.jobs.values()):
                raise QmpError("Node '%s' is busy: block device is in use by block job: "
                               "mirror" % node.name)
        if a['sync'] not in ('full', 'top', 'none'):
            raise QmpError("Parameter 'sync' does not accept value '%s'" % a['sync'])
        mode = a.get('copy-mode', 'background')
        if mode not in ('background', 'write-blocking'):
            raise QmpError("Parameter 'copy-mode' does not accept value '%s'" % mode)
        job = Mirror(self, job_id, source, target, a['sync'], mode, a.get('speed', 0),
                     a.get('auto-dismiss', True))
        target_image = job.target_image()
        if target_image is not None and target_image.capacity != job.len:
            raise QmpError('Source and target image have different sizes')
        self.jobs[job_id] = job
        job.thread.start()

    def _job(self, job_id):
        if job_id not in self.jobs:
            raise QmpError("Block job '%s' not found" % job_id, 'DeviceNotActive')
        return self.jobs[job_id]

    def _query_block_jobs(self, a):
        return [j.info() for j in self.jobs.values()]

    def _block_job_cancel(self, a):
        job = self._job(a['device'])
        job.finish = 'force' if a.get('force') or not job.ready else 'cancel'
        self.env.cond.notify_all()

    def _block_job_complete(self, a):
        job = self._job(a['device'])
        if not job.ready:
            raise QmpError("Job '%s' in state '%s' cannot accept command verb 'complete'"
                           % (job.id, job.status))
        job.finish = 'complete'
        self.env.cond.notify_all()

    def _job_dismiss(self, a):
        job = self.jobs.get(a['id'])
        if job is None:
            raise QmpError('Job not found')
        if job.status != 'concluded':
            raise QmpError("Job '%s' in state '%s' cannot accept command verb 'dismiss'"
                           % (job.id, job.status))
        job.set_status('null')
        del self.jobs[job.id]


def _tcp(uri):
    if not str(uri).startswith('tcp:'):
        raise QmpError('fake QEMU models tcp: migration URIs only, not %r' % uri)
    address, _, port = uri[4:].rpartition(':')
    return address.strip('[]'), int(port)


class Migration:
    """The outgoing migration of ``src`` (QEMU's migration thread)."""

    def __init__(self, src, address, port):
        self.src, self.address, self.port = src, address, port
        self.dst, self.status, self.error = None, None, None
        self.started, self.stopped_at = time.time(), None
        self.setup_ms = self.total_ms = self.downtime_ms = None
        self.transferred, self.dirty, self.passes = 0, 0, 0
        self.continued = self.cancelled = False
        self.was_running = src.status == 'running'
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name='fake-qemu-migration-%s' % src.name)

    def set(self, status):
        self.status = status
        if self.src.caps['events']:
            self.src.emit('MIGRATION', {'status': status})
        if self.src.env.kill_incoming_at == status and self.dst is not None:
            self.src.env.kill_incoming_at = None
            self.dst.crash()

    @property
    def remaining(self):
        return self.dirty * PAGE if self.passes else self.src.ram_size

    def _ms(self):
        return int((time.time() - self.started) * 1000)

    def info(self):
        info = {'status': self.status}
        if self.status == 'failed':
            info['error-desc'] = self.error
        if self.dst is not None:
            info['total-time'] = self.total_ms or self._ms()
            info['setup-time'] = self.setup_ms
            info['ram'] = {
                'transferred': self.transferred, 'remaining': self.remaining,
                'total': self.src.ram_size, 'duplicate': 0,
                'normal': self.transferred // PAGE, 'normal-bytes': self.transferred,
                'precopy-bytes': self.transferred, 'downtime-bytes': 0,
                'postcopy-bytes': 0, 'dirty-sync-count': self.passes, 'page-size': PAGE,
                'dirty-pages-rate': 0, 'mbps': 1000.0, 'pages-per-second': 0,
                'postcopy-requests': 0, 'multifd-bytes': 0}
            if self.status == 'completed':
                info['downtime'] = self.downtime_ms
            else:
                info['expected-downtime'] = self.src.params['downtime-limit']
        return info

    def _check(self):
        if self.src.env.stopped or not self.src.alive:
            raise _Stop('source gone')
        if self.cancelled:
            raise _Stop('cancelled')
        if self.dst is not None and not self.dst.alive:
            raise _Stop('Unable to write to socket: Connection reset by peer')

    def _run(self):
        env = self.src.env
        try:
            with env.lock:
                self.set('setup')
            env.sleep()
            with env.lock:
                self._check()
                try:
                    self.dst = env.network.connect(self.src, 'migration', self.address,
                                                   self.port)
                except QmpError as e:
                    raise _Stop(e.desc)
                self.dst.accept(self)
                self.setup_ms = self._ms()
                self.set('active')
            while self.passes < env.passes:
                env.sleep()
                with env.lock:
                    self._check()
                    self.passes += 1
                    self.transferred += self.src.ram_size if self.passes == 1 else \
                        self.dirty * PAGE
                    self.dirty = 0
                    self.src.emit('MIGRATION_PASS', {'pass': self.passes})
                    for hook in list(env.pass_hooks):
                        hook(self.src, self.passes)
            with env.lock:
                self._check()
                self.stopped_at = time.time()
                self.src.vm_stop('finish-migrate')
                if self.src.caps['pause-before-switchover']:
                    self.set('pre-switchover')
                    while not self.continued:
                        self._check()
                        env.cond.wait(env.tick)
                self.set('device')
            env.sleep(0.5)
            with env.lock:
                self._check()
                self.transferred += self.dirty * PAGE
                self.dirty = 0
                self.dst.memory = copy.deepcopy(self.src.memory)
                self.downtime_ms = int((time.time() - self.stopped_at) * 1000)
                self.total_ms = self._ms()
                self.set('completed')
                self.dst.incoming_done()
            env.sleep(0.2)   # QEMU leaves finish-migrate just after the event
            with env.lock:
                if self.src.alive and self.src.status == 'finish-migrate':
                    self.src.status = 'postmigrate'
        except _Stop as stop:
            with env.lock:
                self._abort(str(stop))

    def _abort(self, reason):
        if self.src.env.stopped:
            return
        if self.src.alive:
            if reason == 'cancelled':
                self.set('cancelled')
            else:
                self.error = reason
                self.set('failed')
            if self.src.status == 'finish-migrate':
                if self.was_running:
                    self.src.vm_start()
                else:
                    self.src.status = 'paused'
        if self.dst is not None:
            self.dst.incoming_failed()


class Mirror:
    """A blockdev-mirror job of ``qemu`` from node ``source`` into ``target``."""

    def __init__(self, qemu, job_id, source, target, sync, copy_mode, speed, auto_dismiss):
        self.qemu, self.id, self.source, self.target = qemu, job_id, source, target
        self.sync, self.copy_mode, self.speed = sync, copy_mode, speed
        self.auto_dismiss = auto_dismiss
        image = qemu.images.get(source.path)
        self.len, self.offset = image.capacity if image else 0, 0
        self.status, self.ready, self.failed, self.finish = 'created', False, False, None
        self.dirty = set()
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name='fake-qemu-mirror-%s' % job_id)
        self.set_status('created')

    def set_status(self, status):
        self.status = status
        self.qemu.emit('JOB_STATUS_CHANGE', {'id': self.id, 'status': status})

    def info(self):
        return {'type': 'mirror', 'device': self.id, 'len': self.len, 'offset': self.offset,
                'busy': False, 'paused': False, 'speed': self.speed, 'io-status': 'ok',
                'ready': self.ready, 'status': self.status, 'auto-finalize': True,
                'auto-dismiss': self.auto_dismiss}

    def target_image(self):
        if self.target.peer is None:
            return self.qemu.images.get(self.target.path)
        peer, export_id = self.target.peer
        export = peer.exports.get(export_id)
        return peer.images.get(peer.nodes[export['node']].path) if export else None

    def write(self, data):
        """Write through the target node; False when its connection is gone."""
        if self.target.broken or (self.target.peer and not self.target.peer[0].alive):
            return False
        image = self.target_image()
        if image is None:
            return False
        image.data.update(data)
        return True

    def _pending(self):
        data = self.qemu.images[self.source.path].data
        return {k: data[k] for k in self.dirty if k in data}

    def _event(self, name, **extra):
        data = {'device': self.id, 'len': self.len, 'offset': self.offset,
                'speed': self.speed, 'type': 'mirror'}
        data.update(extra)
        self.qemu.emit(name, data)

    def _end(self, event, error=None):
        for status in ('waiting', 'pending') if not error else ('aborting',):
            self.set_status(status)
        self._event(event, **({'error': error} if error else {}))
        self.set_status('concluded')
        if self.auto_dismiss:
            self.set_status('null')
            self.qemu.jobs.pop(self.id, None)

    def _fail(self):
        self._event('BLOCK_JOB_ERROR', operation='write', action='report')
        self._end('BLOCK_JOB_COMPLETED', 'Input/output error')

    def _run(self):
        env = self.qemu.env
        with env.lock:
            self.set_status('running')
        env.sleep()
        with env.lock:
            if not self.qemu.alive or env.stopped:
                return
            if self.finish:
                return self._end('BLOCK_JOB_CANCELLED')
            images = self.qemu.images
            data = {'full': read_chain(images, self.source.path),
                    'top': dict(images[self.source.path].data), 'none': {}}[self.sync]
            if self.source.backing is None and self.sync == 'top':
                data = read_chain(images, self.source.path)
            if not self.write(data):
                return self._fail()
            self.offset, self.ready = self.len, True
            self.set_status('ready')
            self._event('BLOCK_JOB_READY')
            while True:
                if not self.qemu.alive or env.stopped:
                    return
                if self.failed or (self.dirty and self.copy_mode == 'background'
                                   and not self.write(self._pending())):
                    return self._fail()
                if self.copy_mode == 'background':
                    self.dirty.clear()
                if self.finish == 'force':
                    return self._end('BLOCK_JOB_CANCELLED')
                if self.finish:
                    if not self.write(self._pending()):
                        return self._fail()
                    return self._end('BLOCK_JOB_COMPLETED')
                env.cond.wait(env.tick)
