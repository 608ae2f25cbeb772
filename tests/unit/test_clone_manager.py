"""The clone coordination endpoint's answers about a source instance, and
its own checks of each request (the contract, the project, the lease)."""

import contextlib
import re
import time
from unittest import mock

from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from nova import exception as nova_exception
from nova import objects
from nova.virt import event as virtevent

from nova_pwnetizer.virt import manager
from nova_pwnetizer.virt import source_lock
from tests.unit.fakes import C1
from tests.unit.fakes import C2
from tests.unit.fakes import contract
from tests.unit.fakes import instances_db as db
from tests.unit.fakes import SECRET
from tests.unit.fakes import SRC


@contextlib.contextmanager
def refused(cls, match=''):
    """prepare_source refuses with ``cls``, as the RPC server sends it
    back: declared expected (no traceback logged), the class itself."""
    with pytest.raises(messaging.ExpectedException) as caught:
        yield
    error = caught.value.exc_info[1]
    assert isinstance(error, cls), error
    assert re.search(match, str(error)), error


objects.register_all()
CONF = cfg.CONF
OTHER = '07e40000-0000-4000-8000-000000000000'   # another project's server


@pytest.fixture(autouse=True)
def conf():
    CONF.set_override('clone_secret', SECRET, group='pwnetizer')
    yield
    CONF.clear_override('clone_secret', group='pwnetizer')


def endpoint(guest_name='instance-00000001', missing=False):
    driver = mock.Mock(service_host=CONF.host)
    if missing:
        driver._host.get_guest.side_effect = nova_exception.InstanceNotFound(instance_id='x')
    else:
        driver._host.get_guest.return_value.name = guest_name
        driver._host.get_guest.return_value.get_all_disks.return_value = ['disk']
        driver._host.get_guest.return_value.get_interfaces.return_value = ['tap0']
    return manager.CloneSourceManager(driver)


def source(**kw):
    fields = dict(uuid=SRC, host=CONF.host, vm_state='active', task_state=None,
                  project_id='p', reservation_id='r-src', system_metadata={})
    fields.update(kw)
    return objects.Instance(**fields)


def test_prepare_source_says_where_the_running_source_is():
    with db(source()):
        info = endpoint().prepare_source('ctx', SRC, C1, contract=contract())
    assert info['domain'] == 'instance-00000001' and info['host'] == CONF.host
    assert info['address']


@pytest.mark.parametrize('instance,missing,message', [
    (source(host='elsewhere'), False, 'moved to another host'),
    (source(vm_state='stopped'), False, 'is stopped'),
    (source(task_state='rebooting'), False, 'task rebooting'),
    (source(), True, 'has no domain'),
])
def test_prepare_source_refuses_what_cannot_be_cloned(instance, missing, message):
    with db(instance):
        with refused(manager.SourceNotReady, message):
            endpoint(missing=missing).prepare_source('ctx', SRC, C1, contract=contract())


def test_prepare_source_of_a_deleted_server():
    with db():
        with refused(manager.SourceNotReady, 'does not exist'):
            endpoint().prepare_source('ctx', SRC, C1, contract=contract())


@pytest.mark.parametrize('text,source_uuid,clone_uuid,message', [
    (None, SRC, C1, 'carries no clone contract'),
    (contract(secret='another-secret-0123456789abcdefghij'), SRC, C1, 'does not verify'),
    (contract(), SRC, C2, 'for another server'),             # C1's contract, for C2
    (contract(project_id='q'), SRC, C1, 'for another project'),
    (contract(expires_at=1), SRC, C1, 'expired'),
    (contract(), OTHER, C1, 'for another source'),           # not the contract's source
    (contract(source_uuid=OTHER), OTHER, C1, 'for another project'),
])
def test_prepare_source_checks_the_request_itself(text, source_uuid, clone_uuid, message):
    # whatever the request context says: Nova elevates it on some paths
    ep = endpoint()
    with db(source(), source(uuid=OTHER, project_id='q')):
        with refused(manager.SourceNotReady, message):
            ep.prepare_source('admin-ctx', source_uuid, clone_uuid, contract=text)
    assert ep._leases == {}
    ep.driver._host.get_guest.assert_not_called()


def test_a_fanout_parent_of_the_same_request_may_be_cloned():
    parent = source(uuid=C2, reservation_id='r-1')   # an earlier clone of C1's request
    with db(parent):
        info = endpoint().prepare_source('ctx', C2, C1, contract=contract())
    assert info['domain']


def test_one_clone_at_a_time_per_source():
    ep = endpoint()
    with db(source()):
        ep.prepare_source('ctx', SRC, C1, contract=contract())
        ep.prepare_source('ctx', SRC, C1, contract=contract())   # the holder may ask again
        with refused(manager.SourceBusy, 'being cloned to ' + C1):
            ep.prepare_source('ctx', SRC, C2, contract=contract(C2))
        ep.finish_source('ctx', SRC, C1, figures={}, contract=contract())
        ep.prepare_source('ctx', SRC, C2, contract=contract(C2))


def test_finish_source_acts_only_for_the_lease_holder_with_its_contract():
    ep = endpoint()
    with db(source()), mock.patch.object(ep, '_recover_source') as recover:
        ep.prepare_source('ctx', SRC, C1, contract=contract())
        # no contract, a forged one, another clone's: nothing done, lease kept
        ep.finish_source('ctx', SRC, C1, error='x')
        ep.finish_source('ctx', SRC, C1, error='x',
                         contract=contract(secret='another-secret-0123456789abcdefghij'))
        ep.finish_source('ctx', SRC, C2, error='x', contract=contract(C2))
        recover.assert_not_called()
        assert ep.is_leased(SRC)
        # the holder's own end, even after its contract expired
        ep.finish_source('ctx', SRC, C1, error='x', contract=contract(expires_at=1))
    recover.assert_called_once_with('ctx', SRC, C1)
    assert not ep.is_leased(SRC)


