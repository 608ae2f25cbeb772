"""Disk copy: the clone exports its new disks over NBD, the source mirrors.

The clone's QEMU (waiting for the migration stream) serves its empty disks
with ``nbd-server-start`` + ``block-export-add``, each through a node of its
own on the disk's image, in an I/O thread of its own: the clone's main loop
is busy loading the memory stream, and a copy request that waited for it
would hold up the source's stop (its disks drain the copy's in-flight
writes).  The guest's disk node stays inactive until the clone is resumed,
and then reads the image afresh, as after a migration on shared storage.
The source attaches each export as an NBD node and runs ``blockdev-mirror``
into it, with ``copy-mode: write-blocking`` on one host (every guest write
reaches both sides before it completes) or ``background`` across hosts
(guest writes never wait for the network; what is still dirty is copied at
the switch-over).  At switch-over (source paused) a soft
``block-job-cancel`` leaves each copy consistent and the NBD nodes go away
before the migration finishes, as libvirt does it.
"""

import functools
import logging

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import ports

LOG = logging.getLogger(__name__)

# The clone's I/O thread that serves the NBD exports.
IOTHREAD = 'pwn-nbd-iothread'

# Events that end a mirror job before the engine asked it to finish.
_FAILED = ('BLOCK_JOB_ERROR', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED')


def writer_node_options(plan):
    """``blockdev-add`` arguments of the node the clone's export writes through.

    A second node on the clone's image beside the guest's (still inactive)
    one, with no image locks of its own (the guest's node takes them when
    it is activated); a qcow2 overlay opens its backing file as the guest's
    does.  The source's flushes reach the image's disk (``fdatasync``), as
    they would through the guest's node: what the source's guest had made
    durable is durable in the clone when it starts (``cache.no-flush``
    would leave the copy in the page cache, and QEMU's flush-generation
    counter then skips the sync at close).
    """
    return {'driver': plan.fmt, 'node-name': plan.writer_node,
            'file': {'driver': 'file', 'filename': plan.clone_path, 'locking': 'off'}}


class DiskCopy:
    """The NBD exports and mirror jobs of one clone."""

    def __init__(self, source, clone, plans, events, address, port_range, timeout,
                 speed=0, copy_mode='write-blocking'):
        self.source = source
        self.clone = clone
        self.plans = plans
        self.events = events
        self.address = address
        self.port_range = port_range
        self.timeout = timeout
        self.speed = speed  # bytes/s per job, 0: unlimited
        self.copy_mode = copy_mode
        self.port = None
        self.bytes_copied = 0
        self._exports = []
        self._writers = []
        self._iothread = False
        self._nodes = []
        self._jobs = []
        self._server = False

    # -- clone side --------------------------------------------------------

    def start_exports(self, exclude=()):
        def listen(port):
            self.clone.qmp('nbd-server-start', addr={
                'type': 'inet', 'data': {'host': self.address, 'port': str(port)}})
        self.port = ports.listen_on_free_port(*self.port_range, listen, 'the NBD server',
                                              exclude=exclude)
        self._server = True
        self.clone.qmp('object-add', **{'qom-type': 'iothread', 'id': IOTHREAD})
        self._iothread = True
        for plan in self.plans:
            self.clone.qmp('blockdev-add', **writer_node_options(plan))
            self._writers.append(plan.writer_node)
            self.clone.qmp('block-export-add', type='nbd', id=plan.export,
                           **{'node-name': plan.writer_node, 'fixed-iothread': True},
                           iothread=IOTHREAD, name=plan.export, writable=True)
            self._exports.append(plan.export)

    def stop_exports(self):
        """Remove the exports (waiting until they are gone) and the server.

        Called once the copies are complete and the source has detached:
        a connection that the I/O thread has not closed yet is cut.
        """
        since = self.events.mark()
        for export in list(self._exports):
            try:
                self.clone.qmp('block-export-del', id=export, mode='hard')
            except exception.QMPError as e:
                if 'not found' not in (e.desc or '').lower():
                    raise
                self._exports.remove(export)
        for export in list(self._exports):
            self.events.wait(
                lambda e, x=export: e.role == 'clone' and e.name == 'BLOCK_EXPORT_DELETED'
                and e.data.get('id') == x,
                self.timeout, 'NBD export %s to close' % export, since=since)
            self._exports.remove(export)
        self._remove_server(self.clone.qmp)

    def _remove_server(self, qmp):
        """Remove the writer nodes, the I/O thread and the NBD server.

        ``qmp`` runs each command on the clone (raising, or logging for
        the rollback); the exports must be gone already.
        """
        for node in list(self._writers):
            qmp('blockdev-del', **{'node-name': node})
            self._writers.remove(node)
        if self._iothread:
            qmp('object-del', id=IOTHREAD)
            self._iothread = False
        if self._server:
            qmp('nbd-server-stop')
            self._server = False

    # -- source side -------------------------------------------------------

    def start_mirrors(self):
        for plan in self.plans:
            # cache.no-flush spares the clone's image an fdatasync per flush
            # where QEMU honours it; NBD's client flushes "to the OS" all the
            # same (NBD_CMD_FLUSH at the source's stop and at the end of the
            # copy: bench/pause_anatomy.py shows what they cost).
            self.source.qmp('blockdev-add', driver='nbd', **{'node-name': plan.nbd_node},
                            server={'type': 'inet', 'host': self.address,
                                    'port': str(self.port)},
                            export=plan.export, cache={'no-flush': True})
            self._nodes.append(plan.nbd_node)
            self.source.qmp('blockdev-mirror', **{
                'job-id': plan.job_id,
                'device': self.source.node_for_alias(plan.alias),
                'target': plan.nbd_node,
                'sync': plan.sync,
                'copy-mode': self.copy_mode,
                'speed': self.speed,
            })
            self._jobs.append(plan.job_id)

    def _job_event(self, job, names):
        return lambda e: (e.role == 'source' and e.name in names
                          and e.data.get('device') == job)

    @staticmethod
    def _raise_if_failed(event):
        if event.name in _FAILED:
            raise exception.PwnetizerError('disk copy %s stopped: %s' % (
                event.data.get('device'), event.data.get('error')
                or event.data.get('operation') or event.name.lower()))

    def _check_failed(self):
        for event in self.events.events('source'):
            if event.data.get('device') in self._jobs:
                self._raise_if_failed(event)

    def progress(self):
        """(bytes done, bytes total) over all mirror jobs."""
        done = total = 0
        for job in self.source.qmp('query-block-jobs'):
            if job.get('device') in self._jobs:
                done += job.get('offset', 0)
                total += job.get('len', 0)
        return done, total

    def wait_ready(self, on_tick=None):
        for job in self._jobs:
            def ready(event, job=job):
                if event.role != 'source' or event.data.get('device') != job:
                    return False
                self._raise_if_failed(event)
                return event.name == 'BLOCK_JOB_READY'
            self.events.wait(ready, self.timeout, 'disk copy %s to catch up' % job,
                             on_tick=on_tick)

    def assert_healthy(self):
        """Raise if a mirror job failed after it became ready."""
        self._check_failed()

    def complete(self, timeout=None):
        """At switch-over (source paused): finish the copies.

        The NBD nodes stay until :meth:`release_nodes`, after the source has
        been resumed: removing them is not part of its pause.
        """
        self._check_failed()
        since = self.events.mark()
        for job in self._jobs:
            self.source.qmp('block-job-cancel', device=job)
        for job in list(self._jobs):
            event = self.events.wait(
                self._job_event(job, ('BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED')),
                timeout or self.timeout, 'disk copy %s to finish' % job, since=since)
            if event.data.get('error'):
                raise exception.PwnetizerError(
                    'disk copy %s failed: %s' % (job, event.data['error']))
            self.bytes_copied += event.data.get('offset', 0)
            self._jobs.remove(job)

    def release_nodes(self):
        """Detach the source from the clone's NBD exports."""
        for node in list(self._nodes):
            self.source.qmp('blockdev-del', **{'node-name': node})
            self._nodes.remove(node)

    # -- rollback ------------------------------------------------------------

    def cut_connections(self):
        """Shut the NBD connections down at once (QMP ``yank``).

        A request stuck on a dead link would otherwise make every later
        drain (job cancel, node removal) wait with QEMU's big lock held:
        the source would freeze.  Yanked requests fail; the guest's own
        writes have already reached its disk.
        """
        for node in self._nodes:
            self._safe(self.source, 'yank',
                       instances=[{'type': 'block-node', 'node-name': node}])

    def abort(self):
        """Cancel whatever runs and remove every node and export (idempotent)."""
        self.cut_connections()
        since = self.events.mark()
        running = {j['device'] for j in self._safe(self.source, 'query-block-jobs') or []}
        for job in list(self._jobs):
            if job in running:
                self._safe(self.source, 'block-job-cancel', device=job, force=True)
                try:
                    self.events.wait(
                        self._job_event(job, ('BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED')),
                        30, 'disk copy %s to stop' % job, since=since)
                except exception.PwnetizerError as e:
                    LOG.warning('mirror %s did not stop: %s', job, e)
            self._jobs.remove(job)
        for node in list(self._nodes):
            self._safe(self.source, 'blockdev-del', **{'node-name': node})
            self._nodes.remove(node)
        if self.clone is not None and self.clone.is_active():
            for export in list(self._exports):
                self._safe(self.clone, 'block-export-del', id=export, mode='hard')
            self._remove_server(functools.partial(self._safe, self.clone))
        self._exports = []
        self._writers = []
        self._iothread = False
        self._server = False

    @staticmethod
    def _safe(guest, command, **args):
        try:
            return guest.qmp(command, **args)
        except Exception as e:  # rollback goes on whatever fails
            LOG.warning('%s on %s failed during rollback: %s', command, guest.name, e)
            return None
