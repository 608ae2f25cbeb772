"""Human and JSON output of the pwnetizer CLI."""

import json
import sys
import threading


class Progress:
    """Progress of a clone on stderr: one updating line on a terminal.

    With ``parallel`` (a fan-out) each clone's phase changes are printed as
    lines of their own, prefixed with the clone's number.
    """

    def __init__(self, stream=None, quiet=False, parallel=False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.parallel = parallel
        self.tty = self.stream.isatty() and not parallel
        self._phase = None
        self._phases = {}
        self._lock = threading.Lock()

    def for_clone(self, index):
        def report(phase, fraction, message):
            with self._lock:
                if self.quiet or self._phases.get(index) == phase:
                    return
                self._phases[index] = phase
                self.stream.write('clone %d: [%s] %s\n' % (index + 1, phase, message))
                self.stream.flush()
        return report

    def __call__(self, phase, fraction, message):
        if self.quiet:
            return
        pct = '' if fraction is None else ' %3.0f%%' % (fraction * 100)
        line = '[%s]%s %s' % (phase, pct, message)
        if self.tty:
            self.stream.write('\r\033[K' + line)
            if phase == 'done':
                self.stream.write('\n')
        elif phase != self._phase:
            self.stream.write(line + '\n')
        self.stream.flush()
        self._phase = phase


def _mib(n):
    return '%.1f MiB' % ((n or 0) / 1048576)


def figures(result):
    """The figures of one CloneResult as aligned text lines."""
    r = result
    lines = ['%s (%s) ready in %.2f s' % (r.name, r.uuid, r.time_to_ready or 0)]
    rows = [
        ('source paused', '%s ms (QEMU downtime %s ms)' % (r.source_paused_ms, r.downtime_ms)),
        ('clone running after', '%.2f s' % (r.time_to_running or 0)),
        ('memory copied', '%s of %s' % (_mib(r.memory_bytes), _mib(r.memory_total_bytes))),
        ('disk copied', '%s (%s)' % (_mib(r.disk_bytes), ', '.join(
            '%s: %s' % kv for kv in sorted(r.disk_sync.items())))),
    ]
    for nic in r.nics:
        rows.append(('NIC', '%s -> %s (%s)' % (nic['old_mac'], nic['mac'], nic['model'])))
    if r.nic_swap_s is not None:
        rows.append(('NIC swap', '%.2f s' % r.nic_swap_s))
    if r.guest_step:
        step = r.guest_step
        took = ', %.2f s' % step['seconds'] if step.get('seconds') else ''
        rows.append(('guest step', '%s%s' % (step.get('status'), took)))
    if r.devices:
        rows.append(('device models', ', '.join('%s=%s' % kv for kv in sorted(
            r.devices.items()))))
    rows.append(('phases', ', '.join('%s %.3f s' % kv for kv in r.phases.items())))
    rows.append(('family', r.family))
    rows.append(('generation ID', r.genid or 'none'))
    rows += [('warning', warning) for warning in r.warnings]
    lines += ['  %-20s %s' % row for row in rows]
    return '\n'.join(lines)


def warnings(result):
    """The warnings of one CloneResult as lines for stderr."""
    return ''.join('pwnetizer: warning: %s: %s\n' % (result.name, w)
                   for w in result.warnings)


def as_json(result):
    return json.dumps(result.to_dict(), sort_keys=True)