def test_recovery_leaves_alone_a_source_it_holds_no_lease_for():
    ep = endpoint()
    with db(source()):
        ep._recover_source('ctx', SRC, C1)
    ep.driver._host.get_guest.assert_not_called()


def test_switchover_events_of_a_leased_source_are_recognised():
    ep = endpoint()
    paused = virtevent.LifecycleEvent(SRC, virtevent.EVENT_LIFECYCLE_PAUSED)
    resumed = virtevent.LifecycleEvent(SRC, virtevent.EVENT_LIFECYCLE_RESUMED)
    assert not ep.is_switchover_event(paused)                 # no clone yet
    with db(source()):
        ep.prepare_source('ctx', SRC, C1, contract=contract())
        assert ep.is_switchover_event(paused) and ep.is_switchover_event(resumed)
        assert not ep.is_switchover_event(
            virtevent.LifecycleEvent(SRC, virtevent.EVENT_LIFECYCLE_STOPPED))
        assert not ep.is_switchover_event(
            virtevent.LifecycleEvent(OTHER, virtevent.EVENT_LIFECYCLE_PAUSED))
        ep.finish_source('ctx', SRC, C1, figures={}, contract=contract())
    assert not ep.is_switchover_event(paused)
    ep.driver.source_released.assert_called_once_with(SRC)


def test_an_expired_lease_no_longer_hides_events():
    ep = endpoint()
    with db(source()):
        ep.prepare_source('ctx', SRC, C1, contract=contract())
    ep._leases[SRC] = (C1, time.monotonic() - 1)
    assert not ep.is_switchover_event(
        virtevent.LifecycleEvent(SRC, virtevent.EVENT_LIFECYCLE_PAUSED))


def test_the_source_is_locked_with_a_task_state_while_it_is_cloned():
    src = source()
    ep = endpoint()
    with db(src):
        ep.prepare_source('ctx', SRC, C1, contract=contract())
        assert src.task_state == 'cloning'          # 409 for Nova's other actions
        ep.prepare_source('ctx', SRC, C1, contract=contract())   # the holder again
        with refused(manager.SourceBusy):     # the next clone waits
            ep.prepare_source('ctx', SRC, C2, contract=contract(C2))
        with mock.patch.object(manager.nova_context, 'get_admin_context',
                               return_value='adm'):
            ep.finish_source('ctx', SRC, C1, figures={}, contract=contract())
        assert src.task_state is None
        ep.prepare_source('ctx', SRC, C2, contract=contract(C2))
        assert src.task_state == 'cloning'


def test_an_action_that_began_first_wins_over_the_lock():
    src = source(task_state='pausing')   # what the table holds ...
    ep = endpoint()
    with db(src):
        src.task_state = None            # ... after the endpoint read the source
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               side_effect=lambda _c, uuid, **_k: src if uuid == SRC
                               else objects.Instance(uuid=uuid, project_id='p')):
            with refused(manager.SourceNotReady, 'has a task running'):
                ep.prepare_source('ctx', SRC, C1, contract=contract())
    assert ep._leases == {}


def test_the_lease_is_recorded_on_the_source_and_cleared_with_the_lock():
    src = source()
    ep = endpoint()
    with db(src), mock.patch.object(manager.nova_context, 'get_admin_context',
                                    return_value='adm'):
        ep.prepare_source('ctx', SRC, C1, contract=contract())
        lease = source_lock.lease_of(src)
        assert lease.clone_uuid == C1
        assert abs(lease.expires_at - (time.time() + manager.lease_s(1, 1))) < 5
        ep.finish_source('ctx', SRC, C1, figures={}, contract=contract())
    assert source_lock.LEASE_KEY not in src.system_metadata
    assert source_lock.lease_of(src) is None


def test_the_lease_follows_the_limits_of_each_wait():
    pwn = CONF.pwnetizer
    assert manager.lease_s(2, 3) == (5 * pwn.clone_timeout + 2 * pwn.switchover_timeout
                                     + 3 * pwn.unplug_timeout + pwn.guest_step_timeout
                                     + manager.LEASE_GRACE_S)
    assert manager.lease_s(0, 0) == manager.lease_s(1, 1)


def test_a_restored_lease_keeps_other_clones_out():
    ep = endpoint()
    ep.restore(SRC, C1, time.time() + 100)
    assert ep.is_leased(SRC)
    with db(source(task_state='cloning')):
        with refused(manager.SourceBusy, 'being cloned to ' + C1):
            ep.prepare_source('ctx', SRC, C2, contract=contract(C2))
    ep.restore(SRC, C1, time.time() - 1)      # recorded, but over
    assert not ep.is_leased(SRC)


@pytest.mark.parametrize('sysmeta', [{}, {source_lock.LEASE_KEY: 'not json'},
                                     {source_lock.LEASE_KEY: '{"clone": "c"}'},
                                     {source_lock.LEASE_KEY: '[1]'}])
def test_a_missing_or_malformed_lease_is_none(sysmeta):
    assert source_lock.lease_of(source(task_state='cloning', system_metadata=sysmeta)) \
        is None
