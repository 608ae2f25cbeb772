"""The driver's clone spawn with the engine and the other host faked."""

import contextlib
import json
import os
import time
from unittest import mock

import libvirt
from oslo_config import cfg
import pytest

from nova import exception as nova_exception
from nova.network import model as network_model
from nova import objects
from nova.virt import event as virtevent
from nova.virt.libvirt import driver as libvirt_driver

from nova_pwnetizer import clonerequest
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer.scheduler import filters
from nova_pwnetizer.virt import clone_spawn
from nova_pwnetizer.virt import driver as driver_mod
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import exception as engine_exception
from nova_pwnetizer.virt.engine import result as result_mod
from nova_pwnetizer.virt import generation_id
from nova_pwnetizer.virt import source_errors
from tests.unit.fakes import VALID_S

objects.register_all()
CONF = cfg.CONF
SECRET = 'unit-test-secret-0123456789abcdef'
CLONE = 'c10e0000-0000-4000-8000-000000000001'
SOURCE = '50c00000-0000-4000-8000-000000000000'


@pytest.fixture(autouse=True)
def conf(tmp_path):
    CONF.set_override('clone_secret', SECRET, group='pwnetizer')
    CONF.set_override('instances_path', str(tmp_path))
    yield
    CONF.clear_override('clone_secret', group='pwnetizer')
    CONF.clear_override('instances_path')


def make_instance(contract=None, secret=SECRET, config_drive='', **sysmeta):
    sysmeta = dict(sysmeta)
    if contract is not None:
        sysmeta.update(contract.to_system_metadata(secret))
    inst = objects.Instance(id=2, uuid=CLONE, project_id='p', task_state='spawning',
                            metadata={}, system_metadata=sysmeta,
                            flavor=objects.Flavor(), display_name='web-clone',
                            image_ref='1mage', config_drive=config_drive,
                            launched_at=None)
    inst.save = mock.Mock()
    return inst


def signed(**kw):
    """A contract for the clone CLONE (stored signed by make_instance)."""
    fields = dict(clone_uuid=CLONE, source_uuid=SOURCE, source_host='src-host',
                  project_id='p', family='fam', members=[], placement='spread',
                  randomize=False, address_pairs=False, device_models={},
                  expires_at=int(time.time()) + VALID_S)
    fields.update(kw)
    return clone_contract.CloneContract(**fields)


def text(inst):
    return clone_spawn.contract_text_of(inst)


class FakeDriver:
    before_domain = driver_mod.PwnetizerDriver.before_domain

    def __init__(self):
        self.vif_driver = mock.Mock()
        self.vif_driver.get_config.return_value.to_xml.return_value = (
            "<interface type='bridge'><mac address='fa:16:3e:00:00:01'/></interface>")
        self.plug_vifs = mock.Mock()
        self.unplug_vifs = mock.Mock()
        self._host = mock.Mock()
        self.service_host = 'dst-host'
        self._domainless = set()
        self.drives = []     # (instance uuid, injection info, its domain made yet?)
        self._create_configdrive = mock.Mock(side_effect=self._make_drive)

    def _make_drive(self, context, instance, injection_info, rescue=False):
        """Nova's: the drive from the instance, in its own directory."""
        self.drives.append((instance.uuid, injection_info,
                            instance.uuid not in self._domainless))
        path = os.path.join(CONF.instances_path, instance.uuid, 'disk.config')
        with open(path, 'w') as f:
            f.write('config-2 of %s' % instance.uuid)

    @staticmethod
    def _uri():
        return 'qemu:///system'


class FakeNeutron:
    """Neutron's ports of the source and the clone, as the tenant sees them."""

    def __init__(self, source_ports, clone_ports, refuse=None):
        self.ports = {SOURCE: source_ports, CLONE: clone_ports}
        self.updates = []
        self.refuse = refuse

    def list_ports(self, device_id):
        return {'ports': [dict(p) for p in self.ports[device_id]]}

    def update_port(self, port_id, body):
        if self.refuse:
            raise self.refuse
        self.updates.append((port_id, body['port']))


def nic(port_id, groups, network='net', **fields):
    found = dict(id=port_id, network_id=network, security_groups=list(groups),
                 project_id='p', device_owner='compute:nova',
                 port_security_enabled=True, mac_address='fa:16:3e:00:00:0%s' % port_id[-1],
                 fixed_ips=[{'subnet_id': 'sub', 'ip_address': '10.0.0.%s' % port_id[-1]}])
    found.update(fields)
    return found


def source_instance(vif_ids):
    return objects.Instance(uuid=SOURCE, project_id='p', info_cache=objects.InstanceInfoCache(
        network_info=network_model.NetworkInfo(
            [network_model.VIF(id=vif) for vif in vif_ids])))


def source_xml(*disks):
    """The source domain's XML with its root disk and ``disks``."""
    return domainxml.parse(
        "<domain><name>instance-00000001</name><uuid>%s</uuid><devices>"
        "<disk type='file' device='disk'><driver type='qcow2'/>"
        "<source file='/var/lib/nova/instances/%s/disk'/><target dev='vda'/></disk>"
        "%s</devices></domain>" % (SOURCE, SOURCE, ''.join(disks)))


def config_drive(path='/srv/nova/instances/%s/disk.config' % SOURCE, device='cdrom'):
    """A config drive <disk> as Nova's libvirt driver makes it."""
    return ("<disk type='file' device='%s'><driver name='qemu' type='raw'/>"
            "<source file='%s'/><target dev='sda' bus='sata'/><readonly/></disk>"
            % (device, path))


