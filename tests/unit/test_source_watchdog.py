"""The source host's watchdog: a source paused at its switch-over for too
long, or whose lease ran out, is given up on; at start-up the host's
active instances are cleaned of what clones left."""

import json
import time
from unittest import mock

from oslo_config import cfg
import pytest

from nova import objects

from nova_pwnetizer.virt import manager
from nova_pwnetizer.virt import source_lock
from nova_pwnetizer.virt import source_watchdog

objects.register_all()
CONF = cfg.CONF
SRC, OTHER, C1 = 'src-uuid', 'other-uuid', 'clone-1'


class Guest:
    def __init__(self, status=None, state='running', active=True):
        self.status, self.state, self.active = status, state, active

    def migration_status(self):
        return {'status': self.status} if self.status else {}

    def is_active(self):
        return self.active


class Sources:
    def __init__(self, leases):
        self.leases = leases
        self.given_up = []

    def holders(self):
        return dict(self.leases)

    def give_up(self, source_uuid, clone_uuid, why):
        self.given_up.append((source_uuid, clone_uuid, why))
        self.leases.pop(source_uuid, None)

    def is_leased(self, uuid):
        return uuid in self.leases

    def restore(self, source_uuid, clone_uuid, expires_at):
        self.leases[source_uuid] = (clone_uuid, expires_at)


@pytest.fixture(autouse=True)
def clones():
    """Why each clone has ended (source_watchdog.clone_ended); absent:
    building."""
    ended = {}
    with mock.patch.object(source_watchdog, 'clone_ended',
                           side_effect=lambda _ctx, uuid: ended.get(uuid)), \
            mock.patch.object(source_watchdog.nova_context, 'get_admin_context',
                              return_value='adm'):
        yield ended


def watchdog(leases, guests):
    dog = source_watchdog.SourceWatchdog(Sources(leases), mock.Mock(), 'host1')
    dog._guest = guests.get
    return dog


def test_a_source_paused_at_the_switchover_past_the_bound_is_given_up():
    bound = source_watchdog.pause_bound_s()
    assert bound == 2 * CONF.pwnetizer.switchover_timeout + source_watchdog.GRACE_S
    guest = Guest('pre-switchover', 'paused')
    dog = watchdog({SRC: (C1, 10 ** 6)}, {SRC: guest})
    assert dog.check_once(now=100.0) == []            # paused: the switch-over begins
    assert dog.check_once(now=100.0 + bound) == []    # within the bound
    assert dog.check_once(now=100.5 + bound) == [(SRC, C1)]
    assert 'switch-over' in dog.sources.given_up[0][2]


def test_a_switchover_that_ends_in_time_resets_the_watch():
    guest = Guest('pre-switchover', 'paused')
    dog = watchdog({SRC: (C1, 10 ** 6)}, {SRC: guest})
    dog.check_once(now=0.0)
    guest.status, guest.state = 'completed', 'running'
    dog.check_once(now=1.0)
    guest.status, guest.state = 'pre-switchover', 'paused'   # (another round)
    assert dog.check_once(now=source_watchdog.pause_bound_s() + 0.5) == []


@pytest.mark.parametrize('guest', [Guest('active'), Guest(None, 'paused'),
                                   Guest('pre-switchover', 'running'), None])
def test_a_copy_in_progress_or_a_pause_that_is_not_the_switchover_is_left(guest):
    dog = watchdog({SRC: (C1, 10 ** 6)}, {SRC: guest} if guest else {})
    for now in (0.0, 10 ** 3):
        assert dog.check_once(now=now) == []


def test_a_lease_that_ran_out_is_given_up():
    dog = watchdog({SRC: (C1, 50.0), OTHER: (C1, 500.0)}, {SRC: Guest('active')})
    assert dog.check_once(now=60.0) == [(SRC, C1)]
    assert dog.sources.given_up[0][2] == 'its lease ran out'


