"""A thin wrapper around one guest's QEMU guest agent, through libvirt.

The agent runs inside the tenant's guest: everything it answers is the
guest's to choose.  Its answers are only ever logged and reported (sizes
capped), never acted on by the host; every call has a deadline.
"""

import base64
import dataclasses
import json
import time

import libvirt
import libvirt_qemu

from nova_pwnetizer.virt.engine import exception

CHANNEL = 'org.qemu.guest_agent.0'
OUTPUT_MAX = 4096          # characters of a command's output kept
POLL_S = 0.05              # first wait between guest-exec-status polls ...
POLL_MAX_S = 0.25          # ... doubling up to this
CALL_MAX_S = 5.0           # the longest any one agent call may take
PING_RETRY_S = 0.1


class AgentUnavailable(exception.PwnetizerError):
    """The guest has no agent, or it does not answer."""


@dataclasses.dataclass
class ExecResult:
    exitcode: int
    out: str
    err: str


def has_channel(tree) -> bool:
    """Whether the domain XML ``tree`` has the guest agent's channel."""
    return any(target.get('name') == CHANNEL
               for target in tree.iterfind('devices/channel/target'))


class GuestAgent:
    """The agent of one :class:`~.guest.Guest`."""

    def __init__(self, guest):
        self.guest = guest

    def command(self, name: str, timeout_s: float, **arguments):
        """Run one agent command; its 'return' value."""
        request = {'execute': name}
        if arguments:
            request['arguments'] = arguments
        try:
            reply = libvirt_qemu.qemuAgentCommand(
                self.guest.dom, json.dumps(request),
                max(1, int(min(timeout_s, CALL_MAX_S) + 0.999)), 0)
        except libvirt.libvirtError as e:
            raise AgentUnavailable('the guest agent: %s' % printable(e.get_error_message()))
        try:
            reply = json.loads(reply)
        except ValueError:
            raise AgentUnavailable('the guest agent answered %s with no JSON' % name)
        if not isinstance(reply, dict) or 'error' in reply:
            error = reply.get('error') if isinstance(reply, dict) else reply
            raise AgentUnavailable('the guest agent refused %s: %s'
                                   % (name, printable(str(error)[:200])))
        return reply.get('return')

    def ping(self, timeout_s: float) -> str:
        """None once the agent answers, within ``timeout_s``; else why not.

        libvirt counts the agent connected only once QEMU says the guest
        opened its port, which for a clone (its port open in the migration
        stream) may come a moment after the clone runs: until then libvirt
        answers "not connected" at once, so the ping is tried again.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.command('guest-ping', max(1.0, deadline - time.monotonic()))
                return None
            except AgentUnavailable as e:
                if time.monotonic() + PING_RETRY_S > deadline:
                    return e.message
            time.sleep(PING_RETRY_S)

    def set_time(self, timeout_s: float) -> None:
        """Set the guest's clock to the host's."""
        self.command('guest-set-time', timeout_s, time=time.time_ns())

    def start(self, argv: list, timeout_s: float) -> int:
        """Start ``argv`` in the guest (as the agent's user, root); its pid."""
        started = self.command('guest-exec', timeout_s, path=argv[0], arg=list(argv[1:]),
                               **{'capture-output': True})
        pid = started.get('pid') if isinstance(started, dict) else None
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise AgentUnavailable('the guest agent started %s without a pid' % argv[0])
        return pid

    def wait(self, pid: int, deadline: float) -> ExecResult:
        """Wait until the command ``pid`` ends, at most until ``deadline``
        (monotonic); what it did."""
        pause = POLL_S
        while True:
            if time.monotonic() > deadline:
                raise exception.CloneTimeout('command %d in the guest did not end in time'
                                             % pid)
            status = self.command('guest-exec-status', deadline - time.monotonic(), pid=pid)
            if isinstance(status, dict) and status.get('exited'):
                return ExecResult(exitcode=_int(status.get('exitcode'),
                                                -_int(status.get('signal'), 0)),
                                  out=_text(status.get('out-data')),
                                  err=_text(status.get('err-data')))
            time.sleep(pause)
            pause = min(pause * 2, POLL_MAX_S)

    def run(self, argv: list, timeout_s: float) -> ExecResult:
        """Run ``argv`` in the guest; wait for it at most ``timeout_s`` s."""
        deadline = time.monotonic() + timeout_s
        return self.wait(self.start(argv, timeout_s), deadline)


def _int(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def printable(text: str) -> str:
    """``text`` (the guest's to choose) as printable ASCII: anything else,
    newlines and escapes included, as Python escapes; safe to log and to
    store in any database column."""
    return ''.join(c if ' ' <= c <= '~' else repr(c)[1:-1] for c in text)


def _text(data) -> str:
    """A command's base64 output as printable lines (newlines kept)."""
    if not isinstance(data, str):
        return ''
    try:
        text = base64.b64decode(data[:OUTPUT_MAX * 2]).decode(errors='replace')[:OUTPUT_MAX]
    except ValueError:
        return ''
    return '\n'.join(printable(line) for line in text.split('\n'))