@contextlib.contextmanager
def faked(clone_result=None, clone_error=None, neutron=None, source_vifs=(),
          source_tree=None):
    """The engine, the source host and the RequestSpec faked; with
    ``neutron`` (a FakeNeutron) the ports too, else no port mirroring;
    the source domain's XML is ``source_tree`` (default: no config drive)."""
    source_api = mock.Mock()
    source_api.prepare_source.return_value = {'domain': 'instance-00000001',
                                              'address': '10.0.0.5', 'host': 'src-host'}
    spec = objects.RequestSpec(scheduler_hints={clonerequest.HINT_KEY: ['{}'],
                                                'other': ['1']})
    spec.save = mock.Mock()
    with mock.patch.object(clone_spawn.compute_utils, 'EventReporter') as reporter, \
            mock.patch.object(clone_spawn.engine, 'Host') as host, \
            mock.patch.object(clone_spawn.engine, 'clone',
                              side_effect=clone_error,
                              return_value=clone_result) as clone, \
            mock.patch.object(objects.RequestSpec, 'get_by_instance_uuid',
                              return_value=spec), \
            mock.patch.object(objects.Instance, 'get_by_uuid',
                              return_value=source_instance(source_vifs)), \
            mock.patch.object(clone_spawn.neutron, 'get_client', return_value=neutron), \
            contextlib.ExitStack() as stack:
        if neutron is None:
            stack.enter_context(mock.patch.object(clone_spawn.CloneSpawn, '_mirror_ports'))
        source_api.spec = spec
        host.return_value.lookup.return_value.tree.return_value = (
            source_tree if source_tree is not None else source_xml())
        yield source_api, reporter, host, clone


def result():
    return result_mod.CloneResult(name='instance-00000002', source_paused_ms=31.5,
                                  time_to_ready=3.2, downtime_ms=22,
                                  source_stopped_at=1795804233.631541)


def test_contract_text_of_reads_the_system_metadata():
    req = signed()
    found = clone_contract.CloneContract.from_text(text(make_instance(req)), [SECRET])
    assert {f: getattr(found, f) for f in found.fields} == {
        f: getattr(req, f) for f in req.fields}
    assert text(make_instance()) is None
    assert text(objects.Instance(uuid=CLONE)) is None   # system_metadata not loaded


def test_spawn_clones_with_nova_identity_and_records_figures():
    req = signed()
    inst = make_instance(req)
    contract = text(inst)
    drv = FakeDriver()
    with faked(clone_result=result()) as (source_api, reporter, host, clone):
        clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'vif1'}],
                               text(inst), source_api=source_api).run()
    source_api.prepare_source.assert_called_once_with('ctx', 'src-host', contract,
                                                      req.source_uuid, inst.uuid)
    host.assert_any_call(uri='qemu+tcp://10.0.0.5/system')
    (guest, target, options), kwargs = clone.call_args
    assert options.uuid == inst.uuid and options.name == inst.name
    assert options.interfaces == [drv.vif_driver.get_config.return_value.to_xml()]
    drv.plug_vifs.assert_called_once()
    reporter.assert_called_once_with('ctx', clone_spawn.SOURCE_EVENT % inst.uuid, 'dst-host',
                                     req.source_uuid, graceful_exit=True)
    figures = json.loads(inst.system_metadata[clone_spawn.FIGURES_KEY])
    assert figures['source_paused_ms'] == 31.5 and figures['downtime_ms'] == 22
    assert inst.metadata['pwnetizer_pause_ms'] == '31.5'
    assert inst.metadata['pwnetizer_paused_at'] == '1795804233.631541'
    assert clone_contract.keys_in(inst.system_metadata) == []   # consumed once
    assert inst.save.call_args_list[0] == mock.call(expected_task_state=['spawning'])
    # a later move of the clone is scheduled like any other server's
    assert source_api.spec.scheduler_hints == {'other': ['1']}
    source_api.spec.save.assert_called_once_with()
    source_api.finish_source.assert_called_once()
    assert source_api.finish_source.call_args.kwargs['error'] is None


@pytest.mark.parametrize('contract,secret,message', [
    (signed(), 'another-secret-0123456789abcdefghij', 'signature does not verify'),
    (signed(project_id='other'), SECRET, 'for another project'),
    (signed(clone_uuid='c10e0000-0000-4000-8000-000000000009'), SECRET,
     'for another server'),
    (signed(source_uuid=CLONE), SECRET, 'clone of itself'),
    (signed(expires_at=int(time.time()) - 1), SECRET, 'expired'),
    # signed, and still checked against what Nova keeps on this host
    (signed(device_models={'nic': 'tulip'}), SECRET,
     'nic model tulip is not one Nova keeps'),
    (signed(device_models={'video': 'ramfb'}), SECRET,
     'video model ramfb is not one Nova keeps'),
    (signed(device_models={'usb': 'qemu-xhci'}), SECRET,
     'device class usb is not one Nova keeps here'),
    (signed(device_models={'floppy': 'x'}), SECRET,
     'device class floppy is not one Nova keeps here'),
])
def test_a_refused_contract_aborts_before_any_host_acts(contract, secret, message):
    inst = make_instance(contract, secret=secret)
    drv = FakeDriver()
    with faked() as (source_api, reporter, host, clone):
        with pytest.raises(nova_exception.BuildAbortException, match=message):
            clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [], text(inst),
                                   source_api=source_api).run()
    source_api.prepare_source.assert_not_called()
    source_api.finish_source.assert_not_called()   # nothing told to the host it names
    reporter.assert_not_called()
    clone.assert_not_called()
    drv.plug_vifs.assert_not_called()
    assert clone_contract.keys_in(inst.system_metadata) == []   # consumed all the same


def test_a_contract_is_consumed_once():
    inst = make_instance(signed())
    inst.save.side_effect = nova_exception.UnexpectedTaskStateError(
        instance_uuid=CLONE, expected=['spawning'], actual='rebuilding')
    with faked() as (source_api, reporter, host, clone):
        with pytest.raises(nova_exception.BuildAbortException, match='refused'):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                                   text(inst), source_api=source_api).run()
    source_api.prepare_source.assert_not_called()


