"""The guest agent wrapper: every answer of the guest is hostile."""

import base64
import json
from unittest import mock

import libvirt
from lxml import etree
import pytest

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import guest_agent


class FakeAgent:
    """qemuAgentCommand of one guest: answers each command from ``replies``
    (a JSON text, an exception to raise or a callable of the request)."""

    def __init__(self, **replies):
        self.replies = {k.replace('_', '-'): v for k, v in replies.items()}
        self.requests = []    # (request, timeout)

    def __call__(self, dom, text, timeout, flags):
        request = json.loads(text)
        self.requests.append((request, timeout))
        reply = self.replies[request['execute']]
        if callable(reply):
            reply = reply(request)
        if isinstance(reply, Exception):
            raise reply
        return reply if isinstance(reply, str) else json.dumps(reply)


@pytest.fixture
def agent():
    """(GuestAgent, install(FakeAgent))"""
    guest = mock.Mock(dom=object())
    with mock.patch.object(guest_agent.libvirt_qemu, 'qemuAgentCommand') as command:
        def install(fake):
            command.side_effect = fake
            return fake
        yield guest_agent.GuestAgent(guest), install


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _libvirt_error(message):
    error = libvirt.libvirtError(message)
    error.get_error_message = lambda: message
    return error


def test_has_channel_finds_only_the_agents_channel():
    with_agent = etree.fromstring(
        "<domain><devices><channel type='unix'><target type='virtio' "
        "name='org.qemu.guest_agent.0'/></channel></devices></domain>")
    other = etree.fromstring(
        "<domain><devices><channel type='spicevmc'><target type='virtio' "
        "name='com.redhat.spice.0'/></channel></devices></domain>")
    assert guest_agent.has_channel(with_agent)
    assert not guest_agent.has_channel(other)
    assert not guest_agent.has_channel(etree.fromstring('<domain/>'))


def test_command_sends_json_with_arguments_and_a_whole_second_timeout(agent):
    ga, install = agent
    fake = install(FakeAgent(guest_set_time={'return': {}}))
    ga.command('guest-set-time', 0.2, time=5)
    assert fake.requests == [({'execute': 'guest-set-time', 'arguments': {'time': 5}}, 1)]
    ga.command('guest-set-time', 2.5)
    assert fake.requests[-1] == ({'execute': 'guest-set-time'}, 3)


@pytest.mark.parametrize('reply, message', [
    ('not json', 'no JSON'),
    ('[1, 2]', 'refused'),
    ('null', 'refused'),
    ('"text"', 'refused'),
    ({'error': {'class': 'GenericError', 'desc': 'x' * 10000}}, 'refused'),
])
def test_ping_says_why_for_any_bad_answer(agent, reply, message):
    ga, install = agent
    install(FakeAgent(guest_ping=reply))
    problem = ga.ping(2.0)
    assert message in problem
    assert len(problem) < 300    # the guest's words are capped


def test_ping_is_none_when_the_agent_answers(agent):
    ga, install = agent
    install(FakeAgent(guest_ping={'return': {}}))
    assert ga.ping(2.0) is None


def test_a_libvirt_error_is_agent_unavailable(agent):
    ga, install = agent
    install(FakeAgent(guest_ping=_libvirt_error('Guest agent is not responding')))
    assert ga.ping(2.0) == 'the guest agent: Guest agent is not responding'
    with pytest.raises(guest_agent.AgentUnavailable, match='not responding'):
        ga.command('guest-ping', 1)


def test_set_time_sends_the_hosts_clock_in_ns(agent):
    ga, install = agent
    fake = install(FakeAgent(guest_set_time={'return': {}}))
    with mock.patch.object(guest_agent.time, 'time_ns', return_value=123456789):
        ga.set_time(5)
    assert fake.requests[0][0] == {'execute': 'guest-set-time',
                                   'arguments': {'time': 123456789}}


def test_start_sends_path_args_and_capture(agent):
    ga, install = agent
    fake = install(FakeAgent(guest_exec={'return': {'pid': 42}}))
    assert ga.start(['/bin/sh', '-c', 'true'], 5) == 42
    assert fake.requests[0][0]['arguments'] == {
        'path': '/bin/sh', 'arg': ['-c', 'true'], 'capture-output': True}


