"""The clone coordination endpoint each pwnetizer compute host serves.

It answers for the instances that run on this host, when another host
is about to clone one of them (:mod:`.rpcapi` is the client).  It checks
each request itself, whatever the request context says (Nova elevates it
on some paths): the clone's signed contract must verify and be for that
clone, and the source, the clone and the contract must be of one project.
It acts on the end of a clone only for the clone that holds the source's
lease here: what it undoes is that clone's work, never another's.
"""

import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging

from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.objects import base as objects_base
from nova import rpc
from nova.virt import event as virtevent

from nova_pwnetizer import clone_secret
from nova_pwnetizer.objects import base as signed_objects
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer.virt.engine import exception as engine_exception
from nova_pwnetizer.virt.engine import guest as engine_guest
from nova_pwnetizer.virt.engine import host as engine_host
from nova_pwnetizer.virt.engine import recovery
from nova_pwnetizer.virt import rpcapi
from nova_pwnetizer.virt import source_errors
from nova_pwnetizer.virt import source_lock

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


# What a source's switch-over looks like to Nova: QEMU pauses the source
# for milliseconds, the engine resumes it.
SWITCHOVER_TRANSITIONS = (virtevent.EVENT_LIFECYCLE_PAUSED,
                          virtevent.EVENT_LIFECYCLE_RESUMED,
                          virtevent.EVENT_LIFECYCLE_MIGRATION_COMPLETED)


SourceNotReady = source_errors.SourceNotReady
SourceBusy = source_errors.SourceBusy


LEASE_GRACE_S = 60


def lease_s(disks: int = 1, nics: int = 1) -> float:
    """How long one clone of a source with ``disks`` disks and ``nics`` NICs
    may hold it, from the source host's answer on: the longest the engine
    then waits, each wait bounded by its own limit -- each disk copy to
    catch up and its export to close, and the memory copy to converge
    (``clone_timeout`` each), two waits with the source paused
    (``switchover_timeout``), each NIC's swap (``unplug_timeout``), the
    guest step (``guest_step_timeout``, its agent's ping included) -- and
    the rollback's grace.  (The target does what it can before it asks:
    ports, device models, boot files.)"""
    pwn = CONF.pwnetizer
    return ((2 * max(disks, 1) + 1) * pwn.clone_timeout + 2 * pwn.switchover_timeout
            + max(nics, 1) * pwn.unplug_timeout + pwn.guest_step_timeout + LEASE_GRACE_S)