def test_a_host_with_a_weak_secret_verifies_nothing():
    inst = make_instance(signed())
    CONF.set_override('clone_secret', 'short', group='pwnetizer')
    with faked() as (source_api, reporter, host, clone):
        with pytest.raises(nova_exception.BuildAbortException, match='cannot verify'):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                                   text(inst), source_api=source_api).run()
    source_api.prepare_source.assert_not_called()


def test_a_contract_signed_with_a_previous_secret_is_accepted():
    old = 'the-previous-secret-0123456789abcdef'
    inst = make_instance(signed(), secret=old)
    CONF.set_override('clone_secret_previous', [old], group='pwnetizer')
    try:
        with faked(clone_result=result()) as (source_api, reporter, host, clone):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                                   text(inst), source_api=source_api).run()
    finally:
        CONF.clear_override('clone_secret_previous', group='pwnetizer')
    clone.assert_called_once()


def test_engine_failure_unplugs_and_aborts_the_build():
    req = signed()
    inst = make_instance(req)
    drv = FakeDriver()
    error = engine_exception.CloneFailed('memory', 'clone QEMU died')
    with faked(clone_error=error) as (source_api, reporter, host, clone):
        with pytest.raises(nova_exception.BuildAbortException, match='clone QEMU died'):
            clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'v'}],
                                   text(inst), source_api=source_api).run()
    drv.unplug_vifs.assert_called_once()
    assert 'clone QEMU died' in source_api.finish_source.call_args.kwargs['error']


def test_source_host_refusal_is_the_fault_reason():
    req = signed()
    inst = make_instance(req)
    with faked() as (source_api, reporter, host, clone):
        source_api.prepare_source.side_effect = source_errors.SourceNotReady(
            'source server x is paused (task None), not active')
        with pytest.raises(nova_exception.BuildAbortException, match='not active'):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [], text(inst),
                                   source_api=source_api).run()
    clone.assert_not_called()


def test_the_contracts_device_models_become_the_clones_image_properties():
    req = signed(randomize=True, members=[SOURCE],
                 device_models={'nic': 'rtl8139', 'disk_bus': 'sata'})
    inst = make_instance(req, image_hw_vif_model='virtio', image_hw_disk_bus='virtio',
                         image_hw_video_model='vga',
                         image_pwnetizer_hw_vif_models='virtio,e1000,rtl8139')
    drv = FakeDriver()
    vif = network_model.VIF(id='p1')
    with faked(clone_result=result()) as (source_api, reporter, host, clone), \
            mock.patch.object(objects.InstanceList, 'get_by_filters') as family:
        spawn = clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [vif],
                                       text(inst), source_api=source_api)
        spawn.run()
    family.assert_not_called()   # nova-api chose: the target looks at no family
    assert (inst.system_metadata['image_hw_vif_model'],
            inst.system_metadata['image_hw_disk_bus'],
            inst.system_metadata['image_hw_video_model']) == ('rtl8139', 'sata', 'vga')
    assert spawn.chosen_models == {'nic': 'rtl8139', 'disk_bus': 'sata'}
    assert clone.call_args.args[2].device_models == {'nic': 'rtl8139', 'disk_bus': 'sata'}
    # the clone's NIC is made by Nova's VIF driver with the model
    image_meta = drv.vif_driver.get_config.call_args.args[2]
    assert image_meta.properties.hw_vif_model == 'rtl8139'


def test_a_contract_without_device_models_changes_none():
    inst = make_instance(signed(randomize=True), image_hw_vif_model='virtio',
                         image_pwnetizer_hw_vif_models='virtio,e1000,rtl8139')
    with faked(clone_result=result()) as (source_api, reporter, host, clone):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                               text(inst), source_api=source_api).run()
    assert inst.system_metadata['image_hw_vif_model'] == 'virtio'
    assert clone.call_args.args[2].device_models == {}


def test_driver_spawns_non_clones_with_the_stock_driver():
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver.spawn') as stock, \
            mock.patch.object(clone_spawn, 'CloneSpawn') as cloner:
        drv.spawn('ctx', make_instance(), 'meta', [], 'pw', {})
        stock.assert_called_once()
        cloner.assert_not_called()
        drv.spawn('ctx', make_instance(signed()), 'meta', [], 'pw', {}, network_info=['v'])
        passed = clone_contract.CloneContract.from_text(cloner.call_args.args[5], [SECRET])
        assert passed.clone_uuid == CLONE   # the signed text, verified by CloneSpawn
        cloner.return_value.run.assert_called_once()


def test_driver_reports_the_stat_the_filter_looks_for():
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver.get_available_resource',
                    return_value={'stats': {'uptime': 'x'}}):
        stats = drv.get_available_resource('node')['stats']
    assert stats['pwnetizer'] == filters.CAPABILITY == 2 and stats['uptime'] == 'x'


def test_driver_keeps_a_clone_sources_switchover_from_the_compute_manager():
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    drv.clone_sources = mock.Mock()
    event = virtevent.LifecycleEvent('s', virtevent.EVENT_LIFECYCLE_PAUSED)
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver.emit_event') as stock:
        drv.clone_sources.is_switchover_event.return_value = True
        drv.emit_event(event)
        stock.assert_not_called()
        drv.clone_sources.is_switchover_event.return_value = False
        drv.emit_event(event)
        stock.assert_called_once_with(event)


@pytest.mark.parametrize('state,reported', [(libvirt.VIR_DOMAIN_PAUSED, True),
                                            (libvirt.VIR_DOMAIN_RUNNING, False)])
def test_a_source_left_paused_after_its_clone_is_reported(state, reported):
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    drv._host = mock.Mock()
    drv._host.get_connection.return_value.lookupByUUIDString.return_value.info.return_value = [
        state, 0, 0, 1, 0]
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver.emit_event') as stock:
        drv.source_released('s')
    assert stock.called == reported
    if reported:
        event = stock.call_args.args[0]
        assert event.get_transition() == virtevent.EVENT_LIFECYCLE_PAUSED
        assert event.get_instance_uuid() == 's'


