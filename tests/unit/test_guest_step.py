"""The guest step: what it runs in the guest, in which order, what it reports."""

import base64
import json
from unittest import mock

import libvirt
from lxml import etree
import pytest

from nova_pwnetizer.virt.engine import guest_agent
from nova_pwnetizer.virt.engine import guest_step
from nova_pwnetizer.virt.engine import options as options_mod

OLD = 'fa:16:3e:12:34:56'
NEW = 'fa:16:3e:65:43:21'
CLONE_UUID = 'c1000000-0000-4000-8000-000000000001'
WITH_AGENT = etree.fromstring(
    "<domain><devices><channel type='unix'><target type='virtio' "
    "name='org.qemu.guest_agent.0'/></channel></devices></domain>")
WITHOUT_AGENT = etree.fromstring('<domain><devices/></domain>')


class FakeGuestAgent:
    """The clone's agent, as qemuAgentCommand sees it: each guest-exec is
    one phase of the script (its first argument after the script),
    answered from ``exits`` (phase -> (exitcode, out, err))."""

    def __init__(self, log, ping=None, exits=None, exec_error=None):
        self.log = log
        self.ping = ping
        self.exits = exits or {}
        self.exec_error = exec_error
        self.phases = {}

    def __call__(self, dom, text, timeout, flags):
        request = json.loads(text)
        name, args = request['execute'], request.get('arguments', {})
        if name == 'guest-ping':
            if self.ping:
                raise self.ping
            return '{"return": {}}'
        if name == 'guest-set-time':
            self.log.append('set-time')
            return '{"return": {}}'
        if name == 'guest-exec':
            phase = args['arg'][3]
            self.log.append('exec %s' % phase)
            if self.exec_error:
                return json.dumps({'error': {'desc': self.exec_error}})
            pid = 100 + len(self.phases)
            self.phases[pid] = (phase, args['arg'][4:])
            return json.dumps({'return': {'pid': pid}})
        if name == 'guest-exec-status':
            phase = self.phases[args['pid']][0]
            code, out, err = self.exits.get(phase, (0, '%s ok\n' % phase, ''))
            return json.dumps({'return': {
                'exited': True, 'exitcode': code,
                'out-data': base64.b64encode(out.encode()).decode(),
                'err-data': base64.b64encode(err.encode()).decode()}})
        raise AssertionError(name)

    def args_of(self, phase):
        return [a for p, a in self.phases.values() if p == phase][0]


def _libvirt_error(message):
    error = libvirt.libvirtError(message)
    error.get_error_message = lambda: message
    return error


@pytest.fixture
def step():
    """make(**fake agent kw, **options) -> (GuestStep, FakeGuestAgent, log)"""
    patcher = mock.patch.object(guest_agent.libvirt_qemu, 'qemuAgentCommand')
    command = patcher.start()

    def make(ping=None, exits=None, exec_error=None, **options):
        log = []
        fake = FakeGuestAgent(log, ping, exits, exec_error)
        command.side_effect = fake
        clone = mock.Mock(dom=object())
        clone.name = 'instance-00000002'
        return (guest_step.GuestStep(clone, options_mod.CloneOptions(**options).validate(),
                                     CLONE_UUID), fake, log)

    yield make
    patcher.stop()


def test_off_is_off_without_asking_the_guest(step):
    s, _fake, log = step(guest_step='off')
    assert s.available(WITH_AGENT) == guest_step.GuestStepReport(status='off')
    assert log == []


def test_no_channel_is_no_agent(step):
    s, _fake, _log = step()
    report = s.available(WITHOUT_AGENT)
    assert report.status == 'no-agent' and 'no agent channel' in report.reason


def test_an_agent_that_does_not_answer_is_no_agent(step):
    s, _fake, _log = step(ping=_libvirt_error('Guest agent is not responding'))
    report = s.available(WITH_AGENT)
    assert report.status == 'no-agent' and 'not responding' in report.reason