class CloneSourceManager:
    """RPC endpoint; ``driver`` is this host's PwnetizerDriver.

    It leases each source to one clone at a time, from ``prepare_source``
    to ``finish_source`` (or the lease's end, should a target host die).
    """

    target = messaging.Target(version=rpcapi.VERSION)

    def __init__(self, driver):
        self.driver = driver
        self._leases = {}          # source uuid -> (clone uuid, monotonic expiry)
        self._lock = threading.Lock()

    def _lease(self, source_uuid: str, clone_uuid: str, disks: int = 1,
               nics: int = 1) -> float:
        """Lease ``source_uuid`` to ``clone_uuid``; its end (epoch s)."""
        now = time.monotonic()
        length = lease_s(disks, nics)
        with self._lock:
            holder = self._leases.get(source_uuid)
            if holder and holder[0] != clone_uuid and holder[1] > now:
                raise SourceBusy('source server %s is being cloned to %s'
                                 % (source_uuid, holder[0]))
            self._leases[source_uuid] = (clone_uuid, now + length)
        return time.time() + length

    def restore(self, source_uuid: str, clone_uuid: str, expires_at: float) -> None:
        """Hold again, after a restart, the lease recorded on the source."""
        with self._lock:
            self._leases[source_uuid] = (
                clone_uuid, time.monotonic() + max(0.0, expires_at - time.time()))

    def _release(self, source_uuid, clone_uuid):
        with self._lock:
            if self._leases.get(source_uuid, (None,))[0] != clone_uuid:
                return
            del self._leases[source_uuid]
        try:
            source_lock.unlock(nova_context.get_admin_context(), source_uuid)
        except Exception:   # (the conductor, the database): locked until the
            # next start-up sweep of this service clears it
            LOG.exception('Could not unlock the source %s after clone %s', source_uuid,
                          clone_uuid)
        self.driver.source_released(source_uuid)

    def holders(self) -> dict:
        """{source uuid: (clone uuid, monotonic expiry)} of the leases."""
        with self._lock:
            return dict(self._leases)

    def give_up(self, source_uuid: str, clone_uuid: str, why: str) -> None:
        """End the lease of ``clone_uuid`` on ``source_uuid`` as a failed
        clone: undo its work on the source (resuming it), free the lease.
        A later ``finish_source`` of that clone does nothing."""
        try:
            self._recover_source(nova_context.get_admin_context(), source_uuid,
                                 clone_uuid)
        finally:
            self._release(source_uuid, clone_uuid)

    def is_leased(self, source_uuid):
        """Whether a clone of ``source_uuid`` is in progress."""
        with self._lock:
            holder = self._leases.get(source_uuid)
            return holder is not None and holder[1] > time.monotonic()

    def is_switchover_event(self, event):
        """Whether ``event`` is the pause or resume of a source being cloned.

        Nova would act on each: look the instance up, ask libvirt for its
        power state and log "Instance is paused unexpectedly", on this
        host's CPUs while the source is paused.
        """
        return (isinstance(event, virtevent.LifecycleEvent)
                and event.get_transition() in SWITCHOVER_TRANSITIONS
                and self.is_leased(event.get_instance_uuid()))

    def _checked_contract(self, context, text, source_uuid, clone_uuid, live=True):
        """The clone's verified contract, or :class:`SourceNotReady`: it must
        verify, be for ``clone_uuid`` of the clone's own project, and name
        ``source_uuid`` as its source, or an earlier clone of the same
        request (a fan-out tree clones those too)."""
        if not text:
            raise SourceNotReady('the request carries no clone contract')
        try:
            contract = clone_contract.CloneContract.from_text(
                text, clone_secret.accepted_by(CONF.pwnetizer))
            clone = objects.Instance.get_by_uuid(context, clone_uuid)
            contract.check(clone_uuid, clone.project_id, live=live)
        except signed_objects.Unverified as e:
            raise SourceNotReady('the clone contract was refused: %s' % e)
        except nova_exception.InstanceNotFound:
            raise SourceNotReady('clone %s does not exist' % clone_uuid)
        if source_uuid != contract.source_uuid:
            try:
                parent = objects.Instance.get_by_uuid(context, source_uuid)
            except nova_exception.InstanceNotFound:
                raise SourceNotReady('source server %s does not exist' % source_uuid)
            if parent.uuid == clone.uuid or parent.project_id != contract.project_id \
                    or not clone.reservation_id \
                    or parent.reservation_id != clone.reservation_id:
                raise SourceNotReady('the clone contract is for another source')
        return contract

    @messaging.expected_exceptions(*source_errors.EXPECTED)
    def prepare_source(self, context, source_uuid, clone_uuid, contract=None):
        """Return ``{'domain', 'address', 'virt_type', 'host'}`` for the
        running source, or raise :class:`SourceNotReady` saying why not."""
        terms = self._checked_contract(context, contract, source_uuid, clone_uuid)
        try:
            instance = objects.Instance.get_by_uuid(context, source_uuid)
        except nova_exception.InstanceNotFound:
            raise SourceNotReady('source server %s does not exist' % source_uuid)
        if instance.project_id != terms.project_id:
            raise SourceNotReady('the clone contract is for another project')
        here = self.driver.service_host
        if instance.host != here:   # (tenants read the reason: no host names)
            LOG.info('Source %s of clone %s runs on %s, not here', source_uuid,
                     clone_uuid, instance.host)
            raise SourceNotReady('source server %s has moved to another host'
                                 % source_uuid)
        if instance.vm_state != vm_states.ACTIVE or instance.task_state not in (
                None, task_states.SPAWNING, source_lock.CLONING):
            raise SourceNotReady('source server %s is %s (task %s), not active'
                                 % (source_uuid, instance.vm_state, instance.task_state))
        try:
            guest = self.driver._host.get_guest(instance)
        except nova_exception.InstanceNotFound:
            raise SourceNotReady('source server %s has no domain on its host'
                                 % source_uuid)
        expires_at = self._lease(source_uuid, clone_uuid, len(guest.get_all_disks()),
                                 len(guest.get_interfaces()))
        locked = instance.task_state is not None or source_lock.lock(
            instance, clone_uuid, expires_at)
        if not locked:
            self._release(source_uuid, clone_uuid)
            raise SourceNotReady('source server %s has a task running (%s)'
                                 % (source_uuid, instance.task_state))
        LOG.info('Clone %s of this host\'s instance is starting', clone_uuid,
                 instance=instance)
        return {'domain': guest.name, 'host': here,
                'address': libvirt_address(here),
                'virt_type': CONF.libvirt.virt_type}

    def finish_source(self, context, source_uuid, clone_uuid, figures=None, error=None,
                      contract=None):
        try:
            self._checked_contract(context, contract, source_uuid, clone_uuid, live=False)
        except SourceNotReady as e:
            LOG.warning('Ignored the end of clone %s of %s: %s', clone_uuid, source_uuid, e)
            return
        with self._lock:
            holder = self._leases.get(source_uuid, (None,))[0]
        if holder != clone_uuid:
            LOG.info('Clone %s of %s ended; it holds no lease here: nothing to do',
                     clone_uuid, source_uuid)
            return
        if error:
            LOG.warning('Clone %s of instance %s failed: %s', clone_uuid, source_uuid,
                        error)
            try:
                self._recover_source(context, source_uuid, clone_uuid)
            finally:   # the next clone may start once the source is clean
                self._release(source_uuid, clone_uuid)
        else:
            self._release(source_uuid, clone_uuid)
            LOG.info('Clone %s of instance %s is ready: source paused %s ms',
                     clone_uuid, source_uuid, (figures or {}).get('source_paused_ms'))

    def _recover_source(self, context, source_uuid, clone_uuid):
        """Undo here what the failed clone left on the source.

        The target host rolls the clone back through its connection to
        this host's libvirtd; when that connection is what failed (the
        link between the hosts went down) its undo never reached the
        source, which kept the migration (paused at the switch-over, maybe),
        the mirror job and the NBD node.  This host reaches its own
        libvirtd whatever the link does, and is told of the failure over
        the message bus.
        """
        with self._lock:
            holder = self._leases.get(source_uuid, (None,))[0]
        if holder != clone_uuid:
            return  # not this clone's: what is there is another's own
        try:
            instance = objects.Instance.get_by_uuid(context, source_uuid)
            if instance.host != self.driver.service_host:
                return
            domain = self.driver._host.get_guest(instance)._domain
            guest = engine_guest.Guest(
                engine_host.Host(conn=self.driver._host.get_connection()), domain)
            left = recovery.source_leftovers(guest)
            if not left:
                return
            LOG.warning('Clone %s left %s on the source: cleaning up', clone_uuid,
                        ', '.join(left), instance=instance)
            recovery.recover_source(guest)
            LOG.info('Source cleaned up after the failed clone %s: %s', clone_uuid,
                     guest.state, instance=instance)
        except (nova_exception.InstanceNotFound, engine_exception.PwnetizerError) as e:
            LOG.warning('Could not check the source %s after the failed clone %s: %s',
                        source_uuid, clone_uuid, e)
        except Exception:
            LOG.exception('Cleaning up the source %s after the failed clone %s failed',
                          source_uuid, clone_uuid)


def libvirt_address(host):
    """Where other hosts reach the libvirtd of compute host ``host`` (this
    one): ``[libvirt] live_migration_inbound_addr``, else the host name;
    ``[pwnetizer] source_uri_template`` makes the URI of it."""
    return CONF.libvirt.live_migration_inbound_addr or host


def start_server(driver, endpoint):
    """Serve ``endpoint`` (a :class:`CloneSourceManager`) for this host;
    returns the server."""
    target = messaging.Target(topic=CONF.pwnetizer.rpc_topic, server=driver.service_host)
    server = rpc.get_server(target, [endpoint],
                            serializer=objects_base.NovaObjectSerializer())
    server.start()
    return server