def test_checking_a_released_source_never_fails_the_clone():
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    drv._host = mock.Mock()
    drv._host.get_connection.side_effect = RuntimeError('libvirt is down')
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver.emit_event') as stock:
        drv.source_released('s')
    stock.assert_not_called()


def test_busy_source_is_waited_for():
    req = signed()
    inst = make_instance(req)
    busy = source_errors.SourceBusy('source server s is being cloned to x')
    with faked(clone_result=result()) as (source_api, reporter, host, clone), \
            mock.patch.object(clone_spawn, 'BUSY_RETRY_S', 0):
        source_api.prepare_source.side_effect = [busy, busy, {
            'domain': 'instance-00000001', 'address': '10.0.0.5', 'host': 'src-host'}]
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [], text(inst),
                               source_api=source_api).run()
    assert source_api.prepare_source.call_count == 3
    clone.assert_called_once()


def _sibling(uuid, index, host, vm_state, task_state=None):
    sibling = objects.Instance(uuid=uuid, launch_index=index, host=host,
                               vm_state=vm_state, task_state=task_state)
    sibling.refresh = mock.Mock()
    return sibling


def _fanout_spawn(index, siblings):
    req = signed()
    inst = make_instance(req)
    text_sent = text(inst)
    inst.launch_index, inst.reservation_id = index, 'r-1'
    with faked(clone_result=result()) as (source_api, reporter, host, clone), \
            mock.patch.object(objects.InstanceList, 'get_by_filters',
                              return_value=siblings) as listed, \
            mock.patch.object(clone_spawn, 'PARENT_POLL_S', 0):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [], text(inst),
                               source_api=source_api).run()
    return req, inst, source_api, listed, text_sent


def test_fanout_tree_clones_an_earlier_active_clone():
    # clone index 3 (the fourth) is made from clone index 1 (the second)
    siblings = [_sibling('c0', 0, 'h1', 'active'), _sibling('c1', 1, 'h2', 'active')]
    req, inst, source_api, listed, text_sent = _fanout_spawn(3, siblings)
    assert listed.call_args.args[1]['reservation_id'] == 'r-1'
    source_api.prepare_source.assert_called_once_with('ctx', 'h2', text_sent, 'c1',
                                                      inst.uuid)
    args = source_api.finish_source.call_args.args
    assert (args[1], args[3]) == ('h2', 'c1')  # lease freed there
    assert inst.metadata[clone_spawn.PARENT_KEY] == 'c1'


def test_fanout_tree_waits_for_the_parent_to_be_active():
    parent = _sibling('c0', 0, 'h1', 'building', 'spawning')

    def becomes_active():
        parent.vm_state, parent.task_state = 'active', None
    parent.refresh.side_effect = becomes_active
    req, inst, source_api, _, text_sent = _fanout_spawn(1, [parent])
    source_api.prepare_source.assert_called_once_with('ctx', 'h1', text_sent, 'c0',
                                                      inst.uuid)


@pytest.mark.parametrize('state', ['error', 'deleted'])
def test_fanout_tree_falls_back_to_the_source_when_the_parent_failed(state):
    req, inst, source_api, _, text_sent = _fanout_spawn(1, [_sibling('c0', 0, 'h1', state)])
    source_api.prepare_source.assert_called_once_with('ctx', req.source_host, text_sent,
                                                      req.source_uuid, inst.uuid)
    assert clone_spawn.PARENT_KEY not in inst.metadata


def test_fanout_source_mode_always_clones_the_source():
    CONF.set_override('fanout', 'source', group='pwnetizer')
    try:
        req, inst, source_api, listed, text_sent = _fanout_spawn(
            1, [_sibling('c0', 0, 'h1', 'active')])
    finally:
        CONF.clear_override('fanout', group='pwnetizer')
    listed.assert_not_called()
    source_api.prepare_source.assert_called_once_with('ctx', req.source_host, text_sent,
                                                      req.source_uuid, inst.uuid)


def test_a_tap_left_down_after_the_nic_swap_is_set_up():
    req = signed()
    inst = make_instance(req)
    vifs = [{'id': 'vif1', 'devname': 'tapdown'}, {'id': 'vif2', 'devname': 'tapup'},
            {'id': 'vif3', 'devname': 'tapgone'}]
    with faked(clone_result=result()) as (source_api, _reporter, _host, _clone), \
            mock.patch.object(clone_spawn.linux_net, 'device_exists',
                              side_effect=lambda dev: dev != 'tapgone'), \
            mock.patch.object(clone_spawn, '_link_up',
                              side_effect=lambda dev: dev == 'tapup'), \
            mock.patch.object(clone_spawn.linux_net, 'set_device_enabled') as enable:
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), vifs,
                               text(inst), source_api=source_api).run()
    enable.assert_called_once_with('tapdown')


def test_link_up_reads_the_flags_of_the_device(tmp_path, monkeypatch):
    real_open = open
    flags = {'eth-up': '0x1003', 'eth-down': '0x1002'}

    def fake_open(path, *a, **kw):
        for dev, value in flags.items():
            if path == '/sys/class/net/%s/flags' % dev:
                f = tmp_path / dev
                f.write_text(value + '\n')
                return real_open(f, *a, **kw)
        return real_open(path, *a, **kw)
    monkeypatch.setattr('builtins.open', fake_open)
    assert clone_spawn._link_up('eth-up') is True
    assert clone_spawn._link_up('eth-down') is False
    assert clone_spawn._link_up('no-such-device-here') is True


