"""The source host's own watch over its sources being cloned: a source is
never left paused, whatever dies elsewhere.

A live clone pauses its source at the switch-over (QEMU waits at
``pre-switchover``) until the target host finishes it.  Should the target
host die there (its nova-compute and the clone's guardian killed, the link
cut, RabbitMQ down), nothing on the target resumes the source.  So the
source host checks its leased sources every second: one paused at the
switch-over for longer than the engine itself may wait there
(``2 * [pwnetizer] switchover_timeout``, plus a grace) is given up on --
the clone's migration cancelled and the source resumed, as after a failed
clone -- and so is a source whose lease has run out.  At start-up, when no
lease survives, it does the same for the host's active instances that
carry what a clone leaves on a source (see ``engine.recovery``).
"""

import threading
import time
import typing

import libvirt
from oslo_config import cfg
from oslo_log import log as logging

from nova.compute import vm_states
from nova import context as nova_context
from nova import objects

import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.virt.engine import guest as engine_guest
from nova_pwnetizer.virt.engine import host as engine_host
from nova_pwnetizer.virt.engine import recovery
from nova_pwnetizer.virt import source_lock

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

INTERVAL_S = 1.0
GRACE_S = 5.0
SWITCHOVER_STATES = ('pre-switchover', 'device')


def pause_bound_s() -> float:
    """The longest a source may stay paused at a switch-over (seconds)."""
    return 2 * CONF.pwnetizer.switchover_timeout + GRACE_S


class SourceWatchdog:
    """Watches the leases of ``sources`` (a CloneSourceManager) on the
    libvirt connection ``connection()`` gives."""

    def __init__(self, sources, connection: typing.Callable, host_name: str):
        self.sources = sources
        self._connection = connection
        self.host_name = host_name
        self._paused_since = {}       # (source uuid, clone uuid) -> monotonic
        self._stop = threading.Event()
        self._thread = None

    def _guest(self, uuid):
        try:
            domain = self._connection().lookupByUUIDString(uuid)
        except libvirt.libvirtError:
            return None
        return engine_guest.Guest(engine_host.Host(conn=self._connection()), domain)

    def check_once(self, now: float = None) -> list:
        """Give up on each leased source paused too long at its switch-over
        or whose lease ran out; returns the (source, clone) pairs given up."""
        now = time.monotonic() if now is None else now
        given_up = []
        holders = self.sources.holders()
        current = {(source, clone) for source, (clone, _) in holders.items()}
        for key in [k for k in self._paused_since if k not in current]:
            del self._paused_since[key]
        for source_uuid, (clone_uuid, expires) in holders.items():
            key = (source_uuid, clone_uuid)
            why = None
            if now > expires:
                why = 'its lease ran out'
            else:
                guest = self._guest(source_uuid)
                status = guest.migration_status().get('status') if guest is not None \
                    and guest.is_active() else None
                if status in SWITCHOVER_STATES and guest.state == 'paused':
                    since = self._paused_since.setdefault(key, now)
                    if now - since > pause_bound_s():
                        why = ('paused at the switch-over for %.0f s, longer than the '
                               'clone may take there' % (now - since))
                else:
                    self._paused_since.pop(key, None)
            if why:
                LOG.error('Giving up on clone %s of %s: %s; resuming the source',
                          clone_uuid, source_uuid, why)
                self.sources.give_up(source_uuid, clone_uuid, why)
                self._paused_since.pop(key, None)
                given_up.append(key)
        return given_up

    def sweep(self, context=None) -> list:
        """At start-up: clean what clones left on this host's active
        instances (no lease survives a restart); returns their uuids."""
        context = context or nova_context.get_admin_context()
        cleaned = []
        for instance in objects.InstanceList.get_by_host(context, self.host_name):
            if self.sources.is_leased(instance.uuid):
                continue
            if instance.task_state == source_lock.CLONING:   # a clone's lock, left
                LOG.warning('Unlocking this instance: the clone that locked it ended '
                            'before this service started', instance=instance)
                source_lock.unlock(context, instance.uuid)
            if instance.vm_state != vm_states.ACTIVE:
                continue
            guest = self._guest(instance.uuid)
            if guest is None or not recovery.source_leftovers(guest):
                continue
            LOG.warning('A clone left %s on this instance before this service started: '
                        'cleaning up', ', '.join(recovery.source_leftovers(guest)),
                        instance=instance)
            recovery.recover_source(guest)
            cleaned.append(instance.uuid)
        return cleaned

    def start(self):
        try:
            self.sweep()
        except Exception:
            LOG.exception('Could not check the instances of this host for what '
                          'interrupted clones left')
        self._thread = threading.Thread(target=self._run, name='pwnetizer-watchdog',
                                        daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self):
        while not self._stop.wait(INTERVAL_S):
            try:
                self.check_once()
            except Exception:
                LOG.exception('The source watchdog failed a round')
