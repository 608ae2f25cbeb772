"""The clone coordination endpoint's answers about a source instance."""

import time
from unittest import mock

from oslo_config import cfg
import pytest

from nova import exception as nova_exception
from nova import objects
from nova.virt import event as virtevent

from nova_pwnetizer.virt import manager

objects.register_all()
CONF = cfg.CONF


def endpoint(guest_name='instance-00000001', missing=False):
    driver = mock.Mock(service_host=CONF.host)
    if missing:
        driver._host.get_guest.side_effect = nova_exception.InstanceNotFound(instance_id='x')
    else:
        driver._host.get_guest.return_value.name = guest_name
    return manager.CloneSourceManager(driver)


def source(**kw):
    fields = dict(uuid='s', host=CONF.host, vm_state='active', task_state=None)
    fields.update(kw)
    return objects.Instance(**fields)


def test_prepare_source_says_where_the_running_source_is():
    with mock.patch.object(objects.Instance, 'get_by_uuid', return_value=source()):
        info = endpoint().prepare_source('ctx', 's', 'c')
    assert info['domain'] == 'instance-00000001' and info['host'] == CONF.host
    assert info['address']


@pytest.mark.parametrize('instance,missing,message', [
    (source(host='elsewhere'), False, 'runs on elsewhere'),
    (source(vm_state='stopped'), False, 'is stopped'),
    (source(task_state='rebooting'), False, 'task rebooting'),
    (source(), True, 'has no domain'),
])
def test_prepare_source_refuses_what_cannot_be_cloned(instance, missing, message):
    with mock.patch.object(objects.Instance, 'get_by_uuid', return_value=instance):
        with pytest.raises(manager.SourceNotReady, match=message):
            endpoint(missing=missing).prepare_source('ctx', 's', 'c')


def test_prepare_source_of_a_deleted_server():
    with mock.patch.object(objects.Instance, 'get_by_uuid',
                           side_effect=nova_exception.InstanceNotFound(instance_id='s')):
        with pytest.raises(manager.SourceNotReady, match='does not exist'):
            endpoint().prepare_source('ctx', 's', 'c')


def test_one_clone_at_a_time_per_source():
    ep = endpoint()
    with mock.patch.object(objects.Instance, 'get_by_uuid', return_value=source()):
        ep.prepare_source('ctx', 's', 'c1')
        ep.prepare_source('ctx', 's', 'c1')          # the holder may ask again
        with pytest.raises(manager.SourceBusy, match='being cloned to c1'):
            ep.prepare_source('ctx', 's', 'c2')
        ep.finish_source('ctx', 's', 'c1', figures={})
        ep.prepare_source('ctx', 's', 'c2')


def test_switchover_events_of_a_leased_source_are_recognised():
    ep = endpoint()
    paused = virtevent.LifecycleEvent('s', virtevent.EVENT_LIFECYCLE_PAUSED)
    resumed = virtevent.LifecycleEvent('s', virtevent.EVENT_LIFECYCLE_RESUMED)
    assert not ep.is_switchover_event(paused)                 # no clone yet
    with mock.patch.object(objects.Instance, 'get_by_uuid', return_value=source()):
        ep.prepare_source('ctx', 's', 'c1')
    assert ep.is_switchover_event(paused) and ep.is_switchover_event(resumed)
    assert not ep.is_switchover_event(
        virtevent.LifecycleEvent('s', virtevent.EVENT_LIFECYCLE_STOPPED))
    assert not ep.is_switchover_event(
        virtevent.LifecycleEvent('other', virtevent.EVENT_LIFECYCLE_PAUSED))
    ep.finish_source('ctx', 's', 'c1', figures={})
    assert not ep.is_switchover_event(paused)
    ep.driver.source_released.assert_called_once_with('s')


def test_an_expired_lease_no_longer_hides_events():
    ep = endpoint()
    with mock.patch.object(objects.Instance, 'get_by_uuid', return_value=source()):
        ep.prepare_source('ctx', 's', 'c1')
    ep._leases['s'] = ('c1', time.monotonic() - 1)
    assert not ep.is_switchover_event(
        virtevent.LifecycleEvent('s', virtevent.EVENT_LIFECYCLE_PAUSED))