def test_the_fault_of_a_failed_clone_names_no_host():
    inst = make_instance(signed())
    error = engine_exception.CloneFailed(
        'memory', "Failed to connect socket to 'qemu+tcp://10.0.0.5:16509/system': "
                  'host src-host or dst-host unreachable')
    with faked(clone_error=error) as (source_api, reporter, host, clone):
        with pytest.raises(nova_exception.BuildAbortException) as raised:
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                                   text(inst), source_api=source_api).run()
    message = str(raised.value)
    assert 'src-host ' not in message and 'dst-host' not in message
    assert '10.0.0.5' not in message and 'qemu+tcp' not in message
    assert '<uri>' in message and 'unreachable' in message
    # the source host is told the whole reason
    assert 'src-host' in source_api.finish_source.call_args.kwargs['error']


def test_each_clone_port_takes_its_own_source_ports_settings():
    # Nova made both clone ports with the union of the groups; the source's
    # NICs are in the guest's order b, a (its info cache), not Neutron's
    neutron = FakeNeutron(
        [nic('sa', ['internal'], port_security_enabled=False),
         nic('sb', ['public'], qos_policy_id='gold')],
        [nic('c1', ['public', 'internal']), nic('c2', ['public', 'internal'])])
    inst = make_instance(signed())
    with faked(clone_result=result(), neutron=neutron, source_vifs=['sb', 'sa']) as (
            source_api, _reporter, _host, clone):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(),
                               [{'id': 'c1'}, {'id': 'c2'}], text(inst),
                               source_api=source_api).run()
    assert neutron.updates == [
        ('c1', {'security_groups': ['public'], 'qos_policy_id': 'gold'}),
        ('c2', {'security_groups': [], 'port_security_enabled': False})]
    clone.assert_called_once()


@pytest.mark.parametrize('copy', [False, True])
def test_address_pairs_follow_the_contract(copy):
    neutron = FakeNeutron(
        [nic('s1', ['g'], allowed_address_pairs=[{'ip_address': '10.0.0.100'}])],
        [nic('c1', ['g'], allowed_address_pairs=[])])
    inst = make_instance(signed(address_pairs=copy))
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1']) as (
            source_api, _reporter, _host, _clone):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(),
                               [{'id': 'c1'}], text(inst), source_api=source_api).run()
    expected = [('c1', {'allowed_address_pairs': [{'ip_address': '10.0.0.100'}]})]
    assert neutron.updates == (expected if copy else [])


def test_ports_neutron_refuses_to_set_fail_the_clone_before_it_runs():
    neutron = FakeNeutron([nic('s1', [], port_security_enabled=False)], [nic('c1', ['g'])],
                          refuse=Exception('Policy does not allow update_port'))
    inst = make_instance(signed())
    drv = FakeDriver()
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1']) as (
            source_api, _reporter, _host, clone):
        with pytest.raises(nova_exception.BuildAbortException, match='port_security') as e:
            clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'c1'}],
                                   text(inst), source_api=source_api).run()
    assert 'Policy' not in str(e.value)     # Neutron's own words: in the log only
    clone.assert_not_called()
    drv.plug_vifs.assert_not_called()
    assert source_api.finish_source.call_args.kwargs['error']


def test_a_clone_whose_ports_do_not_pair_with_the_sources_is_refused():
    neutron = FakeNeutron([nic('s1', ['g']), nic('s2', ['g'])], [nic('c1', ['g'])])
    inst = make_instance(signed())
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1', 's2']) as (
            source_api, _reporter, _host, clone):
        with pytest.raises(nova_exception.BuildAbortException, match='paired'):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(),
                                   [{'id': 'c1'}], text(inst), source_api=source_api).run()
    clone.assert_not_called()


def test_a_new_subnet_refreshes_the_clones_network_info():
    neutron = FakeNeutron(
        [nic('s1', ['g'], )], [nic('c1', ['g'])])
    neutron.ports[SOURCE][0]['fixed_ips'] = [{'subnet_id': 'other', 'ip_address': '10.1.0.4'}]
    inst = make_instance(signed())
    refreshed = [{'id': 'c1', 'devname': 'tapc1'}]
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1']) as (
            source_api, _reporter, _host, _clone), \
            mock.patch.object(clone_spawn.neutron, 'API') as api:
        api.return_value.get_instance_nw_info.return_value = refreshed
        spawn = clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(),
                                       [{'id': 'c1'}], text(inst), source_api=source_api)
        spawn.run()
    assert neutron.updates == [('c1', {'fixed_ips': [{'subnet_id': 'other'}]})]
    assert spawn.network_info is refreshed


def test_ports_that_only_name_a_server_as_their_device_are_not_its_nics():
    # a tenant can set any port's device_id: only the servers' own NICs pair
    neutron = FakeNeutron([nic('s1', ['g']), nic('s9', ['evil']),
                           nic('s8', ['evil'], project_id='another')],
                          [nic('c1', ['g', 'x']), nic('c9', ['evil'])])
    inst = make_instance(signed())
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1', 's8']) as (
            source_api, _reporter, _host, clone):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(),
                               [{'id': 'c1'}], text(inst), source_api=source_api).run()
    assert neutron.updates == [('c1', {'security_groups': ['g']})]
    clone.assert_called_once()


def test_the_engine_options_are_the_configs_with_what_nova_decides():
    CONF.set_override('unplug_timeout', 7, group='pwnetizer')
    CONF.set_override('disk_dir', '/elsewhere', group='pwnetizer')
    CONF.set_override('persistent', False, group='pwnetizer')
    CONF.set_override('downtime_limit_ms', 80, group='pwnetizer')
    try:
        inst = make_instance(signed())
        with faked(clone_result=result()) as (source_api, _reporter, _host, clone):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                                   text(inst), source_api=source_api).run()
    finally:
        for name in ('unplug_timeout', 'disk_dir', 'persistent', 'downtime_limit_ms'):
            CONF.clear_override(name, group='pwnetizer')
    options = clone.call_args.args[2]
    # read from [pwnetizer] as the CLI reads it (the Nova path dropped some)
    assert (options.unplug_timeout_s, options.downtime_limit_ms) == (7.0, 80)
    # Nova's: the clone's disks in its own directory, a persistent domain
    assert (options.disk_dir, options.persistent) == (None, True)
    assert options.target_placement is not None