def test_the_start_up_sweep_cleans_only_active_unleased_instances_with_leftovers():
    instances = [objects.Instance(uuid=u, vm_state=s, task_state=t, system_metadata={})
                 for u, s, t in (
        ('left', 'active', None), ('clean', 'active', None),
        ('building', 'building', 'spawning'), ('leased', 'active', 'cloning'),
        ('locked', 'active', 'cloning'))]
    guests = {u: Guest() for u in ('left', 'clean', 'building', 'leased', 'locked')}
    dog = watchdog({'leased': (C1, 10 ** 6)}, guests)
    leftovers = {'left': ['NBD node'], 'building': ['migration (active)'],
                 'leased': ['NBD node']}
    with mock.patch.object(objects.InstanceList, 'get_by_host', return_value=instances), \
            mock.patch.object(source_watchdog.recovery, 'source_leftovers',
                              side_effect=lambda g: leftovers.get(
                                  next(u for u, x in guests.items() if x is g), [])), \
            mock.patch.object(source_watchdog.recovery, 'recover_source') as recover, \
            mock.patch.object(source_watchdog.source_lock, 'unlock') as unlock:
        assert dog.sweep(context='ctx') == ['left']
    recover.assert_called_once_with(guests['left'])
    # the lock of a clone that ended before the restart; not a live clone's
    unlock.assert_called_once_with('ctx', 'locked')


def test_giving_up_recovers_the_source_and_frees_the_lease():
    ep = manager.CloneSourceManager(mock.Mock())
    ep._leases[SRC] = (C1, 10 ** 9)
    with mock.patch.object(ep, '_recover_source') as recover, \
            mock.patch.object(manager.nova_context, 'get_admin_context', return_value='adm'), \
            mock.patch.object(manager.source_lock, 'unlock') as unlock:
        ep.give_up(SRC, C1, 'test')
    recover.assert_called_once_with('adm', SRC, C1)
    unlock.assert_called_once_with('adm', SRC)
    assert not ep.is_leased(SRC)
    ep.driver.source_released.assert_called_once_with(SRC)


def test_a_clone_that_ended_without_saying_so_is_given_up_once_seen_twice(clones):
    dog = watchdog({SRC: (C1, 10 ** 6)}, {SRC: Guest('active')})
    clones[C1] = 'the clone is error without its target host saying so'
    assert dog.check_once(now=100.0) == []        # the target's news may be on its way
    assert dog.check_once(now=101.0) == []        # not looked up again yet
    assert dog.check_once(now=100.0 + source_watchdog.CLONE_CHECK_S) == [(SRC, C1)]
    assert 'error' in dog.sources.given_up[0][2]


def test_a_clone_seen_ended_once_then_building_again_is_left(clones):
    dog = watchdog({SRC: (C1, 10 ** 6)}, {SRC: Guest('active')})
    clones[C1] = 'the clone is gone'
    dog.check_once(now=100.0)
    del clones[C1]
    dog.check_once(now=105.0)
    clones[C1] = 'the clone is gone'
    assert dog.check_once(now=110.0) == []         # not twice in a row


def _locked(uuid, clone, expires_at):
    return objects.Instance(uuid=uuid, vm_state='active', task_state='cloning',
                            system_metadata={source_lock.LEASE_KEY: json.dumps(
                                {'clone': clone, 'expires_at': expires_at})})


def test_the_sweep_holds_again_the_lease_of_a_clone_still_building(clones):
    live = _locked('live', C1, time.time() + 300)
    expired = _locked('expired', 'clone-2', time.time() - 1)
    ended = _locked('ended', 'clone-3', time.time() + 300)
    clones['clone-3'] = 'the clone is gone'
    dog = watchdog({}, {u: Guest() for u in ('live', 'expired', 'ended')})
    with mock.patch.object(objects.InstanceList, 'get_by_host',
                           return_value=[live, expired, ended]), \
            mock.patch.object(source_watchdog.recovery, 'source_leftovers',
                              return_value=['migration (pre-switchover)']), \
            mock.patch.object(source_watchdog.recovery, 'recover_source') as recover, \
            mock.patch.object(source_watchdog.source_lock, 'unlock') as unlock:
        assert dog.sweep(context='ctx') == ['expired', 'ended']
    assert dog.sources.leases['live'][0] == C1
    assert 'expired' not in dog.sources.leases and 'ended' not in dog.sources.leases
    assert [c.args[1] for c in unlock.call_args_list] == ['expired', 'ended']
    assert recover.call_count == 2       # never the live clone's source
