"""EventHub: waits see past events, time out, and fail when QEMU dies."""

import threading
import time

import pytest

from nova_pwnetizer.virt.engine import events
from nova_pwnetizer.virt.engine import exception


def _hub(critical=('clone',)):
    hub = events.EventHub()
    for role in critical:
        hub._critical[role] = role + '-domain'
    return hub


def _ev(role, name, **data):
    return events.Event(role, name, data, time.time())


def test_event_that_came_before_the_wait_is_found():
    hub = _hub()
    hub._add(_ev('source', 'BLOCK_JOB_READY', device='j'))
    got = hub.wait(lambda e: e.name == 'BLOCK_JOB_READY', 1, 'ready')
    assert got.data == {'device': 'j'}


def test_since_skips_older_events():
    hub = _hub()
    hub._add(_ev('clone', 'DEVICE_REMOVED', alias='net0'))
    mark = hub.mark()
    with pytest.raises(exception.CloneTimeout, match='timed out after 0 s waiting for x'):
        hub.wait(lambda e: e.name == 'DEVICE_REMOVED', 0.2, 'x', since=mark)


def test_wait_wakes_on_a_later_event_and_ticks():
    hub = _hub()
    ticks = []
    threading.Timer(0.3, hub._add, [_ev('source', 'MIGRATION', status='completed')]).start()
    got = hub.wait(lambda e: e.data.get('status') == 'completed', 5, 'done',
                   on_tick=lambda: ticks.append(1), tick=0.05)
    assert got.name == 'MIGRATION' and ticks


def test_death_of_a_critical_domain_fails_the_wait_at_once():
    hub = _hub()
    threading.Timer(0.1, hub._add, [_ev('clone', 'LIFECYCLE_STOPPED')]).start()
    start = time.monotonic()
    with pytest.raises(exception.DomainDied, match='clone-domain'):
        hub.wait(lambda e: False, 10, 'forever')
    assert time.monotonic() - start < 2


def test_death_of_an_unwatched_role_is_ignored():
    hub = _hub()
    hub.unwatch_critical('clone')
    hub._add(_ev('clone', 'LIFECYCLE_STOPPED'))
    hub._add(_ev('source', 'RESUME'))
    assert hub.wait(lambda e: e.name == 'RESUME', 1, 'resume').role == 'source'
