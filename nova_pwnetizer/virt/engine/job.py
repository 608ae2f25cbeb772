"""The phase runner of one live clone, with its rollback.

Phases: validate, prepare, start-clone, disk-sync, memory, switch-over,
finalize, nic-swap, persist.  Every step that creates something pushes its
undo; on any failure (an exception, a QEMU that dies, a timeout, Ctrl-C)
the undos run in reverse, the source is left running and unpaused, and
:class:`~.exception.CloneFailed` names the phase.
"""

import contextlib
import fcntl
import logging
import os
import signal
import socket
import threading
import time
import uuid as uuidlib

from nova_pwnetizer.virt.engine import checks
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import events as events_mod
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import guardian as guardian_mod
from nova_pwnetizer.virt.engine import guest_step
from nova_pwnetizer.virt.engine import host_specific
from nova_pwnetizer.virt.engine import metadata
from nova_pwnetizer.virt.engine import migration
from nova_pwnetizer.virt.engine import mirror
from nova_pwnetizer.virt.engine import nics
from nova_pwnetizer.virt.engine import options as options_mod
from nova_pwnetizer.virt.engine import ports
from nova_pwnetizer.virt.engine import recovery
from nova_pwnetizer.virt.engine import result as result_mod
from nova_pwnetizer.virt.engine import storage

LOG = logging.getLogger(__name__)

# (under 255 characters: Nova stores it as a metadata value)
NO_GENID_WARNING = (
    'the source has no VM generation ID, so its clone has none either and its '
    'guest is not told it was cloned: boot the source once with <genid/> in its '
    'XML (under Nova: hard reboot it) to give its clones one')


def _no_progress(phase, fraction, message):
    pass


