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
clone -- and so is a source whose lease has run out, and one whose clone
has ended (failed, deleted, or active) without the target host saying so
(its nova-compute restarted).  At start-up it holds again each lease
recorded on a locked source whose clone is still building (the clone runs
on the target host and reaches this host's libvirtd, not this service),
and cleans the host's other active instances of what a clone leaves on a
source (see ``engine.recovery``).
"""

import threading
import time
import typing

import libvirt
from oslo_config import cfg
from oslo_log import log as logging

from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
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
CLONE_CHECK_S = 5.0     # how often the clones holding leases are looked up
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
        self._ended = {}              # (source uuid, clone uuid) -> times seen ended
        self._clones_checked = 0.0    # monotonic
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
        for watched in (self._paused_since, self._ended):   # leases gone since
            for key in [k for k in watched if k not in current]:
                del watched[key]
        ended = self._ended_clones(holders, now)
        for source_uuid, (clone_uuid, expires) in holders.items():
            key = (source_uuid, clone_uuid)
            why = None
            if now > expires:
                why = 'its lease ran out'
            elif key in ended:
                why = ended[key]
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

    def _ended_clones(self, holders: dict, now: float) -> dict:
        """{(source, clone): why} of the lease holders whose clone has ended
        -- seen so in two lookups in a row (``CLONE_CHECK_S`` apart), so
        that the target's own news has time to arrive."""
        if now - self._clones_checked < CLONE_CHECK_S:
            return {}
        self._clones_checked = now
        context = nova_context.get_admin_context()
        found = {}
        for source_uuid, (clone_uuid, _expires) in holders.items():
            key = (source_uuid, clone_uuid)
            why = clone_ended(context, clone_uuid)
            if why is None:
                self._ended.pop(key, None)
                continue
            self._ended[key] = self._ended.get(key, 0) + 1
            if self._ended[key] >= 2:
                found[key] = why
        return found

    def sweep(self, context=None) -> list:
        """At start-up: hold again the leases of clones still building, and
        clean what ended clones left on this host's active instances;
        returns the uuids of those cleaned."""
        context = context or nova_context.get_admin_context()
        cleaned = []
        for instance in objects.InstanceList.get_by_host(
                context, self.host_name, expected_attrs=['system_metadata']):
            if self.sources.is_leased(instance.uuid):
                continue
            lease = source_lock.lease_of(instance)
            if lease and lease.expires_at > time.time() and \
                    clone_ended(context, lease.clone_uuid) is None:
                LOG.info('Clone %s of this instance is still building: holding its lease '
                         'again, for %.0f s at most', lease.clone_uuid,
                         lease.expires_at - time.time(), instance=instance)
                self.sources.restore(instance.uuid, lease.clone_uuid, lease.expires_at)
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
        """Sweep, then check every ``INTERVAL_S`` in a thread of its own."""
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


def clone_ended(context, clone_uuid: str) -> typing.Optional[str]:
    """Why the clone ``clone_uuid`` is over (gone, or no longer building),
    or None while it builds."""
    try:
        clone = objects.Instance.get_by_uuid(context, clone_uuid)
    except nova_exception.InstanceNotFound:
        return 'the clone is gone'
    if clone.vm_state == vm_states.BUILDING:
        return None
    return 'the clone is %s without its target host saying so' % clone.vm_state
