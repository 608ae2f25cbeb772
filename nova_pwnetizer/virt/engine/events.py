"""libvirt's event loop and a queue of the events one clone job waits on.

The engine reacts to QEMU's own QMP events (MIGRATION, STOP, RESUME,
BLOCK_JOB_*), passed through by libvirt, instead of polling: the source is
resumed the moment its migration completes.
"""

import dataclasses
import json
import logging
import threading
import time

import libvirt
import libvirt_qemu

from nova_pwnetizer.virt.engine import exception

LOG = logging.getLogger(__name__)

_loop_lock = threading.Lock()
_loop_running = False


def start_event_loop():
    """Run libvirt's default event loop in a daemon thread (idempotent).

    Call it before opening the connections whose events are needed.  A
    process that already runs the default implementation (nova-compute
    does) calls :func:`mark_event_loop_running` instead.
    """
    global _loop_running
    with _loop_lock:
        if _loop_running:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name='libvirt-events', daemon=True).start()
        _loop_running = True


def mark_event_loop_running():
    """Tell the engine that the host process already runs the loop."""
    global _loop_running
    with _loop_lock:
        _loop_running = True


@dataclasses.dataclass(frozen=True)
class Event:
    """One event: ``role`` says which domain it came from."""

    role: str
    name: str
    data: dict
    timestamp: float  # seconds, QEMU's clock for QMP events, ours otherwise


class _ConnDispatcher:
    """One registration per connection and event kind, fanned out by domain.

    libvirt keeps one callback per (connection, domain, event) and its
    remote driver forwards QMP events of only the first domain registered
    on a connection, so the engine registers once for all domains and
    dispatches by UUID itself: any number of jobs may watch one domain.
    Subscribers get ``(name, data, timestamp)``.
    """

    def __init__(self, conn):
        self._lock = threading.Lock()
        self._subscribers = {}
        libvirt_qemu.qemuMonitorEventRegister(conn, None, None, self._on_qmp, None, 0)
        conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                    self._on_lifecycle, None)
        conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                    self._on_removed, None)

    def _dispatch(self, dom, name, data, timestamp):
        with self._lock:
            callbacks = list(self._subscribers.get(dom.UUIDString(), ()))
        for callback in callbacks:
            callback(name, data, timestamp)

    def _on_qmp(self, _conn, dom, name, seconds, micros, details, _opaque):
        if isinstance(details, str):
            try:
                details = json.loads(details) if details else {}
            except ValueError:
                details = {'raw': details}
        self._dispatch(dom, name, details or {}, seconds + micros / 1e6)

    def _on_lifecycle(self, _conn, dom, event, detail, _opaque):
        name = _LIFECYCLE.get(event)
        if name:
            self._dispatch(dom, 'LIFECYCLE_' + name, {'detail': detail}, time.time())

    def _on_removed(self, _conn, dom, alias, _opaque):
        self._dispatch(dom, 'DEVICE_REMOVED', {'alias': alias}, time.time())

    def subscribe(self, uuid, callback):
        with self._lock:
            self._subscribers.setdefault(uuid, []).append(callback)

    def unsubscribe(self, uuid, callback):
        with self._lock:
            callbacks = self._subscribers.get(uuid, [])
            if callback in callbacks:
                callbacks.remove(callback)


_dispatchers = {}
_dispatchers_lock = threading.Lock()


def _dispatcher(conn):
    with _dispatchers_lock:
        key = id(conn)
        if key not in _dispatchers or _dispatchers[key][0] is not conn:
            _dispatchers[key] = (conn, _ConnDispatcher(conn))
        return _dispatchers[key][1]


_LIFECYCLE = {
    libvirt.VIR_DOMAIN_EVENT_STOPPED: 'STOPPED',
    libvirt.VIR_DOMAIN_EVENT_CRASHED: 'CRASHED',
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: 'SHUTDOWN',
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: 'SUSPENDED',
    libvirt.VIR_DOMAIN_EVENT_RESUMED: 'RESUMED',
}


class EventHub:
    """Collects the events of the domains of one clone job.

    Waiters scan the whole history, so an event that arrived before anyone
    waited for it is not lost.  A domain registered as *critical* that
    stops makes every wait fail at once with :class:`DomainDied`.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._events = []
        self._registrations = []
        self._critical = {}

    def watch(self, role, guest, critical=True):
        """Collect the events of ``guest`` under ``role``."""
        def on_event(name, data, timestamp):
            self._add(Event(role, name, data, timestamp))

        dispatcher = _dispatcher(guest.host.conn)
        uuid = guest.uuid
        dispatcher.subscribe(uuid, on_event)
        self._registrations.append(lambda: dispatcher.unsubscribe(uuid, on_event))
        if critical:
            self._critical[role] = guest.name

    def unwatch_critical(self, role):
        """Stop treating the death of ``role`` as fatal (it is being removed)."""
        with self._cond:
            self._critical.pop(role, None)

    def close(self):
        for deregister in reversed(self._registrations):
            try:
                deregister()
            except libvirt.libvirtError:
                pass  # the connection or domain is already gone
        self._registrations = []

    def _add(self, event):
        LOG.debug('event %s %s %s', event.role, event.name, event.data)
        with self._cond:
            self._events.append(event)
            self._cond.notify_all()

    def events(self, role=None, name=None):
        with self._cond:
            return [e for e in self._events
                    if (role is None or e.role == role) and (name is None or e.name == name)]

    def mark(self):
        """Position to pass as ``since`` to ignore the events so far."""
        with self._cond:
            return len(self._events)

    def wait(self, match, timeout, what, on_tick=None, tick=0.5, since=0):
        """Return the first event (from index ``since``) that ``match``es.

        ``on_tick`` runs every ``tick`` seconds while waiting (progress
        reports).  Raises :class:`CloneTimeout` after ``timeout`` seconds
        and :class:`DomainDied` when a critical domain stops.
        """
        deadline = time.monotonic() + timeout
        next_tick = time.monotonic() + tick
        with self._cond:
            while True:
                for event in self._events[since:]:
                    if (event.name in ('LIFECYCLE_STOPPED', 'LIFECYCLE_CRASHED')
                            and event.role in self._critical):
                        raise exception.DomainDied(
                            'QEMU of %s (%s) stopped while waiting for %s'
                            % (self._critical[event.role], event.role, what))
                    if match(event):
                        return event
                now = time.monotonic()
                if now >= deadline:
                    raise exception.CloneTimeout(
                        'timed out after %.0f s waiting for %s' % (timeout, what))
                if on_tick is not None and now >= next_tick:
                    self._cond.release()
                    try:
                        on_tick()
                    finally:
                        self._cond.acquire()
                    next_tick = time.monotonic() + tick
                    continue
                self._cond.wait(min(deadline, next_tick) - now)