def test_the_ports_are_mirrored_before_the_source_is_leased():
    # the tenant's time (ports, models, boot files) is spent before the
    # source host's lease starts, which covers the engine's waits only
    neutron = FakeNeutron([nic('s1', ['g'])], [nic('c1', ['g', 'x'])])
    inst = make_instance(signed())
    seen = []
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1']) as (
            source_api, _reporter, _host, _clone):
        answer = source_api.prepare_source.return_value
        source_api.prepare_source.side_effect = lambda *a: seen.append(
            list(neutron.updates)) or answer
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(),
                               [{'id': 'c1'}], text(inst), source_api=source_api).run()
    assert seen == [[('c1', {'security_groups': ['g']})]]


def test_the_clones_genid_is_stored_before_the_engine_runs_and_passed_to_it():
    inst = make_instance(signed(), **{generation_id.SYSMETA_KEY: 'the-sources'})
    saved = []      # the genid each save of the instance stored
    inst.save.side_effect = lambda **kw: saved.append(
        inst.system_metadata.get(generation_id.SYSMETA_KEY))
    saved_at_clone = []
    with faked(clone_result=result()) as (source_api, _reporter, _host, clone):
        clone.side_effect = lambda *a, **k: saved_at_clone.append(list(saved)) or result()
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                               text(inst), source_api=source_api).run()
    options = clone.call_args.args[2]
    assert generation_id.is_valid(options.genid) and options.genid != 'the-sources'
    assert saved_at_clone[0][-1] == options.genid   # saved before the engine ran
    assert inst.system_metadata[generation_id.SYSMETA_KEY] == options.genid


def test_two_clones_get_two_genids():
    genids = []
    for _ in range(2):
        inst = make_instance(signed())
        with faked(clone_result=result()) as (source_api, _reporter, _host, clone):
            clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                                   text(inst), source_api=source_api).run()
        genids.append(clone.call_args.args[2].genid)
    assert len(set(genids)) == 2


def test_a_warning_of_the_engine_is_logged_and_in_the_clones_metadata():
    inst = make_instance(signed())
    found = result()
    found.warnings = ['the source has no VM generation ID ' + 'x' * 300]
    with faked(clone_result=found) as (source_api, _reporter, _host, _clone), \
            mock.patch.object(clone_spawn.LOG, 'warning') as warning:
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                               text(inst), source_api=source_api).run()
    stored = inst.metadata[clone_spawn.WARNING_KEY]
    assert stored.startswith('the source has no VM generation ID') and len(stored) == 255
    warning.assert_called_once()
    assert warning.call_args.kwargs['instance'] is inst
    assert found.warnings[0] in warning.call_args.args
    # the clone keeps its stored genid: its first hard reboot gives it one
    assert generation_id.is_valid(inst.system_metadata[generation_id.SYSMETA_KEY])


def test_a_clone_without_warnings_has_no_warning_key():
    inst = make_instance(signed())
    with faked(clone_result=result()) as (source_api, _reporter, _host, _clone):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                               text(inst), source_api=source_api).run()
    assert clone_spawn.WARNING_KEY not in inst.metadata


# --- the clone's own config drive ---------------------------------------------

def _drive_spawn(inst, drv, network_info=None, **faked_kw):
    """Run the spawn of ``inst``; return (its engine options, the spawn)."""
    with faked(clone_result=result(), **faked_kw) as (source_api, _reporter, _host, clone):
        spawn = clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(),
                                       network_info or [{'id': 'c1'}], text(inst),
                                       source_api=source_api)
        spawn.run()
    return clone.call_args.args[2], spawn


def test_a_clone_with_a_config_drive_gets_its_own_in_place_of_the_sources():
    inst = make_instance(signed(), config_drive='True')
    drv = FakeDriver()
    vifs = network_model.NetworkInfo([network_model.VIF(id='c1')])
    # the source's drive where its XML says (not where this host keeps them)
    theirs = '/srv/nova/instances/%s/disk.config' % SOURCE
    options, spawn = _drive_spawn(inst, drv, network_info=vifs,
                                  source_tree=source_xml(config_drive(theirs)))
    ours = os.path.join(CONF.instances_path, CLONE, 'disk.config')
    assert options.own_files == {theirs: ours}
    # Nova's own builder, of the clone instance with the clone's ports, no
    # files and no password, while the clone has no domain yet
    drv._create_configdrive.assert_called_once()
    assert drv._create_configdrive.call_args.args[:2] == ('ctx', inst)
    ((uuid, info, had_domain),) = drv.drives
    assert uuid == CLONE and not had_domain
    assert info.network_info is vifs and info.files == [] and info.admin_pass is None
    assert drv._domainless == set()    # only while the drive is built
    with open(ours) as f:
        assert f.read() == 'config-2 of %s' % CLONE    # kept: the clone runs on it


def test_the_drive_is_built_before_the_source_is_leased_with_the_new_addresses():
    neutron = FakeNeutron([nic('s1', ['g'])], [nic('c1', ['g'])])
    neutron.ports[SOURCE][0]['fixed_ips'] = [{'subnet_id': 'other', 'ip_address': '10.1.0.4'}]
    inst = make_instance(signed(), config_drive='True')
    drv = FakeDriver()
    refreshed = [{'id': 'c1', 'address': 'fa:16:3e:00:00:01'}]
    with faked(clone_result=result(), neutron=neutron, source_vifs=['s1'],
               source_tree=source_xml(config_drive())) as (source_api, _r, _h, _c), \
            mock.patch.object(clone_spawn.neutron, 'API') as api:
        api.return_value.get_instance_nw_info.return_value = refreshed
        answer = source_api.prepare_source.return_value
        source_api.prepare_source.side_effect = lambda *a: (
            drv._create_configdrive.assert_called_once() or answer)
        clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'c1'}],
                               text(inst), source_api=source_api).run()
    assert drv.drives[0][1].network_info is refreshed


