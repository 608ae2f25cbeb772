"""Nova's fake libvirt with a fake QEMU monitor behind every domain.

    fx = self.useFixture(fake_qemu.FakeQemuFixture())
    conn_a = fx.connection('host-a')      # or Nova's own per-compute Connection
    source = engine.Host('qemu+tcp://host-a/system').lookup('web-1')

:class:`FakeQemuFixture` makes the clone engine run unchanged against
``nova.tests.fixtures.libvirt`` (standalone, or inside Nova's functional
``ServersTestBase`` after its ``LibvirtFixture``).  For its lifetime only:

* every ``nova_pwnetizer.*`` module's ``libvirt`` is Nova's fake module and
  its ``libvirt_qemu`` is :attr:`FakeQemuFixture.libvirt_qemu`; the
  engine's event loop counts as running (events come from this fixture's
  thread, as from libvirt's loop), its lock directory is a temporary one
  and its guardian subprocess is a recorder (:attr:`~FakeQemuFixture.guardians`);
* ``libvirt.open``/``openAuth``/``openReadOnly`` of a remote URI such as
  ``qemu+tcp://HOST/system`` return a :class:`RemoteConnection` to the
  Connection of HOST (any Connection made with a ``hostname``, or added
  with :meth:`~FakeQemuFixture.add_host`);
* fake Connection and Domain methods behave as libvirt's
  (:mod:`tests.functional.fake_libvirt`), and each running domain has a
  fake QEMU (:mod:`tests.functional.fake_qmp`).
"""

import itertools
import json
import logging
import os
import queue
import sys
import threading
import time
import types
import urllib.parse

import fixtures
from nova.tests.fixtures import libvirt as fakelibvirt

from tests.functional import fake_libvirt
from tests.functional.fake_libvirt import _err
from tests.functional.fake_libvirt import _method
from tests.functional.fake_libvirt import _not_running
from tests.functional import fake_qmp

LOG = logging.getLogger(__name__)
FAKE = 'nova.tests.fixtures.libvirt.'
LIBVIRT_VERSION = 11000000   # 11.0.0, as virConnectGetLibVersion reports it
QEMU_VERSION = 10000000      # 10.0.0
NS_QEMU = fake_libvirt.NS_QEMU


class RemoteConnection:
    """What ``libvirt.open('qemu+tcp://HOST/system')`` gives: the Connection
    registered for HOST, seen through another URI (its own registrations)."""

    def __init__(self, fixture, conn, uri):
        self._pwn_fx, self._pwn_conn, self._pwn_uri = fixture, conn, uri
        self._pwn_closed = False

    def __getattr__(self, name):
        if self._pwn_closed:
            raise _err('internal error: client socket is closed',
                       fakelibvirt.VIR_ERR_INTERNAL_ERROR)
        return getattr(self._pwn_conn, name)

    def getURI(self):
        return self._pwn_uri

    def isAlive(self):
        return int(not self._pwn_closed)

    def close(self):
        host = self._pwn_fx._host(self)
        host.callbacks = [c for c in host.callbacks if c[1] is not self]
        self._pwn_closed = True
        return 0

    def domainEventRegisterAny(self, dom, event_id, cb, opaque):
        return self._pwn_fx._register(self, event_id, dom, None, cb, opaque)

    def domainEventDeregisterAny(self, callback_id):
        return self._pwn_fx._deregister(self, callback_id)