def test_the_whole_step_in_order(step):
    s, fake, log = step(hostname='web-2', ssh_host_keys=True, cloud_init='new')
    assert s.available(WITH_AGENT) is None
    s.start({OLD: NEW})
    assert log == ['exec rebind']          # started before the host touches NICs
    report = s.finish(lambda: log.append('links up'))
    assert log == ['exec rebind', 'set-time', 'links up', 'exec online']
    assert report.status == 'done' and report.reason is None
    assert report.lines[0] == 'rebind: rebind ok' and 'online: online ok' in report.lines
    rebind = fake.args_of('rebind')
    assert rebind[rebind.index('--mac') + 1] == '%s=%s' % (OLD, NEW)
    assert rebind[rebind.index('--hostname') + 1] == 'web-2'
    assert rebind[rebind.index('--cloud-init') + 1] == 'new'
    assert '--ssh-host-keys' in rebind and '--instance-id' not in rebind
    assert len(rebind[rebind.index('--seed') + 1]) == 2 * guest_step.SEED_BYTES
    assert fake.args_of('online') == ['--mac', '%s=%s' % (OLD, NEW)]
    assert report.to_dict()['status'] == 'done'


def test_cloud_init_keep_gives_the_clones_uuid_as_the_instance_id(step):
    s, fake, _log = step()
    s.available(WITH_AGENT)
    s.start({OLD: NEW})
    assert s.finish(lambda: None).status == 'done'
    rebind = fake.args_of('rebind')
    assert rebind[rebind.index('--instance-id') + 1] == CLONE_UUID
    assert rebind[rebind.index('--cloud-init') + 1] == 'keep'
    assert '--ssh-host-keys' not in rebind and '--hostname' not in rebind


def test_without_macs_there_is_no_online_phase(step):
    s, _fake, log = step()
    assert s.available(WITH_AGENT) is None
    s.start({})
    report = s.finish(lambda: log.append('links up'))
    assert report.status == 'done'
    assert log == ['exec rebind', 'set-time', 'links up']


def test_a_failed_rebind_still_sets_the_links_up_and_fails(step):
    s, _fake, log = step(exits={'rebind': (2, '', 'no netplan here\n')})
    s.available(WITH_AGENT)
    s.start({OLD: NEW})
    report = s.finish(lambda: log.append('links up'))
    assert report.status == 'failed'
    assert 'rebind phase exited 2' in report.reason and 'no netplan here' in report.reason
    assert log == ['exec rebind', 'links up']      # no clock, no online phase


def test_a_rebind_that_cannot_start_still_sets_the_links_up(step):
    s, _fake, log = step(exec_error='guest-exec is disabled')
    s.available(WITH_AGENT)
    s.start({OLD: NEW})       # never raises: the NICs are swapped all the same
    report = s.finish(lambda: log.append('links up'))
    assert report.status == 'failed' and 'guest-exec is disabled' in report.reason
    assert log == ['exec rebind', 'links up']


def test_bad_arguments_are_a_failed_step_not_an_error(step):
    s, _fake, log = step()
    s.available(WITH_AGENT)
    s.start({OLD: 'not-a-mac'})
    report = s.finish(lambda: log.append('links up'))
    assert report.status == 'failed' and 'not a MAC' in report.reason
    assert log == ['links up']


def test_no_time_left_to_start_is_a_failed_step_not_an_error(step):
    s, _fake, log = step(guest_step_timeout_s=5)
    s.available(WITH_AGENT)
    s._deadline = guest_step.time.monotonic() - 1   # past when the rebind starts
    s.start({OLD: NEW})
    report = s.finish(lambda: log.append('links up'))
    assert report.status == 'failed' and 'no time left' in report.reason
    assert log == ['links up']


def test_a_failed_online_phase_fails_the_step_after_the_links_are_up(step):
    s, _fake, log = step(exits={'online': (1, 'dhclient: no lease\n', 'x')})
    s.available(WITH_AGENT)
    s.start({OLD: NEW})
    report = s.finish(lambda: log.append('links up'))
    assert report.status == 'failed' and 'online phase exited 1' in report.reason
    assert log == ['exec rebind', 'set-time', 'links up', 'exec online']
    assert 'online: dhclient: no lease' in report.lines


def test_what_the_guest_says_is_capped(step):
    chatty = ''.join('line %d\n' % i for i in range(200))
    s, _fake, log = step(exits={'rebind': (7, chatty, 'e' * 5000)})
    s.available(WITH_AGENT)
    s.start({OLD: NEW})
    report = s.finish(lambda: None)
    assert report.status == 'failed' and len(report.reason) <= 500
    assert len(report.lines) == guest_step.LINES_KEPT   # the failed phase's last
    assert report.lines[-2:] == ['rebind: line 199', report.lines[-1]]
    s, _fake, log = step(exits={'rebind': (0, chatty, '')})
    s.available(WITH_AGENT)
    s.start({OLD: NEW})
    report = s.finish(lambda: None)
    assert len(report.lines) == guest_step.LINES_KEPT
    assert report.lines[-1].startswith('online: took')
