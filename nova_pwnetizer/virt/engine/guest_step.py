"""The guest-side step that makes a clone itself.

Right after the switch-over the clone's guest is its source's: machine-id
(and with it the DHCP DUID), hostname, network configuration bound to the
source's MACs, RNG state.  When the clone's guest agent answers, the
engine starts the shipped script (:mod:`.clone_identity_script`)
through the agent (``guest-exec``), while it plugs the clone's new NICs
link-down, to rebind the network configuration to the new MACs, give a new machine-id,
reseed the RNG from the host and set the hostname, sets the clock
(``guest-set-time``), sets the NICs' link up, and runs the script's
``online`` phase (DHCP at once, neighbours flushed, address announced).
So the clone joins its network only as itself.

A guest without an agent gets its NICs link-up at once (what it can do
with them is its own: a guest bound to its old MACs has no network), and
the report says so.  A step that fails still ends with the links up: the
guest is the tenant's, and only its own clone is at stake.
"""

import dataclasses
import logging
import os
import time

from nova_pwnetizer.virt.engine import clone_identity_script
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import guest_agent

LOG = logging.getLogger(__name__)

LINES_KEPT = 24
PING_TIMEOUT_S = 5.0
SEED_BYTES = 64


@dataclasses.dataclass
class GuestStepReport:
    """What the guest step did: status 'done', 'failed', 'no-agent' or 'off'."""

    status: str
    seconds: float = 0.0
    lines: list = dataclasses.field(default_factory=list)
    reason: str = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class GuestStep:
    """The guest step of one clone (``clone`` a running Guest)."""

    def __init__(self, clone, options, instance_id: str, genid_changed: bool = False):
        self.clone = clone
        self.options = options
        self.instance_id = instance_id
        self.genid_changed = genid_changed
        self.agent = guest_agent.GuestAgent(clone)
        self._started = None
        self._macs = {}
        self._deadline = None
        self._rebind = None       # (pid, started) or the error that kept it from starting

    def available(self, tree) -> GuestStepReport:
        """None when the step can run (its agent answers); else the report
        of why not."""
        if self.options.guest_step == 'off':
            return GuestStepReport(status='off')
        if not guest_agent.has_channel(tree):
            return GuestStepReport(status='no-agent', reason='the guest has no agent channel')
        # one deadline for the whole step, the ping included
        self._started = time.monotonic()
        self._deadline = self._started + self.options.guest_step_timeout_s
        problem = self.agent.ping(min(PING_TIMEOUT_S, self.options.guest_step_timeout_s))
        if problem:
            return GuestStepReport(status='no-agent', reason=problem, seconds=self._elapsed())
        return None

    def start(self, macs: dict) -> None:
        """Start the rebind phase in the guest (``macs``: each inherited MAC
        to the clone's); it runs while the host swaps the NICs, which it
        does not need."""
        self._macs = macs
        try:
            args = clone_identity_script.rebind_args(
                macs, self.options.hostname, os.urandom(SEED_BYTES),
                self.options.ssh_host_keys, self.options.cloud_init,
                # the script takes an instance id only to keep cloud-init's
                self.instance_id if self.options.cloud_init == 'keep' else None,
                genid_changed=self.genid_changed)
            self._rebind = self._start('rebind', args)
        except (exception.PwnetizerError, StepFailed, ValueError) as e:
            self._rebind = e

    def finish(self, set_links_up) -> GuestStepReport:
        """Wait for the rebind, set the clock, the links up
        (``set_links_up()``, whatever happened), run the online phase."""
        lines = []
        report = GuestStepReport(status='done')
        try:
            try:
                if isinstance(self._rebind, Exception):
                    raise self._rebind
                lines += self._wait('rebind', *self._rebind)
                self.agent.set_time(self._left('setting the clock'))
            finally:
                set_links_up()
            if self._macs:
                lines += self._wait('online', *self._start(
                    'online', clone_identity_script.online_args(self._macs)))
        except (exception.PwnetizerError, StepFailed, ValueError) as e:
            lines += getattr(e, 'lines', [])     # what the failed phase said
            report.status = 'failed'
            report.reason = guest_agent.printable(str(e))[:500]
            LOG.warning('The guest step of %s failed: %s', self.clone.name, e)
        report.lines = lines[-LINES_KEPT:]
        report.seconds = self._elapsed()
        LOG.info('Guest step of %s: %s in %.2f s: %s', self.clone.name, report.status,
                 report.seconds, '; '.join(report.lines))
        return report

    def _left(self, what: str) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise StepFailed('no time left for %s' % what)
        return left

    def _start(self, phase: str, args: list) -> tuple:
        left = self._left('the %s phase' % phase)
        return (self.agent.start(['/bin/sh'] + clone_identity_script.exec_args(args), left),
                time.monotonic())

    def _wait(self, phase: str, pid: int, started: float) -> list:
        result = self.agent.wait(pid, self._deadline)
        lines = ['%s: %s' % (phase, line) for line in result.out.splitlines() if line.strip()]
        lines.append('%s: took %.2f s' % (phase, time.monotonic() - started))
        if result.exitcode != 0:
            failed = StepFailed('the %s phase exited %d: %s'
                                % (phase, result.exitcode, result.err.strip()[-300:]))
            failed.lines = lines
            raise failed
        return lines

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3) if self._started else 0.0


class StepFailed(Exception):
    """The script in the guest reported a failure."""