def test_a_clone_without_a_config_drive_gets_none():
    inst = make_instance(signed())
    drv = FakeDriver()
    options, _spawn = _drive_spawn(inst, drv)
    drv._create_configdrive.assert_not_called()
    assert options.own_files == {}
    assert not os.path.exists(os.path.join(CONF.instances_path, CLONE, 'disk.config'))


def test_a_source_with_a_drive_gives_its_clone_one_whatever_the_record_says():
    # e.g. made with [DEFAULT] force_config_drive on its host: the clone has
    # the source's devices, its drive its own
    inst = make_instance(signed())
    drv = FakeDriver()
    options, _spawn = _drive_spawn(inst, drv, source_tree=source_xml(config_drive()))
    assert inst.config_drive == 'True'
    assert list(options.own_files.values()) == [
        os.path.join(CONF.instances_path, CLONE, 'disk.config')]
    drv._create_configdrive.assert_called_once()


def test_a_failed_clone_deletes_the_drive_it_built():
    inst = make_instance(signed(), config_drive='True')
    drv = FakeDriver()
    with faked(clone_error=engine_exception.CloneFailed('memory', 'clone QEMU died'),
               source_tree=source_xml(config_drive())) as (source_api, _r, _h, clone):
        with pytest.raises(nova_exception.BuildAbortException, match='clone QEMU died'):
            clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'c1'}],
                                   text(inst), source_api=source_api).run()
    ours = os.path.join(CONF.instances_path, CLONE, 'disk.config')
    assert clone.call_args.args[2].own_files == {
        '/srv/nova/instances/%s/disk.config' % SOURCE: ours}
    assert not os.path.exists(ours)


def test_a_failed_clone_keeps_a_drive_it_did_not_build():
    inst = make_instance(signed(), config_drive='True')
    os.makedirs(os.path.join(CONF.instances_path, CLONE))
    ours = os.path.join(CONF.instances_path, CLONE, 'disk.config')
    with open(ours, 'w') as f:
        f.write('there before')
    drv = FakeDriver()
    drv._create_configdrive.side_effect = None   # as Nova: an existing one is kept
    with faked(clone_error=engine_exception.CloneFailed('memory', 'died'),
               source_tree=source_xml(config_drive())) as (source_api, _r, _h, _clone):
        with pytest.raises(nova_exception.BuildAbortException):
            clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'c1'}],
                                   text(inst), source_api=source_api).run()
    assert os.path.exists(ours)


def test_an_rbd_config_drive_is_refused_before_the_source_is_asked():
    CONF.set_override('images_type', 'rbd', group='libvirt')
    try:
        inst = make_instance(signed(), config_drive='True')
        drv = FakeDriver()
        with faked() as (source_api, _r, _h, clone):
            with pytest.raises(nova_exception.BuildAbortException, match='RBD'):
                clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(),
                                       [{'id': 'c1'}], text(inst),
                                       source_api=source_api).run()
    finally:
        CONF.clear_override('images_type', group='libvirt')
    drv._create_configdrive.assert_not_called()
    source_api.prepare_source.assert_not_called()
    clone.assert_not_called()


def test_a_source_drive_of_another_format_is_refused():
    # a vfat drive is a hard disk, this host makes iso9660 CD-ROMs
    inst = make_instance(signed(), config_drive='True')
    drv = FakeDriver()
    with faked(source_tree=source_xml(config_drive(device='disk'))) as (
            source_api, _r, _h, clone):
        with pytest.raises(nova_exception.BuildAbortException,
                           match='config drive is a disk, this host makes cdrom'):
            clone_spawn.CloneSpawn(drv, 'ctx', inst, objects.ImageMeta(), [{'id': 'c1'}],
                                   text(inst), source_api=source_api).run()
    clone.assert_not_called()
    assert not os.path.exists(os.path.join(CONF.instances_path, CLONE, 'disk.config'))


def test_a_vfat_drive_of_a_vfat_host_is_mapped():
    CONF.set_override('config_drive_format', 'vfat')
    try:
        inst = make_instance(signed(), config_drive='True')
        theirs = '/var/lib/nova/instances/%s/disk.config' % SOURCE
        options, _spawn = _drive_spawn(inst, FakeDriver(), source_tree=source_xml(
            config_drive(theirs, device='disk')))
    finally:
        CONF.clear_override('config_drive_format')
    assert list(options.own_files) == [theirs]


def test_the_driver_gives_no_device_metadata_before_a_clones_domain_exists():
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    drv._domainless = set()
    inst, other = make_instance(), objects.Instance(uuid=SOURCE)
    with mock.patch('nova.virt.libvirt.driver.LibvirtDriver._build_device_metadata',
                    return_value='from the domain') as stock:
        with drv.before_domain(CLONE):
            assert drv._build_device_metadata('ctx', inst) is None
            assert drv._build_device_metadata('ctx', other) == 'from the domain'
        assert drv._build_device_metadata('ctx', inst) == 'from the domain'
    assert [c.args[1] for c in stock.call_args_list] == [other, inst]


