"""The source host's recovery after a failed clone (manager and
engine.recovery): what it undoes, and what it never touches (another
clone's work, libvirt's own migrations, a pause asked of libvirt); and the
engine's connections, which must notice a dead link between the hosts."""

from unittest import mock

import libvirt
from oslo_config import cfg
import pytest

from nova import objects

from nova_pwnetizer.virt.engine import host as host_mod
from nova_pwnetizer.virt import manager
from tests.unit.fakes import C1
from tests.unit.fakes import C2
from tests.unit.fakes import contract
from tests.unit.fakes import instances_db
from tests.unit.fakes import SECRET
from tests.unit.fakes import SRC

objects.register_all()
CONF = cfg.CONF


@pytest.fixture(autouse=True)
def conf():
    CONF.set_override('clone_secret', SECRET, group='pwnetizer')
    yield
    CONF.clear_override('clone_secret', group='pwnetizer')


def test_engine_connections_send_keepalives():
    # Without them a call on a connection whose link died waited for TCP
    # to give up (a quarter of an hour): the clone hung in BUILD.
    conn = mock.Mock()
    with mock.patch.object(libvirt, 'open', return_value=conn):
        host = host_mod.Host('qemu+tcp://10.0.0.1/system')
        assert host.conn is conn
    conn.setKeepAlive.assert_called_once_with(host_mod.KEEPALIVE_INTERVAL_S,
                                              host_mod.KEEPALIVE_COUNT)
    assert host_mod.KEEPALIVE_INTERVAL_S * (host_mod.KEEPALIVE_COUNT + 1) <= 30


def test_a_driver_without_keepalive_is_fine():
    conn = mock.Mock()
    conn.setKeepAlive.side_effect = libvirt.libvirtError('unsupported')
    with mock.patch.object(libvirt, 'open', return_value=conn):
        assert host_mod.Host('test:///default').conn is conn
    given = mock.Mock()
    assert host_mod.Host(conn=given).conn is given
    given.setKeepAlive.assert_not_called()  # not ours


class SourceQEMU:
    """QMP of a source that a clone left with its migration and mirror."""

    def __init__(self, status='active', paused=False):
        self.commands = []
        self.status = status
        self.paused = paused

    def qemuMonitorCommand(self, dom, request, flags):
        import json
        request = json.loads(request)
        command = request['execute']
        self.commands.append(command)
        replies = {
            'query-block-jobs': [{'device': 'pwn-mirror-vda'}],
            'query-named-block-nodes': [{'node-name': 'pwn-nbd-vda'},
                                        {'node-name': 'libvirt-1-format'}],
            'query-migrate': {'status': self.status},
            'query-migrate-capabilities': [
                {'capability': 'pause-before-switchover', 'state': True}],
        }
        if command == 'migrate_cancel':
            self.status = 'cancelled'
        return json.dumps({'return': replies.get(command, {})})


def _qmp(commands, replies, default=None):
    """A qemuMonitorCommand answering ``replies`` by command, logging them."""
    def command(dom, request, flags):
        import json
        name = json.loads(request)['execute']
        commands.append(name)
        return json.dumps({'return': replies.get(name, default or {})})
    return command


def _source_host(state=libvirt.VIR_DOMAIN_RUNNING, reason=0,
                 job=libvirt.VIR_DOMAIN_JOB_NONE):
    """The source host's endpoint, its libvirt domain (active, in ``state``)
    and the source's Nova instance."""
    domain = mock.Mock()
    domain.isActive.return_value = 1
    domain.state.return_value = [state, reason]
    domain.jobInfo.return_value = [job] + [0] * 11
    driver = mock.Mock(service_host=CONF.host)
    driver._host.get_guest.return_value._domain = domain
    driver._host.get_guest.return_value.get_all_disks.return_value = ['disk']
    driver._host.get_guest.return_value.get_interfaces.return_value = ['tap0']
    source = objects.Instance(uuid=SRC, host=CONF.host, vm_state='active', task_state=None,
                              project_id='p', system_metadata={})
    return manager.CloneSourceManager(driver), domain, source


