"""The clone job's NIC swap with the guest step: rebind first, links down
while the guest makes itself, then up."""

import types
from unittest import mock

import pytest

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import guest_agent
from nova_pwnetizer.virt.engine import job as job_mod
from nova_pwnetizer.virt.engine import options as options_mod
from tests.unit import test_guest_step as step_tests
from tests.unit import test_host_specific as hs_tests

OLD = 'fa:16:3e:12:34:56'      # the source's NIC (test_host_specific._NIC)
NEW = 'fa:16:3e:00:00:99'
CLONE_UUID = 'c1000000-0000-4000-8000-000000000001'
AGENT_CHANNEL = """
    <channel type='unix'>
      <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/x/org.qemu.guest_agent.0'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>"""


class FakeClone:
    """The running clone: its live NIC is the inherited, isolated one."""

    name = 'instance-00000002'

    def __init__(self, tree, log):
        self.dom = object()
        self.log = log
        self._tree = tree

    def tree(self):
        return self._tree

    def detach_device(self, xml, live=True, config=False):
        self.log.append(('detach', domainxml.parse(xml)))

    def attach_device(self, xml, live=True, config=False):
        self.log.append(('attach', domainxml.parse(xml)))

    def update_device(self, xml, live=True, config=False):
        assert live and not config
        self.log.append(('update', domainxml.parse(xml)))


class FakeEvents:
    def __init__(self, log):
        self.log = log

    def mark(self):
        return 0

    def wait(self, predicate, timeout, what, since=None):
        self.log.append(('released', what))


@pytest.fixture
def swap():
    """swap(agent=True, **fake agent kw / options) -> (job, log, fake agent)"""
    patcher = mock.patch.object(guest_agent.libvirt_qemu, 'qemuAgentCommand')
    command = patcher.start()

    def run(agent=True, ping=None, exits=None, **options):
        tree = hs_tests._nova_domain(devices=hs_tests._VNC + (AGENT_CHANNEL if agent else ''))
        log = []
        fake = step_tests.FakeGuestAgent(log, ping=ping, exits=exits)
        command.side_effect = fake
        job = job_mod.CloneJob(hs_tests.FakeSource(tree), hs_tests.FakeHost('qemu:///t'),
                               options_mod.CloneOptions(guardian=False, macs=[NEW],
                                                        **options))
        job.source_tree = job.live_tree = tree
        job.identity = types.SimpleNamespace(uuid=CLONE_UUID, genid=None)
        job.clone = FakeClone(domainxml.parse(domainxml.tostring(tree)), log)
        job.events = FakeEvents(log)
        job._swap_nics()
        return job, log, fake

    yield run
    patcher.stop()


def _kinds(log):
    return [entry if isinstance(entry, str) else entry[0] for entry in log]


def _link(iface):
    link = iface.find('link')
    return None if link is None else link.get('state')


def test_with_an_agent_the_rebind_starts_before_the_nics_are_swapped(swap):
    job, log, fake = swap()
    assert _kinds(log) == ['exec rebind', 'detach', 'released', 'attach',
                           'set-time', 'update', 'exec online']
    attached = [entry[1] for entry in log if entry[0] == 'attach']
    assert [_link(iface) for iface in attached] == ['down']
    assert attached[0].find('mac').get('address') == NEW
    updated = [entry[1] for entry in log if entry[0] == 'update']
    assert [_link(iface) for iface in updated] == ['up']
    assert updated[0].find('mac').get('address') == NEW
    rebind = fake.args_of('rebind')
    assert rebind[rebind.index('--mac') + 1] == '%s=%s' % (OLD, NEW)
    assert job.result.guest_step['status'] == 'done'
    assert job.result.nic_swap_s is not None and job.result.warnings == []


def test_the_persistent_nics_have_no_link_state(swap):
    job, _log, _fake = swap()
    assert [_link(iface) for iface in job.final_interfaces] == [None]
    persistent = domainxml.build_persistent(job.source_tree, job.final_interfaces)
    assert [_link(i) for i in domainxml.interfaces(persistent)] == [None]


def test_a_failed_step_still_sets_the_links_up_and_warns(swap):
    job, log, _fake = swap(exits={'rebind': (1, '', 'no network config')})
    assert _kinds(log) == ['exec rebind', 'detach', 'released', 'attach', 'update']
    assert _link(log[-1][1]) == 'up'
    assert job.result.guest_step['status'] == 'failed'
    assert job.result.warnings == [
        'the guest step failed: the rebind phase exited 1: no network config']


@pytest.mark.parametrize('kwargs, status', [
    (dict(agent=False), 'no-agent'),
    (dict(ping=step_tests._libvirt_error('Guest agent is not responding')), 'no-agent'),
    (dict(guest_step='off'), 'off'),
])
def test_without_the_step_the_nics_are_plugged_link_up_as_before(swap, kwargs, status):
    job, log, _fake = swap(**kwargs)
    assert _kinds(log) == ['detach', 'released', 'attach']
    assert _link(log[-1][1]) is None          # no link element: up
    assert job.result.guest_step['status'] == status
    assert job.result.warnings == []


def test_a_paused_clone_gets_no_swap_and_no_step(swap):
    job, log, _fake = swap(start=False)
    assert log == [] and job.result.guest_step == {}
    assert len(job.final_interfaces) == 1     # its persistent NICs all the same
