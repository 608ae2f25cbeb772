"""The clone engine, unchanged, on Nova's fake libvirt with a fake QEMU.

Two fake hosts (fakelibvirt Connections), a running source with a qcow2
overlay over a base image, a NIC, a serial log file and a VM generation
ID; clones on one host and across hosts, and the failures that must leave
the source running and nothing of the clone behind.
"""

import logging
import os
import sys
import time
from unittest import mock
import uuid as uuidlib

import fixtures
from nova.tests.functional.libvirt import base as nova_base
import testtools

from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import metadata
from tests.functional import fake_qemu

MIB = 1 << 20
BASE = '/srv/base/cirros.raw'
SOURCE_XML = """<domain type='%(type)s'>
  <name>%(name)s</name>
  <uuid>%(uuid)s</uuid>
  <genid/>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/srv/vms/%(uuid)s/disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:01'/>
      <source bridge='br-test'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='/srv/vms/%(uuid)s/console.log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>"""


class EngineOnFakeLibvirtTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fake_qemu.FakeQemuFixture(strict_files=True))
        self.conn_a = self.fx.connection('host-a', addresses=['10.0.0.1'])
        self.conn_b = self.fx.connection('host-b', addresses=['10.0.0.2'])
        self.log = self.useFixture(fixtures.FakeLogger(name='nova_pwnetizer',
                                                       level=logging.INFO))

    def _boot(self, conn, name='web-1', domain_type='kvm', base_on=()):
        """Define and start a source on ``conn``; its base image is also put
        on the hosts ``base_on`` (Nova's _base cache)."""
        dom_uuid = str(uuidlib.uuid4())
        for c in (conn,) + tuple(base_on):
            self.fx.add_file(c, BASE, 64 * MIB, 'raw', data={0: 'mbr', 4096: 'kernel'})
        self.fx.add_file(conn, '/srv/vms/%s/disk' % dom_uuid, 64 * MIB, 'qcow2', BASE, 'raw',
                         data={8192: 'app-data', 0: 'mbr-patched'})
        dom = conn.defineXML(SOURCE_XML % {'name': name, 'uuid': dom_uuid,
                                           'type': domain_type})
        dom.createWithFlags(0)
        self.fx.qemu(dom).memory.update({'counter': 41, 'heap': ['a', 'b']})
        return dom

    def _options(self, **kwargs):
        kwargs.setdefault('guardian', False)
        return engine.CloneOptions(**kwargs)

    def _source(self, uri, name='web-1'):
        return engine.Host(uri).lookup(name)

    def _assert_cloned(self, result, source, target_conn, disk_sync):
        self.fx.settle()
        clone_dom = target_conn.lookupByName(result.name)
        clone = engine.Host(uri='qemu:///system', conn=target_conn).lookup(result.name)
        src_q, clone_q = self.fx.qemu(source), self.fx.qemu(clone_dom)
        # Running, the source too; its own identity.
        self.assertEqual('running', clone.state)
        self.assertEqual('running', clone_q.status)
        self.assertEqual('running', source.state)
        self.assertEqual('running', src_q.status)
        self.assertTrue(clone.is_persistent())
        self.assertNotEqual(source.name, clone.name)
        self.assertNotEqual(source.uuid, clone.uuid)
        src_tree, clone_tree = source.tree(), clone.tree()
        self.assertNotEqual(src_tree.findtext('genid'), clone_tree.findtext('genid'))
        self.assertTrue(clone_tree.findtext('genid'))
        src_mac = src_tree.find('devices/interface/mac').get('address')
        clone_mac = clone_tree.find('devices/interface/mac').get('address')
        self.assertNotEqual(src_mac, clone_mac)
        self.assertEqual([{'old_mac': src_mac, 'mac': clone_mac, 'model': 'virtio'}],
                         result.nics)
        self.assertEqual('bridge', clone_tree.find('devices/interface').get('type'))
        self.assertNotIn('-incoming', clone.xml(inactive=True))
        # The state: memory and disk as the source's at the switch-over.
        self.assertEqual(src_q.memory, clone_q.memory)
        self.assertEqual(src_q.read_disk('vda'), clone_q.read_disk('vda'))
        self.assertEqual({'vda': disk_sync}, result.disk_sync)
        clone_disk = clone_tree.find('devices/disk/source').get('file')
        self.assertEqual(BASE if disk_sync == 'top' else None,
                         self.fx.files(target_conn)[clone_disk].backing)
        self.assertIn('/srv/vms/%s/console.log' % result.uuid, self.fx.files(target_conn))
        # Figures.
        self.assertTrue(result.running and result.persistent)
        self.assertGreaterEqual(result.downtime_ms, 0)
        self.assertGreater(result.source_paused_ms, 0)
        self.assertGreater(result.switchover_ms, 0)
        self.assertEqual(64 * MIB, result.memory_total_bytes)
        self.assertGreaterEqual(result.memory_bytes, 64 * MIB)
        self.assertEqual(64 * MIB, result.disk_bytes)
        self.assertEqual({'validate', 'prepare', 'start-clone', 'disk-sync', 'memory',
                          'switchover', 'finalize', 'nic-swap', 'persist'},
                         set(result.phases))
        info = metadata.of_guest(clone)
        self.assertEqual(('ready', source.uuid, 1), (info.state, info.family, info.generation))
        self._assert_source_clean(source)
        self.assertEqual('completed', source.migration_status()['status'])

    def _assert_source_clean(self, source):
        self.assertEqual([], [n['node-name'] for n in source.qmp('query-named-block-nodes')
                              if n['node-name'].startswith('pwn-')])
        self.assertEqual([], source.qmp('query-block-jobs'))
        caps = {c['capability']: c['state']
                for c in source.qmp('query-migrate-capabilities')}
        self.assertFalse(caps['pause-before-switchover'])
        self.assertEqual({}, self.fx.listeners())
        self.assertEqual({}, self.fx.pools(self.conn_a))
        self.assertEqual({}, self.fx.pools(self.conn_b))

    def _assert_rolled_back(self, source, target_conn, clone_name, files_before,
                            clone_died=False):
        self.fx.settle()
        # No rollback step may fail, not even when the clone's QEMU died
        # (its transient domain is gone then).
        failed = [line for line in self.log.output.splitlines() if 'rollback step' in line]
        self.assertEqual([], failed)
        self.assertEqual('running', source.state)
        self.assertEqual('running', self.fx.qemu(source).status)
        self.assertRaises(engine.DomainNotFound,
                          engine.Host(uri='qemu:///system', conn=target_conn).lookup,
                          clone_name)
        self.assertEqual(sorted(files_before), sorted(self.fx.files(target_conn)))
        self._assert_source_clean(source)

    # -- clones ------------------------------------------------------------

    def test_clone_on_the_same_host(self):
        src_dom = self._boot(self.conn_a)
        source = engine.Host(uri='qemu:///system', conn=self.conn_a).lookup('web-1')
        result = engine.clone(source, options=engine.CloneOptions())   # with a guardian
        self.assertEqual('web-1-clone-1', result.name)
        self._assert_cloned(result, source, self.conn_a, 'top')
        self.assertEqual([('web-1-clone-1', True)],
                         [(g['clone'], g['released']) for g in self.fx.guardians])
        self.assertEqual(src_dom.UUIDString(), source.uuid)
        self.assertEqual(['MIGRATION_PASS'] * 3, [
            n for n, _ in self.fx.qemu(src_dom).events if n == 'MIGRATION_PASS'])

    def test_clone_across_hosts(self):
        self._boot(self.conn_a, domain_type='qemu')
        source = self._source('qemu+tcp://host-a/system')
        target = engine.Host('qemu+tcp://host-b/system')
        self.assertFalse(target.same_as(source.host))
        result = engine.clone(source, target, self._options(name='web-2'))
        self.assertEqual('web-2', result.name)
        self._assert_cloned(result, source, self.conn_b, 'full')
        self.assertRaises(fake_qemu.fakelibvirt.libvirtError, self.conn_a.lookupByName, 'web-2')

    def test_clone_across_hosts_over_a_shared_base_image(self):
        """Nova's style: the target's own connection, an address of it."""
        self._boot(self.conn_a, base_on=[self.conn_b])
        source = self._source('qemu+tcp://10.0.0.1/system')
        target = engine.Host(uri='qemu:///system', conn=self.conn_b)
        result = engine.clone(source, target,
                              self._options(migration_address='10.0.0.2'))
        self._assert_cloned(result, source, self.conn_b, 'top')

    def test_guest_writes_during_the_copy_reach_the_clone(self):
        for target_conn, uri in ((self.conn_a, None), (self.conn_b, 'qemu+tcp://host-b/system')):
            name = 'w-%s' % target_conn.hostname
            src_dom = self._boot(self.conn_a, name=name)
            src_q = self.fx.qemu(src_dom)

            def write(qemu, n, src_q=src_q):
                if qemu is src_q and n == 1:   # the guest runs: memory and disk change
                    src_q.write_disk('vda', 12288, 'written during the memory copy')
                    src_q.write_memory('counter', 42)
            self.fx.during_migration(write)
            source = self._source('qemu+tcp://host-a/system', name)
            target = engine.Host(uri) if uri else None
            result = engine.clone(source, target, self._options())
            self._assert_cloned(result, source, target_conn,
                                'top' if target is None else 'full')
            clone_q = self.fx.qemu(target_conn.lookupByName(result.name))
            self.assertEqual('written during the memory copy', clone_q.read_disk('vda')[12288])
            self.assertEqual(42, clone_q.memory['counter'])
            migration = source.migration_status()['ram']
            self.assertEqual(64 * MIB + 4096, migration['transferred'])   # one dirty page

    def test_a_taken_port_is_skipped(self):
        blocker_uuid = uuidlib.uuid4()
        self.fx.add_file(self.conn_a, '/srv/vms/%s/disk' % blocker_uuid)
        blocker = SOURCE_XML % {'name': 'blocker', 'uuid': blocker_uuid, 'type': 'kvm'}
        blocker = blocker.replace('</devices>', '</devices><qemu:commandline xmlns:qemu='
                                  "'%s'><qemu:arg value='-incoming'/><qemu:arg value="
                                  "'tcp:127.0.0.1:49152'/></qemu:commandline>"
                                  % fake_qemu.NS_QEMU)
        self.conn_a.createXML(blocker, 0)
        self.assertEqual({('host-a', 49152): 'migration'}, self.fx.listeners())
        # Both the clone's migration port and its NBD port try 49152 first.
        self.useFixture(fixtures.MonkeyPatch('nova_pwnetizer.virt.engine.ports.random',
                                             mock.Mock(randrange=lambda n: 0)))
        self._boot(self.conn_a)
        source = self._source('qemu+tcp://host-a/system')
        result = engine.clone(source, options=self._options(port_range=(49152, 49154)))
        self.assertEqual('running', source.host.lookup(result.name).state)
        clone_args = [a.get('value') for a in source.host.lookup(result.name).tree().iter(
            '{%s}arg' % fake_qemu.NS_QEMU)]
        self.assertEqual(['-incoming', 'tcp:127.0.0.1:49153'], clone_args)

    # -- failures ----------------------------------------------------------------

    def test_migrate_error_rolls_back(self):
        self._boot(self.conn_a)
        source = self._source('qemu+tcp://host-a/system')
        before = list(self.fx.files(self.conn_b))
        self.fx.fail_next('migrate', 'Failed to connect: injected')
        e = self.assertRaises(exception.CloneFailed, engine.clone, source,
                              engine.Host('qemu+tcp://host-b/system'),
                              self._options(name='doomed'))
        self.assertEqual('memory', e.phase)
        self.assertIn('injected', e.reason)
        self._assert_rolled_back(source, self.conn_b, 'doomed', before)

    def test_clone_dying_during_the_memory_copy_rolls_back(self):
        for when in ('active', 'pre-switchover'):
            name = 'src-' + when
            self._boot(self.conn_a, name=name)
            source = self._source('qemu+tcp://host-a/system', name)
            before = list(self.fx.files(self.conn_b))
            self.fx.kill_incoming(when)
            e = self.assertRaises(exception.CloneFailed, engine.clone, source,
                                  engine.Host('qemu+tcp://host-b/system'),
                                  self._options(name='doomed'))
            self.assertEqual('memory' if when == 'active' else 'switchover', e.phase)
            # Noticed as the clone's QEMU stopping, or as its NBD export gone.
            self.assertRegex(e.reason, 'stopped|Input/output error')
            self._assert_rolled_back(source, self.conn_b, 'doomed', before, clone_died=True)

    def test_clone_dying_during_the_disk_copy_rolls_back(self):
        self._boot(self.conn_a)
        source = self._source('qemu+tcp://host-a/system')
        before = list(self.fx.files(self.conn_a))
        self.fx.hook('blockdev-mirror',
                     lambda qemu, args: self.fx.kill(self.conn_a.lookupByName('doomed')))
        e = self.assertRaises(exception.CloneFailed, engine.clone, source,
                              options=self._options(name='doomed'))
        self.assertEqual('disk-sync', e.phase)
        self._assert_rolled_back(source, self.conn_a, 'doomed', before, clone_died=True)

    def test_unplug_never_acknowledged_rolls_back_after_the_switch_over(self):
        self._boot(self.conn_a)
        source = self._source('qemu+tcp://host-a/system')
        before = list(self.fx.files(self.conn_a))
        self.fx.unplug_ignored.add('doomed')
        e = self.assertRaises(exception.CloneFailed, engine.clone, source,
                              options=self._options(name='doomed', unplug_timeout_s=0.2))
        self.assertEqual('nic-swap', e.phase)
        self._assert_rolled_back(source, self.conn_a, 'doomed', before)

    # -- the fake itself ------------------------------------------------------------

    def test_remote_uris_open_the_registered_hosts(self):
        dom = self._boot(self.conn_b)
        host = engine.Host('qemu+tcp://host-b/system')
        self.assertEqual('qemu+tcp://host-b/system', host.uri)
        self.assertEqual('host-b', host.hostname)
        self.assertIs(dom, host.conn.lookupByName('web-1'))
        self.assertEqual((10, 0, 0), host.qemu_version)
        self.assertEqual((11, 0, 0), host.libvirt_version)
        self.assertRaisesRegex(engine.PwnetizerError, 'Connection refused',
                               lambda: engine.Host('qemu+tcp://nowhere/system').uri)

    def test_qmp_gaps_and_mistakes_are_visible(self):
        self._boot(self.conn_a)
        source = self._source('qemu+tcp://host-a/system')
        e = self.assertRaises(exception.QMPError, source.qmp, 'frobnicate')
        self.assertEqual('CommandNotFound', e.error_class)
        e = self.assertRaises(exception.QMPError, source.qmp, 'migrate',
                              uri='tcp:10.0.0.2:1234', blk=True)
        self.assertEqual("Parameter 'blk' is unexpected", e.desc)
        self.assertEqual({'status': 'running', 'running': True}, source.qmp('query-status'))
        source.qmp('migrate', uri='tcp:10.0.0.2:1234')   # nobody listens there
        self.fx.settle()
        self._wait(lambda: source.migration_status()['status'] == 'failed')
        self.assertIn('Connection refused', source.migration_status()['error-desc'])
        self.assertEqual('running', source.state)

    def test_suspend_and_resume_emit_qmp_and_lifecycle_events(self):
        dom = self._boot(self.conn_a)
        seen = []
        self.fx.libvirt_qemu.qemuMonitorEventRegister(
            self.conn_a, None, None, lambda *a: seen.append(('qmp', a[2])), None, 0)
        self.conn_a.domainEventRegisterAny(
            None, 0, lambda c, d, event, detail, o: seen.append(('lifecycle', event)), None)
        dom.suspend()
        self.assertEqual([fake_qemu.fakelibvirt.VIR_DOMAIN_PAUSED, 0], dom.state())
        dom.resume()
        self.fx.settle()
        self.assertEqual([('qmp', 'STOP'), ('lifecycle', 3), ('qmp', 'RESUME'),
                          ('lifecycle', 4)], seen)

    @staticmethod
    def _wait(predicate, timeout=5):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError('timed out')
            time.sleep(0.01)