def test_a_failed_clone_is_cleaned_up_on_the_source_host():
    # The target host's rollback went through its connection to this
    # host's libvirtd, dead with the link: the source kept the NBD node,
    # the mirror and the migration (paused, at the switch-over).
    qemu = SourceQEMU(status='pre-switchover', paused=True)
    ep, domain, source = _source_host(libvirt.VIR_DOMAIN_PAUSED)
    with instances_db(source), \
            mock.patch('libvirt_qemu.qemuMonitorCommand', qemu.qemuMonitorCommand):
        ep.prepare_source('ctx', SRC, C1, contract=contract(C1))
        ep.finish_source('ctx', SRC, C1, error='migration failed', contract=contract(C1))
        ep.prepare_source('ctx', SRC, C2, contract=contract(C2))    # the lease is free again
    assert 'yank' in qemu.commands
    assert qemu.commands.index('yank') < qemu.commands.index('migrate_cancel')
    assert 'block-job-cancel' in qemu.commands and 'blockdev-del' in qemu.commands
    assert 'migrate-set-capabilities' in qemu.commands
    domain.resume.assert_called_once_with()    # QEMU had paused it for us


def test_a_clean_source_is_left_alone():
    qemu = SourceQEMU(status='failed')
    ep, domain, source = _source_host()
    clean = _qmp(qemu.commands, {'query-block-jobs': [], 'query-named-block-nodes': [],
                                 'query-migrate-capabilities': []}, {'status': 'failed'})
    with instances_db(source), \
            mock.patch('libvirt_qemu.qemuMonitorCommand', clean):
        ep.prepare_source('ctx', SRC, C1, contract=contract(C1))   # its lease
        ep.finish_source('ctx', SRC, C1, error='clone QEMU died', contract=contract(C1))
    assert not {'yank', 'migrate_cancel', 'block-job-cancel'} & set(qemu.commands)


def test_a_switchover_pause_left_on_alone_is_a_leftover():
    # the rollback cancelled everything but could not reset the capability
    qemu = SourceQEMU(status='cancelled')
    ep, domain, source = _source_host()
    left_on = _qmp(qemu.commands, {
        'query-block-jobs': [], 'query-named-block-nodes': [],
        'query-migrate': {'status': 'cancelled'},
        'query-migrate-capabilities': [
            {'capability': 'pause-before-switchover', 'state': True}]})
    with instances_db(source), \
            mock.patch('libvirt_qemu.qemuMonitorCommand', left_on):
        ep.prepare_source('ctx', SRC, C1, contract=contract(C1))   # its lease
        ep.finish_source('ctx', SRC, C1, error='link down', contract=contract(C1))
    assert 'migrate-set-capabilities' in qemu.commands
    assert not {'migrate_cancel', 'block-job-cancel'} & set(qemu.commands)
    domain.resume.assert_not_called()


def test_no_cleanup_while_another_clone_holds_the_source():
    ep, _, source = _source_host()
    with instances_db(source), \
            mock.patch('libvirt_qemu.qemuMonitorCommand') as qmp:
        ep.prepare_source('ctx', SRC, C2, contract=contract(C2))
        ep.finish_source('ctx', SRC, C1, error='late news of an old clone',
                         contract=contract(C1))
    qmp.assert_not_called()


def test_a_successful_clone_touches_nothing():
    ep, _, source = _source_host()
    with instances_db(source), mock.patch('libvirt_qemu.qemuMonitorCommand') as qmp:
        ep.prepare_source('ctx', SRC, C1, contract=contract(C1))
        ep.finish_source('ctx', SRC, C1, figures={'source_paused_ms': 20},
                         contract=contract(C1))
    qmp.assert_not_called()


def test_a_migration_libvirt_runs_is_left_alone():
    # e.g. an admin's live migration of the source: no engine migration
    qemu = SourceQEMU(status='active')
    ep, domain, source = _source_host(job=libvirt.VIR_DOMAIN_JOB_UNBOUNDED)
    with instances_db(source), \
            mock.patch('libvirt_qemu.qemuMonitorCommand', qemu.qemuMonitorCommand):
        ep.prepare_source('ctx', SRC, C1, contract=contract(C1))
        ep.finish_source('ctx', SRC, C1, error='clone QEMU died', contract=contract(C1))
    assert 'migrate_cancel' not in qemu.commands
    assert 'migrate-set-capabilities' not in qemu.commands
    domain.resume.assert_not_called()


def test_a_pause_asked_of_libvirt_is_never_undone():
    # an admin paused the source after its (engine's) migration completed
    qemu = SourceQEMU(status='completed', paused=True)
    ep, domain, source = _source_host(libvirt.VIR_DOMAIN_PAUSED,
                                      reason=libvirt.VIR_DOMAIN_PAUSED_USER)
    with instances_db(source), \
            mock.patch('libvirt_qemu.qemuMonitorCommand', qemu.qemuMonitorCommand):
        ep.prepare_source('ctx', SRC, C1, contract=contract(C1))
        ep.finish_source('ctx', SRC, C1, error='switch-over failed', contract=contract(C1))
    domain.resume.assert_not_called()