@pytest.mark.parametrize('started', [
    {'return': None}, {'return': []}, {'return': 'pid'}, {'return': {}},
    {'return': {'pid': '42'}}, {'return': {'pid': True}}, {'return': {'pid': 4.2}},
    {'return': {'pid': None}}, {},
])
def test_start_without_an_int_pid_is_agent_unavailable(agent, started):
    ga, install = agent
    install(FakeAgent(guest_exec=started))
    with pytest.raises(guest_agent.AgentUnavailable, match='without a pid'):
        ga.start(['/bin/sh'], 5)


def test_run_polls_until_the_command_exited(agent, monkeypatch):
    monkeypatch.setattr(guest_agent, 'POLL_S', 0)
    ga, install = agent
    answers = iter([{'exited': False}, {'exited': False},
                    {'exited': True, 'exitcode': 3, 'out-data': _b64('a\nb\n'),
                     'err-data': _b64('oops')}])
    fake = install(FakeAgent(guest_exec={'return': {'pid': 7}},
                             guest_exec_status=lambda r: {'return': next(answers)}))
    found = ga.run(['/bin/sh'], 10)
    assert found == guest_agent.ExecResult(exitcode=3, out='a\nb\n', err='oops')
    statuses = [r for r, _ in fake.requests if r['execute'] == 'guest-exec-status']
    assert len(statuses) == 3 and all(r['arguments'] == {'pid': 7} for r in statuses)


@pytest.mark.parametrize('status, expected', [
    ({'exited': True}, (0, '', '')),                          # nothing said
    ({'exited': True, 'signal': 9}, (-9, '', '')),            # killed
    ({'exited': True, 'exitcode': True}, (0, '', '')),        # bools are no codes
    ({'exited': True, 'exitcode': '1', 'signal': 'x'}, (0, '', '')),
    ({'exited': True, 'exitcode': 0, 'out-data': 'not base64!'}, (0, '', '')),
    ({'exited': True, 'exitcode': 0, 'out-data': 'é'}, (0, '', '')),   # not ASCII
    ({'exited': True, 'exitcode': 0, 'out-data': 42, 'err-data': ['x']}, (0, '', '')),
    ({'exited': True, 'exitcode': 0,
      'out-data': base64.b64encode(b'\xff\xfeok').decode()}, (0, '\ufffd\ufffdok', '')),
])
def test_wait_survives_hostile_statuses(agent, status, expected):
    ga, install = agent
    install(FakeAgent(guest_exec_status={'return': status}))
    found = ga.wait(7, guest_agent.time.monotonic() + 5)
    assert (found.exitcode, found.out, found.err) == expected


def test_huge_output_is_capped(agent):
    ga, install = agent
    huge = _b64('x' * (10 * guest_agent.OUTPUT_MAX))
    install(FakeAgent(guest_exec_status={'return': {'exited': True, 'exitcode': 0,
                                                    'out-data': huge, 'err-data': huge}}))
    found = ga.wait(7, guest_agent.time.monotonic() + 5)
    assert found.out == found.err == 'x' * guest_agent.OUTPUT_MAX


@pytest.mark.parametrize('status', [{'exited': False}, None, [], 'done', {'exited': 0}])
def test_a_command_that_never_ends_is_a_clone_timeout(agent, monkeypatch, status):
    monkeypatch.setattr(guest_agent, 'POLL_S', 0)
    ga, install = agent
    fake = install(FakeAgent(guest_exec_status={'return': status}))
    with pytest.raises(exception.CloneTimeout, match='command 7'):
        ga.wait(7, guest_agent.time.monotonic() + 0.05)
    # each poll waits at most a second, never past the deadline by more
    assert {timeout for _, timeout in fake.requests} == {1}


def test_a_refused_status_is_agent_unavailable(agent):
    ga, install = agent
    install(FakeAgent(guest_exec_status={'error': {'desc': 'no such pid'}}))
    with pytest.raises(guest_agent.AgentUnavailable, match='no such pid'):
        ga.wait(7, guest_agent.time.monotonic() + 5)