class NovaServersTest(nova_base.ServersTestBase):
    """The fixture inside Nova's functional base: Nova boots the source."""

    def setUp(self):
        # Nova from a wheel: its api-paste.ini is under <prefix>/etc/nova.
        paste = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
        if os.path.exists(paste):
            self.flags(api_paste_config=paste, group='wsgi')
        super().setUp()
        self.fx = self.useFixture(fake_qemu.FakeQemuFixture())
        for hostname in ('compute1', 'compute2'):
            self.start_compute(hostname, libvirt_version=fake_qemu.LIBVIRT_VERSION,
                               qemu_version=fake_qemu.QEMU_VERSION)

    def test_clone_of_a_nova_server_on_another_host(self):
        server = self._create_server(host='compute1', networks='none')
        source = engine.Host('qemu+tcp://compute1/system').lookup(server['id'])
        self.assertEqual('running', source.state)
        conn2 = self.computes['compute2'].driver._host.get_connection()
        target = engine.Host(uri='qemu:///system', conn=conn2)
        result = engine.clone(source, target, engine.CloneOptions(
            guardian=False, migration_address='compute2'))
        clone = target.lookup(result.name)
        self.assertEqual(('running', 'running'), (clone.state, source.state))
        self.assertEqual({'vda': 'full'}, result.disk_sync)
        self.assertEqual(self.fx.qemu(source).read_disk('vda'),
                         self.fx.qemu(clone).read_disk('vda'))
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])['status'])