class CloneJob:
    """Clone the running ``source`` Guest onto ``target`` (a Host)."""

    def __init__(self, source, target=None, options=None, progress=None):
        self.source = source
        self.target = target or source.host
        self.options = (options or options_mod.CloneOptions()).validate()
        self.progress = progress or _no_progress
        self.same_host = self.target.same_as(source.host)
        self.result = result_mod.CloneResult(source=source.name, source_uuid=source.uuid,
                                             target_uri=self.target.uri)
        self.events = events_mod.EventHub()
        self.clone = None
        self.phase = None
        self._undo = []
        self._source_was_running = False
        self._guardian = None
        self._t0 = None
        self._phase_t = None

    # -- helpers -----------------------------------------------------------

    def _enter(self, phase, message=None):
        now = time.monotonic()
        if self.phase is not None:
            self.result.phases[self.phase] = round(now - self._phase_t, 4)
        self.phase, self._phase_t = phase, now
        if phase is not None:
            self.progress(phase, None, message or phase)

    def _push(self, what, fn, *args, **kwargs):
        self._undo.append((what, lambda: fn(*args, **kwargs)))

    def _elapsed(self):
        return time.monotonic() - self._t0

    # -- entry point ---------------------------------------------------------

    def run(self):
        """Make the clone; return a :class:`CloneResult`."""
        events_mod.start_event_loop()
        self._t0 = time.monotonic()
        with self._source_lock():
            try:
                self._enter('validate', 'checking %s' % self.source.name)
                self._validate()
                if self.options.guardian:
                    self._guardian = guardian_mod.Guardian(
                        self.source, self.target, self.identity.name,
                        [d.clone_path for d in self.disks]
                        + list(self.identity.paths.values()))
                self._enter('prepare', 'creating disks for %s' % self.identity.name)
                self._prepare()
                self._enter('start-clone', 'starting %s' % self.identity.name)
                self._start_clone()
                self._enter('disk-sync', 'copying disks')
                self._sync_disks()
                self._enter('memory', 'copying memory')
                self._migrate_memory()
                self._enter('switchover')
                self._switch_over()
                self._enter('finalize')
                self._finalize_clone()
                self._enter('nic-swap', 'giving the clone its own NICs')
                self._swap_nics()
                self._enter('persist')
                self._persist()
                self._enter(None)
            except BaseException as exc:
                failed_phase = self.phase
                self._enter(None)
                self._rollback()
                if isinstance(exc, (exception.SourceNotCloneable, exception.NameInUse,
                                    exception.InvalidOptions)):
                    raise
                reason = ('interrupted' if not isinstance(exc, Exception)
                          else getattr(exc, 'message', None) or str(exc) or repr(exc))
                raise exception.CloneFailed(failed_phase, reason) from exc
            finally:
                self.events.close()
                if self._guardian is not None:
                    self._guardian.release()
        self.result.time_to_ready = round(self._elapsed(), 4)
        self.progress('done', 1.0, '%s ready' % self.result.name)
        return self.result

    @contextlib.contextmanager
    def _source_lock(self):
        os.makedirs(recovery.LOCK_DIR, exist_ok=True)
        with open(recovery.lock_path(self.source.uuid), 'w') as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise exception.SourceNotCloneable(
                    self.source.name, ['another clone of it is in progress'])
            yield

    # -- phases ------------------------------------------------------------

    def _validate(self):
        self._source_was_running = self.source.state == 'running'
        source_tree = self.source.tree(migratable=True)
        self.live_tree = self.source.tree()
        reasons = checks.check_source(self.source, self.live_tree)
        reasons += checks.check_placement(source_tree, self.options.target_placement, reasons)
        reasons += checks.check_hosts(self.source.host, self.target, source_tree.get('type'))
        if not reasons:
            reasons += checks.check_target_machine(source_tree, self.target)
            reasons += storage.check_removable_media(self.live_tree, self.target,
                                                     self.same_host, self.options.own_files)
        nic_count = len(domainxml.interfaces(source_tree))
        if self.options.interfaces is not None and len(self.options.interfaces) != nic_count:
            reasons.append('%d interfaces given for %d NICs'
                           % (len(self.options.interfaces), nic_count))
        if self.options.macs is not None and len(self.options.macs) != nic_count:
            reasons.append('%d MACs given for %d NICs' % (len(self.options.macs), nic_count))
        if self.options.nic_models is not None and len(self.options.nic_models) != nic_count:
            reasons.append('%d NIC models given for %d NICs'
                           % (len(self.options.nic_models), nic_count))
        if reasons:
            raise exception.SourceNotCloneable(self.source.name, reasons)
        self.source_tree = source_tree

        name = self.options.name or self._free_name()
        if self.target.exists(name=name):
            raise exception.NameInUse('a domain named %r already exists on %s'
                                      % (name, self.target.uri))
        if self.options.uuid and self.target.exists(uuid=self.options.uuid):
            raise exception.NameInUse('a domain with UUID %s already exists on %s'
                                      % (self.options.uuid, self.target.uri))
        self.identity = domainxml.Identity(
            name=name, uuid=self.options.uuid or str(uuidlib.uuid4()),
            genid=self._clone_genid(source_tree))
        for el, attr in domainxml.chardev_paths(source_tree):
            path = el.get(attr)
            self.identity.paths[path] = domainxml.clone_path(
                path, self.source.name, self.source.uuid, self.identity)
        self.disks = storage.plan(self.source, self.live_tree, self.target, self.identity,
                                  self.same_host, self.options.disk_dir,
                                  self.options.own_files)
        taken = storage.existing_files(
            self.target, [d.clone_path for d in self.disks]
            + [p for p in self.identity.paths.values() if not p.endswith('.sock')])
        if taken:
            raise exception.NameInUse('files for the clone already exist on the target: %s'
                                      % ', '.join(taken))
        self.address = self.options.migration_address or self._default_address()
        self.result.name, self.result.uuid = name, self.identity.uuid
        self.result.genid = self.identity.genid
        self.result.disk_sync = {d.dev: d.sync for d in self.disks}

    def _clone_genid(self, source_tree):
        """The clone's VM generation ID: a new one where the source has a
        <genid>.  A source without one is still cloned, without one (a
        vmgenid device the source lacks breaks the migration stream, and
        the guest would not see it before its next boot), with a warning
        in the result for the caller to pass on."""
        if source_tree.find('genid') is None:
            self.result.warnings.append(NO_GENID_WARNING)
            return None
        genid = self.options.genid or str(uuidlib.uuid4())
        if _same_uuid(genid, source_tree.findtext('genid')):
            raise exception.InvalidOptions(
                'the clone\'s VM generation ID must differ from its source\'s')
        return genid

    def _free_name(self):
        base = self.source.name + '-clone-'
        n = 1
        while self.target.exists(name=base + str(n)):
            n += 1
        return base + str(n)

    def _default_address(self):
        if self.same_host:
            return '127.0.0.1'
        if self.target.hostname:
            return self.target.hostname
        raise exception.InvalidOptions(
            'cannot tell the target host address from %s: pass a migration address'
            % self.target.uri)

    def _family_info(self):
        parent = metadata.of_tree(self.live_tree)
        return metadata.CloneInfo(
            family=parent.family if parent else self.source.uuid,
            source_uuid=self.source.uuid, source_name=self.source.name,
            source_host=self.source.host.uri, created=metadata.now(),
            generation=(parent.generation + 1) if parent else 1,
            owner_pid=os.getpid(), owner_host=socket.gethostname(),
            devices=dict(self.options.device_models or {}))

    def _prepare(self):
        paths = [d.clone_path for d in self.disks] + list(self.identity.paths.values())
        for directory in storage.directories(paths):
            self.target.ensure_directory(directory)
        for disk in self.disks:
            storage.create(self.target, disk)
            self._push('delete %s' % disk.clone_path, self.target.delete_file,
                       disk.clone_path)
        self.info = self._family_info()
        self.result.family = self.info.family

    def _start_clone(self):
        for path in self.identity.paths.values():
            self._push('delete %s' % path, self.target.delete_file, path)

        def start(port):
            uri = migration.MemoryMigration.incoming_uri(self.address, port)
            self.incoming_tree = domainxml.build_incoming(
                self.source_tree, self.identity, {d.dev: d.clone_path for d in self.disks},
                uri, self.info.to_xml(), own_files=self.options.own_files)
            if self.options.target_placement is not None:
                host_specific.rewrite(self.incoming_tree, self.options.target_placement)
            self.clone = self.target.create_guest(domainxml.tostring(self.incoming_tree),
                                                  paused=True)
        port = ports.listen_on_free_port(*self.options.port_range, start,
                                         'the migration stream')
        self._push('destroy clone %s' % self.identity.name, self._destroy_clone)
        self.events.watch('clone', self.clone)
        self.events.watch('source', self.source)
        status = self.clone.qmp('query-status')['status']
        if status != 'inmigrate':
            raise exception.PwnetizerError('clone QEMU is %s, not waiting for the '
                                           'migration stream' % status)
        self.migration = migration.MemoryMigration(self.source, self.clone, self.events,
                                                   self.options, self.address, port)
        self.migration.configure_clone()

    def _sync_disks(self):
        self.copy = mirror.DiskCopy(self.source, self.clone, self.disks, self.events,
                                    self.address, self.options.port_range,
                                    self.options.timeout_s,
                                    self.options.disk_bandwidth_mib * 1024 * 1024,
                                    self.options.disk_copy_mode or (
                                        'write-blocking' if self.same_host else 'background'))
        self._push('remove NBD exports and mirrors', self.copy.abort)
        self.copy.start_exports(exclude={self.migration.port})
        self.copy.start_mirrors()

        def tick():
            done, total = self.copy.progress()
            if total:
                self.progress('disk-sync', done / total,
                              'disks %d/%d MiB' % (done >> 20, total >> 20))
        self.copy.wait_ready(on_tick=tick)

    def _migrate_memory(self):
        self._push('restore migration settings', self.migration.restore)
        self.migration.configure_source()
        self._push('cancel migration', self.migration.cancel)
        self.migration.start()

        def tick():
            self.copy.assert_healthy()
            done, total, remaining = self.migration.progress()
            if total:
                self.progress('memory', 1 - remaining / total if total else None,
                              'memory %d MiB sent, %d MiB left'
                              % (done >> 20, remaining >> 20))
        self.migration.wait_pre_switchover(on_tick=tick)

    def _switch_over(self):
        # The source is paused now (QEMU stopped it at pre-switchover).
        steps = self.result.switchover_steps
        t_pre = last = time.monotonic()

        def step(name):
            nonlocal last
            now = time.monotonic()
            steps[name] = round((now - last) * 1000, 2)
            last = now
        stop = self.events.events('source', 'STOP')
        if stop:
            steps['event_lag'] = round((time.time() - stop[-1].timestamp) * 1000, 2)
        # The source is paused: these waits get the short switch-over limit.
        self.copy.complete(self.options.switchover_timeout_s)
        step('disks_finished')
        self.migration.continue_switchover()
        self.migration.wait_source_completed(self.options.switchover_timeout_s)
        step('final_copy')
        if self.options.switchover_hook is not None:
            self.migration.wait_clone_completed()
            self.options.switchover_hook(self.source, self.clone)
            step('hook')
        self._resume_source()
        step('resume')
        self.result.switchover_ms = round((time.monotonic() - t_pre) * 1000, 2)
        self.copy.release_nodes()
        stats = self.migration.stats()
        self.migration.restore()
        ram = stats.get('ram') or {}
        self.result.downtime_ms = stats.get('downtime')
        self.result.memory_bytes = ram.get('transferred', 0)
        self.result.memory_total_bytes = ram.get('total', 0)
        self.result.disk_bytes = self.copy.bytes_copied
        self._record_source_pause()

    def _resume_source(self):
        """Resume the source as soon as QEMU lets us (it leaves finish-migrate)."""
        deadline = time.monotonic() + 10
        tries = 0
        while True:
            tries += 1
            try:
                self.source.resume()
                self.result.switchover_steps['resume_tries'] = tries
                return
            except Exception as e:  # libvirtError: "Migration is not finalized yet"
                if time.monotonic() > deadline:
                    raise exception.PwnetizerError('cannot resume the source: %s' % e)
                self.result.switchover_steps['resume_error'] = str(e)[:80]
                time.sleep(0.001)

    def _record_source_pause(self):
        stops = self.events.events('source', 'STOP')
        try:
            resume = self.events.wait(lambda e: e.role == 'source' and e.name == 'RESUME',
                                      5, 'the source RESUME event')
        except exception.CloneTimeout:
            return
        if stops:
            self.result.source_stopped_at = stops[-1].timestamp
            self.result.source_resumed_at = resume.timestamp
            self.result.source_paused_ms = round(
                (resume.timestamp - stops[-1].timestamp) * 1000, 2)

    def _finalize_clone(self):
        self.migration.wait_clone_completed()
        self.copy.stop_exports()
        if self.options.start:
            self.clone.resume()
            self.result.running = True
        self.result.time_to_running = round(self._elapsed(), 4)

    def _final_interfaces(self):
        source_ifaces = domainxml.interfaces(self.source_tree)
        if self.options.interfaces is not None:
            return self._given_interfaces(source_ifaces)
        macs = self.options.macs or self._new_macs(len(source_ifaces))
        models = self.options.nic_models or [None] * len(source_ifaces)
        finals = []
        for iface, mac, model in zip(source_ifaces, macs, models):
            finals.append(domainxml.final_interface(iface, mac, model))
            old_model = iface.find('model')
            self.result.nics.append({
                'old_mac': iface.find('mac').get('address'), 'mac': mac,
                'model': model or (old_model.get('type') if old_model is not None else None)})
        return finals

    def _given_interfaces(self, source_ifaces):
        finals = [domainxml.parse(xml) for xml in self.options.interfaces]
        for iface, final in zip(source_ifaces, finals):
            model = final.find('model')
            self.result.nics.append({
                'old_mac': iface.find('mac').get('address'),
                'mac': final.find('mac').get('address'),
                'model': model.get('type') if model is not None else None})
        return finals

    def _new_macs(self, count):
        taken = {m.get('address') for g in self.target.list_guests()
                 for m in g.tree().iterfind('devices/interface/mac')}
        macs = []
        while len(macs) < count:
            mac = domainxml.random_mac()
            if mac not in taken and mac not in macs:
                macs.append(mac)
        return macs

    def _swap_nics(self):
        """The clone's own NICs; with a guest agent, plugged link-down until
        the guest step (:mod:`.guest_step`) has made the guest itself."""
        self.final_interfaces = self._final_interfaces()
        if not self.options.start:
            return
        step = guest_step.GuestStep(self.clone, self.options, self.identity.uuid,
                                    genid_changed=self.identity.genid is not None)
        unavailable = step.available(self.live_tree)
        plugged = self.final_interfaces
        if unavailable is None:
            step.start({nic['old_mac']: nic['mac'] for nic in self.result.nics})
            plugged = [nics.with_link(iface, 'down') for iface in self.final_interfaces]
        if plugged:
            self.result.nic_swap_s = round(nics.swap(
                self.clone, self.events, plugged, self.options.unplug_timeout_s), 4)
        if unavailable is not None:
            self.result.guest_step = unavailable.to_dict()
            return
        report = step.finish(
            lambda: nics.set_links(self.clone, self.final_interfaces, 'up'))
        self.result.guest_step = report.to_dict()
        if report.status != 'done':
            self.result.warnings.append('the guest step failed: %s' % report.reason)

    def _persist(self):
        self.info.state = 'ready'
        self.info.owner_pid = self.info.owner_host = None
        if self.result.nics and self.result.nics[0]['model']:
            self.info.devices.setdefault('nic', self.result.nics[0]['model'])
        self.result.devices = dict(self.info.devices)
        tree = domainxml.build_persistent(self.incoming_tree, self.final_interfaces,
                                          self.info.to_xml())
        if self.options.persistent_rewrite is not None:
            self.options.persistent_rewrite(tree)
        if self.options.persistent:
            self.target.conn.defineXML(domainxml.tostring(tree))
            self.result.persistent = True
        self.clone.set_metadata(self.info.to_xml(qualified=False), metadata.PREFIX,
                                metadata.NAMESPACE, live=True)

    # -- rollback ----------------------------------------------------------

    def _destroy_clone(self):
        if self.clone is None:
            return
        self.events.unwatch_critical('clone')
        self.clone.destroy()
        self.clone.undefine()

    def _rollback(self):
        with _sigint_deferred():
            copy = getattr(self, 'copy', None)
            if copy is not None:
                copy.cut_connections()  # before anything may wait on a dead link
            while self._undo:
                what, undo = self._undo.pop()
                try:
                    undo()
                except Exception as e:  # keep undoing whatever fails
                    LOG.error('rollback step "%s" failed: %s', what, e)
            self._ensure_source_running()

    def _ensure_source_running(self):
        """Resume the source if the job paused it; never one paused by its user."""
        if not self._source_was_running:
            return
        try:
            if self.source.state == 'paused':
                LOG.warning('resuming %s after a failed clone', self.source.name)
                self._resume_source()
        except Exception as e:
            LOG.error('could not resume the source %s: %s', self.source.name, e)


def _same_uuid(one, other):
    try:
        return uuidlib.UUID(one.strip()) == uuidlib.UUID(other.strip())
    except (AttributeError, TypeError, ValueError):
        return False


@contextlib.contextmanager
def _sigint_deferred():
    """Let a rollback finish even if Ctrl-C is pressed again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda *a: pending.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