def test_novas_own_config_drive_code_runs_before_the_clones_domain_exists():
    # Nova's _create_configdrive, unfaked: without before_domain it would
    # look the clone's domain up (for device metadata) and fail
    drv = driver_mod.PwnetizerDriver.__new__(driver_mod.PwnetizerDriver)
    drv._domainless = set()
    drv._host = mock.Mock()
    drv._host.get_guest.side_effect = nova_exception.InstanceNotFound(instance_id=CLONE)
    drv.image_backend = mock.Mock()
    drv.image_backend.by_name.return_value.exists.return_value = False
    inst = make_instance(config_drive='True')
    vifs = network_model.NetworkInfo([network_model.VIF(id='c1')])
    info = libvirt_driver.InjectionInfo(network_info=vifs, files=[], admin_pass=None)
    with mock.patch.object(libvirt_driver.instance_metadata, 'InstanceMetadata') as md, \
            mock.patch.object(libvirt_driver.configdrive, 'ConfigDriveBuilder') as builder:
        with drv.before_domain(CLONE):
            drv._create_configdrive('ctx', inst, info)
    md.assert_called_once_with(inst, content=[], extra_md={}, network_info=vifs)
    builder.return_value.make_drive.assert_called_once_with(
        os.path.join(CONF.instances_path, CLONE, 'disk.config'))
    assert inst.device_metadata is None
    drv._host.get_guest.assert_not_called()


# --- the guest step's record ----------------------------------------------------

@contextlib.contextmanager
def _events():
    with mock.patch.object(objects.InstanceActionEvent, 'event_start') as start, \
            mock.patch.object(objects.InstanceActionEvent, 'event_finish') as finish, \
            mock.patch.object(objects.InstanceActionEvent,
                              'event_finish_with_failure') as failure:
        yield start, finish, failure


def _spawn_with_step(step, inst=None):
    inst = inst or make_instance(signed())
    found = result()
    found.guest_step = step
    with faked(clone_result=found) as (source_api, _reporter, _host, clone), _events() as ev:
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                               text(inst), source_api=source_api).run()
    return inst, ev, clone


def test_a_done_guest_step_is_a_successful_event_and_in_the_metadata():
    inst, (start, finish, failure), _clone = _spawn_with_step(
        {'status': 'done', 'seconds': 1.5, 'lines': ['rebind: ok'], 'reason': None})
    assert inst.metadata[clone_spawn.GUEST_STEP_KEY] == 'done'
    start.assert_called_once_with('ctx', inst.uuid, clone_spawn.GUEST_STEP_EVENT,
                                  want_result=False, host='dst-host')
    finish.assert_called_once_with('ctx', inst.uuid, clone_spawn.GUEST_STEP_EVENT,
                                   want_result=False)
    failure.assert_not_called()
    figures = json.loads(inst.system_metadata[clone_spawn.FIGURES_KEY])
    assert figures['guest_step'] == {'status': 'done', 'seconds': 1.5}


@pytest.mark.parametrize('status', ['failed', 'no-agent', 'off'])
def test_a_guest_step_not_done_is_a_failed_event_with_its_reason(status):
    reason = 'the rebind phase exited 2: ' + 'x' * 400
    inst, (start, finish, failure), _clone = _spawn_with_step(
        {'status': status, 'seconds': 0.5, 'lines': [], 'reason': reason})
    stored = inst.metadata[clone_spawn.GUEST_STEP_KEY]
    assert stored.startswith('%s: the rebind phase exited 2' % status) and len(stored) == 255
    start.assert_called_once()
    finish.assert_not_called()
    failure.assert_called_once()
    args, kwargs = failure.call_args
    assert args == ('ctx', inst.uuid, clone_spawn.GUEST_STEP_EVENT)
    assert kwargs['want_result'] is False
    assert kwargs['exc_val'] == stored
    # Nova records a result of Error only when there is a traceback
    assert kwargs['exc_tb'] == 'guest step %s' % status


def test_an_off_guest_step_without_reason_is_just_its_status():
    inst, (_start, _finish, failure), _clone = _spawn_with_step({'status': 'off'})
    assert inst.metadata[clone_spawn.GUEST_STEP_KEY] == 'off'
    assert failure.call_args.kwargs['exc_val'] == 'off'
    assert failure.call_args.kwargs['exc_tb'] == 'guest step off'


def test_no_guest_step_records_nothing():
    inst, (start, finish, failure), _clone = _spawn_with_step({})
    assert clone_spawn.GUEST_STEP_KEY not in inst.metadata
    for event in (start, finish, failure):
        event.assert_not_called()


def test_a_failed_record_of_the_guest_step_never_fails_the_clone():
    inst = make_instance(signed())
    found = result()
    found.guest_step = {'status': 'done'}
    with faked(clone_result=found) as (source_api, _reporter, _host, _clone), \
            mock.patch.object(objects.InstanceActionEvent, 'event_start',
                              side_effect=nova_exception.NovaException('db down')):
        clone_spawn.CloneSpawn(FakeDriver(), 'ctx', inst, objects.ImageMeta(), [],
                               text(inst), source_api=source_api).run()
    assert inst.metadata[clone_spawn.GUEST_STEP_KEY] == 'done'
    source_api.finish_source.assert_called_once()
    assert source_api.finish_source.call_args.kwargs['error'] is None


def _hostname_given(**fields):
    inst = make_instance(signed())
    for k, v in fields.items():
        setattr(inst, k, v)
    _inst, _ev, clone = _spawn_with_step({}, inst)
    options = clone.call_args.args[2]
    options.validate()      # as the engine does first
    return options.hostname


def test_the_clones_nova_hostname_is_the_guest_steps():
    assert _hostname_given(hostname='web-clone') == 'web-clone'
    assert _hostname_given() is None           # not loaded: the guest's own
    assert _hostname_given(hostname='') is None


@pytest.mark.parametrize('hostname', [
    'm\u00fcller-vm',       # Nova's sanitize_hostname keeps Latin-1 letters
    'my_host.example',      # an FQDN set through the API (2.94)
])
def test_a_nova_hostname_that_is_no_rfc_1123_name_does_not_fail_the_clone(hostname):
    assert _hostname_given(hostname=hostname) is None