class FakeQemuFixture(fake_libvirt.LibvirtSemantics, fixtures.Fixture):
    """Fake QEMU for Nova's fake libvirt; see the module docstring.

    ``tick``: seconds per simulated step (migration pass, mirror copy);
    ``passes``: RAM passes before the migration converges;
    ``strict_files``: a disk or console file missing on the host makes the
    domain fail to start (else it is created, as Nova's image fixtures
    leave no files); ``default_capacity``: the size of such a disk.
    """

    def __init__(self, tick=0.005, passes=3, strict_files=False, default_capacity=1 << 30):
        super().__init__()
        self.tick, self.passes = tick, passes
        self.strict_files, self.default_capacity = strict_files, default_capacity

    def _setUp(self):
        self.env = fake_qmp.Env(self._qmp_event, self._crashed, self.tick, self.passes)
        self._hosts, self._doms, self._by_name = {}, {}, {}
        self._ids = itertools.count(1)
        self.local_host = None     # Connection that local URIs (qemu:///system) open
        self.guardians = []        # what the engine's Guardian was asked to guard
        self.unplug_ignored = set()   # domain names whose guests ignore NIC unplugs
        self._queue, self._stopping = queue.Queue(), False
        self._thread = threading.Thread(target=self._dispatch, daemon=True,
                                        name='fake-libvirt-events')
        self._thread.start()
        self.addCleanup(self._shutdown)
        self._patch_fake_module()
        self._patch_engine()

    def _patch(self, target, value):
        self.useFixture(fixtures.MonkeyPatch(target, value))

    def _patch_fake_module(self):
        for name, value in fake_libvirt.EXTRA_CONSTANTS.items():
            if not hasattr(fakelibvirt, name):
                self._patch(FAKE + name, value)
        self._orig_open_auth = fakelibvirt.openAuth
        self._patch(FAKE + 'open', lambda uri=None: self.open(uri))
        self._patch(FAKE + 'openReadOnly', lambda uri=None: self.open(uri))
        self._patch(FAKE + 'openAuth', lambda uri, auth, flags=0: self.open(uri, auth, flags))
        self._patch(FAKE + 'virEventRegisterDefaultImpl', lambda: 0)
        self._patch(FAKE + 'virEventRunDefaultImpl', lambda: time.sleep(0.05) or 0)
        self._orig = {n: getattr(fakelibvirt.Domain, n) for n in (
            '__init__', 'attachDevice', 'detachDevice', 'createWithFlags', 'suspend',
            'resume', 'XMLDesc')}
        self._orig.update({'conn_' + n: getattr(fakelibvirt.Connection, n) for n in (
            '__init__', '_mark_not_running', 'listAllDomains')})
        for name in fake_libvirt.DOMAIN_METHODS:
            self._patch(FAKE + 'Domain.' + name, _method(getattr(self, '_dom_' + name)))
        for name in fake_libvirt.CONNECTION_METHODS:
            self._patch(FAKE + 'Connection.' + name, _method(getattr(self, '_conn_' + name)))

    def _patch_engine(self):
        import libvirt
        import libvirt_qemu

        from nova_pwnetizer.virt.engine import job  # noqa: F401 (loads the engine)
        self.libvirt_qemu = types.SimpleNamespace(
            qemuMonitorCommand=self._monitor_command,
            qemuMonitorEventRegister=self._monitor_event_register,
            qemuMonitorEventDeregister=self._deregister,
            VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT=0, VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP=1)
        for name, module in list(sys.modules.items()):
            if name.startswith('nova_pwnetizer') and module is not None:
                if getattr(module, 'libvirt', None) is libvirt:
                    self._patch(name + '.libvirt', fakelibvirt)
                if getattr(module, 'libvirt_qemu', None) is libvirt_qemu:
                    self._patch(name + '.libvirt_qemu', self.libvirt_qemu)
        engine = 'nova_pwnetizer.virt.engine.'
        self._patch(engine + 'events._loop_running', True)
        self._patch(engine + 'recovery.LOCK_DIR', self.useFixture(fixtures.TempDir()).path)
        self._patch(engine + 'guardian.Guardian', self._guardian)

    def _guardian(self, source, target, clone_name, files):
        record = {'source': source.uuid, 'target': target.uri, 'clone': clone_name,
                  'files': list(files), 'released': False}
        self.guardians.append(record)
        return types.SimpleNamespace(release=lambda: record.update(released=True))

    def _shutdown(self):
        with self.env.lock:
            self.env.stopped = True
            for dom in self._doms.values():
                if dom.qemu is not None:
                    dom.qemu.terminate()
        self._stopping = True
        self._thread.join(5)

    def _host(self, conn):
        conn = getattr(conn, '_pwn_conn', conn)
        if conn not in self._hosts:
            self._hosts[conn] = fake_libvirt._Host(conn)
        return self._hosts[conn]

    def add_host(self, conn, hostname=None, addresses=(), upgrade=True):
        """Make ``conn`` reachable as ``qemu+tcp://HOSTNAME/system`` and by
        ``addresses``; ``upgrade``: report at least libvirt 11 and QEMU 10."""
        if hostname:
            conn.hostname = hostname
        self._host(conn)
        self._by_name[conn.hostname] = conn
        self.env.network.hosts.add(conn.hostname)
        for address in addresses:
            self._by_name[address] = conn
            self.env.network.addresses[address] = conn.hostname
        if upgrade:
            conn.fakeLibVersion = max(conn.fakeLibVersion, LIBVIRT_VERSION)
            conn.fakeVersion = max(conn.fakeVersion, QEMU_VERSION)
        return conn

    def connection(self, hostname, addresses=(), **kwargs):
        """A new fake host (its libvirtd's Connection), registered."""
        kwargs.setdefault('version', LIBVIRT_VERSION)
        kwargs.setdefault('hv_version', QEMU_VERSION)
        conn = fakelibvirt.Connection('qemu:///system', hostname=hostname, **kwargs)
        return self.add_host(conn, addresses=addresses)

    def open(self, uri=None, auth=None, flags=0):
        """libvirt.open: a remote URI's host name (or address) picks the host."""
        name = urllib.parse.urlparse(uri or '').hostname
        if name:
            if name not in self._by_name:
                raise _err("unable to connect to server at '%s:16509': Connection refused"
                           % name, fakelibvirt.VIR_ERR_SYSTEM_ERROR, fakelibvirt.VIR_FROM_RPC)
            return RemoteConnection(self, self._by_name[name], uri)
        if self.local_host is not None:
            return RemoteConnection(self, self.local_host, uri or 'qemu:///system')
        if auth is not None:
            return self._orig_open_auth(uri, auth, flags)
        return fakelibvirt.Connection(uri, readonly=bool(flags & 1))

    def _register(self, via, kind, dom, name, cb, opaque):
        callback_id = next(self._ids)
        self._host(via).callbacks.append(
            (callback_id, via, kind, dom.UUIDString() if dom is not None else None, name,
             cb, opaque))
        return callback_id

    def _deregister(self, via, callback_id):
        host = self._host(via)
        for entry in host.callbacks:
            if entry[0] == callback_id:
                host.callbacks.remove(entry)
                return 0
        raise _err('invalid argument: callback %s not registered' % callback_id,
                   fakelibvirt.VIR_ERR_INVALID_ARG)

    def _monitor_event_register(self, conn, dom, event, cb, opaque, flags=0):
        return self._register(conn, 'qmp', dom, event, cb, opaque)

    def _queue_event(self, conn, kind, dom, *args):
        """Queue the callbacks registered for ``kind`` on ``dom``'s host."""
        uuid = dom.UUIDString()
        for _id, via, k, dom_uuid, name, cb, opaque in list(self._host(conn).callbacks):
            if k == kind and dom_uuid in (None, uuid) and (
                    kind != 'qmp' or name in (None, args[0])):
                self._queue.put((cb, (via, dom) + args + (opaque,)))

    def _dispatch(self):
        """libvirt's event loop: one thread runs every callback, in order."""
        while not self._stopping:
            try:
                cb, args = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                cb(*args)
            except Exception:  # libvirt logs it and goes on
                LOG.exception('event callback %s failed', cb)
            finally:
                self._queue.task_done()

    def settle(self):
        """Wait until every queued event callback has run."""
        self._queue.join()

    def _qmp_event(self, qemu, name, data):
        dom = qemu.owner
        now = time.time()
        self._queue_event(dom._connection, 'qmp', dom, name, int(now), int(now % 1 * 1e6),
                          None if data is None else json.dumps(data))
        if name == 'STOP' and dom._state == fakelibvirt.VIR_DOMAIN_RUNNING:
            self._set_state(dom, fakelibvirt.VIR_DOMAIN_PAUSED, fake_libvirt.SUSPENDED)
        elif name == 'RESUME' and dom._state == fakelibvirt.VIR_DOMAIN_PAUSED:
            self._set_state(dom, fakelibvirt.VIR_DOMAIN_RUNNING, fake_libvirt.RESUMED)

    def _crashed(self, qemu):
        self._stop(qemu.owner, fakelibvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED)

    def _monitor_command(self, dom, cmd, flags=0):
        self._check(dom)
        qemu = self._dom(dom).qemu
        if qemu is None or not self._active(dom):
            raise _not_running()
        if flags & 1:
            raise _err('fake QEMU speaks QMP only', fakelibvirt.VIR_ERR_NO_SUPPORT)
        try:
            request = json.loads(cmd)
        except ValueError:
            reply = {'error': {'class': 'GenericError', 'desc': 'JSON parse error'}}
        else:
            reply = qemu.execute(request.get('execute'), request.get('arguments') or {})
        reply['id'] = 'libvirt-%d' % next(self._ids)
        return json.dumps(reply)

    def kill(self, dom):
        """The domain's QEMU dies (libvirt: STOPPED, FAILED)."""
        dom = getattr(dom, 'dom', dom)
        if self._dom(dom).qemu is not None:
            self._stop(dom, fakelibvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED)

    def qemu(self, dom):
        """The fake QEMU of a running domain (a Domain or an engine Guest)."""
        return self._dom(getattr(dom, 'dom', dom)).qemu

    def add_file(self, conn, path, capacity=1 << 30, fmt='qcow2', backing=None,
                 backing_fmt=None, data=None):
        """Put an image file on a host (its directories too)."""
        host = self._host(conn)
        host.mkdir(os.path.dirname(path))
        host.images[path] = fake_qmp.Image(capacity, fmt, backing, backing_fmt, data)
        return host.images[path]

    def add_dir(self, conn, path):
        self._host(conn).mkdir(path)

    def files(self, conn):
        """{path: Image} of a host."""
        return self._host(conn).images

    def read_image(self, conn, path):
        """What a guest would read from ``path`` (its backing chain merged)."""
        return fake_qmp.read_chain(self._host(conn).images, path)

    def pools(self, conn):
        return dict(self._host(conn).pools)

    def listeners(self):
        """{(host, port): kind} of every open fake TCP socket."""
        return {k: v[0] for k, v in self.env.network.listeners.items()}

    def hook(self, command, fn, domain=None, once=True):
        """Run ``fn(qemu, arguments)`` before ``command`` (on ``domain``, a
        name); it may raise fake_qmp.QmpError to fail the command."""
        with self.env.lock:
            self.env.hooks.append([command, domain, fn, once])

    def fail_next(self, command, desc='injected failure', error_class='GenericError',
                  domain=None):
        """The next ``command`` (on ``domain``) fails with this QMP error."""
        def fail(qemu, args):
            raise fake_qmp.QmpError(desc, error_class)
        self.hook(command, fail, domain)

    def during_migration(self, fn):
        """Run ``fn(source qemu, pass number)`` after each RAM pass (the
        guest runs: it may write memory and disks)."""
        with self.env.lock:
            self.env.pass_hooks.append(fn)

    def kill_incoming(self, when='active'):
        """The next clone (incoming QEMU) dies when its source's migration
        reaches ``when``: 'active' (memory copy), 'pre-switchover', 'device'."""
        self.env.kill_incoming_at = when
