"""Memory: QEMU pre-copy migration from the source into the clone.

The source runs with ``pause-before-switchover`` so that the disk copies
can be finished while it is paused and before the clone may take over;
the clone runs with ``late-block-activate`` so that its disks are only
activated when its CPUs start, after its NBD exports are gone.  The
source's migration settings are restored afterwards.
"""

import logging
import time

from nova_pwnetizer.virt.engine import exception

LOG = logging.getLogger(__name__)

ACTIVE_STATES = ('setup', 'active', 'pre-switchover', 'device', 'wait-unplug',
                 'cancelling')
FAILED_STATES = ('failed', 'cancelled')
UNLIMITED_BANDWIDTH = 100 * 1024 ** 3  # bytes/s


class MemoryMigration:
    """The migration of one clone; ``source``/``clone`` are Guests."""

    def __init__(self, source, clone, events, options, address, port):
        self.source = source
        self.clone = clone
        self.events = events
        self.options = options
        self.address = address
        self.port = port  # the clone listens there from its start
        self.started = False
        self.completed = False
        self._saved_caps = None
        self._saved_params = None

    def _source_caps(self):
        caps = {'events': True, 'pause-before-switchover': True,
                'auto-converge': self.options.auto_converge}
        if self.options.xbzrle:
            caps['xbzrle'] = True
        return caps

    def _source_params(self):
        params = {'downtime-limit': int(self.options.downtime_limit_ms),
                  'max-bandwidth': int(self.options.bandwidth_mib * 1024 * 1024)
                  if self.options.bandwidth_mib else 0}
        return params

    @staticmethod
    def _caps(wanted):
        return {'capabilities': [{'capability': k, 'state': v} for k, v in wanted.items()]}

    def configure_clone(self):
        caps = {'events': True, 'late-block-activate': True}
        if self.options.xbzrle:
            caps['xbzrle'] = True
        self.clone.qmp('migrate-set-capabilities', **self._caps(caps))

    def configure_source(self):
        caps = self._source_caps()
        current = {c['capability']: c['state']
                   for c in self.source.qmp('query-migrate-capabilities')}
        self._saved_caps = {k: current.get(k, False) for k in caps}
        params = self._source_params()
        current_params = self.source.qmp('query-migrate-parameters')
        self._saved_params = {k: current_params[k] for k in params if k in current_params}
        if params.get('max-bandwidth') == 0:
            # 0 means "unlimited" to us; QEMU's own default is 128 MiB/s.
            params['max-bandwidth'] = UNLIMITED_BANDWIDTH
        self.source.qmp('migrate-set-capabilities', **self._caps(caps))
        self.source.qmp('migrate-set-parameters', **params)

    def restore(self):
        """Put the source's migration settings back as they were."""
        if self._saved_caps is not None:
            try:
                self.source.qmp('migrate-set-capabilities',
                                **self._caps(self._saved_caps))
                if self._saved_params:
                    self.source.qmp('migrate-set-parameters', **self._saved_params)
            except exception.PwnetizerError as e:
                LOG.warning('could not restore migration settings of %s: %s',
                            self.source.name, e)
            self._saved_caps = None

    @staticmethod
    def incoming_uri(address, port):
        return 'tcp:%s:%d' % (address, port)

    def start(self):
        self.source.qmp('migrate', uri=self.incoming_uri(self.address, self.port))
        self.started = True

    def _status(self, role, statuses, what, on_tick=None, since=0, timeout=None):
        def match(event):
            if event.role != role or event.name != 'MIGRATION':
                return False
            status = event.data.get('status')
            if status in FAILED_STATES:
                detail = self._failure_detail(role)
                raise exception.PwnetizerError(
                    'migration %s on the %s%s' % (status, role, detail))
            return status in statuses
        return self.events.wait(match, timeout or self.options.timeout_s, what,
                                on_tick=on_tick, since=since)

    def _failure_detail(self, role):
        guest = self.source if role == 'source' else self.clone
        try:
            info = guest.migration_status()
        except exception.PwnetizerError:
            return ''
        return ': %s' % info['error-desc'] if info.get('error-desc') else ''

    def wait_pre_switchover(self, on_tick=None):
        """Wait until the source is paused, ready for the final copy."""
        return self._status('source', ('pre-switchover',), 'the memory copy to converge',
                            on_tick=on_tick)

    def continue_switchover(self):
        self.source.qmp('migrate-continue', state='pre-switchover')

    def wait_source_completed(self, timeout=None):
        event = self._status('source', ('completed',), 'the switch-over to finish',
                             timeout=timeout)
        self.completed = True
        return event

    def wait_clone_completed(self):
        return self._status('clone', ('completed',), 'the clone to load the final state')

    def progress(self):
        """(bytes transferred, bytes total, remaining) of the RAM copy."""
        ram = self.source.migration_status().get('ram') or {}
        return ram.get('transferred', 0), ram.get('total', 0), ram.get('remaining', 0)

    def stats(self):
        return self.source.migration_status()

    def cancel(self):
        """Cancel a migration that has not completed; wait until it stopped."""
        if not self.started or self.completed:
            return
        try:
            status = self.source.migration_status().get('status')
        except exception.PwnetizerError as e:
            LOG.warning('cannot query migration of %s: %s', self.source.name, e)
            return
        if status not in ACTIVE_STATES:
            return
        try:
            self.source.qmp('migrate_cancel')
        except exception.PwnetizerError as e:
            LOG.warning('migrate_cancel on %s failed: %s', self.source.name, e)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status = self.source.migration_status().get('status')
            except exception.PwnetizerError:
                return
            if status not in ACTIVE_STATES:
                return
            time.sleep(0.01)
        LOG.error('migration of %s did not stop after cancel', self.source.name)
