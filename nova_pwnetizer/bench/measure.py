"""What the benchmarks measure besides the pause: CPU time, serving time."""

import os
import re
import subprocess
import time

_NAMES = ('qemu-system-x86', 'libvirtd', 'virtlogd')
_TICKS = os.sysconf('SC_CLK_TCK')


def _proc_cpu(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _processes():
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/comm' % entry) as f:
                comm = f.read().strip()
            if comm.startswith(_NAMES):
                found[int(entry)] = _proc_cpu(int(entry))
        except OSError:
            continue
    return found


class CpuMeter:
    """CPU seconds that an operation costs the whole host.

    Sums the CPU time of QEMU processes, libvirtd, virtlogd, this process
    and its waited-for children (qemu-img) over the operation, minus what
    the source guest's QEMU burns anyway (its rate measured beforehand).
    """

    def __init__(self, source_pid=None, baseline_s=1.0):
        self.source_rate = 0.0
        if source_pid:
            first = _proc_cpu(source_pid)
            time.sleep(baseline_s)
            self.source_rate = (_proc_cpu(source_pid) - first) / baseline_s
        self._start = _processes()
        self._self = os.times()
        self._t0 = time.monotonic()

    def stop(self):
        elapsed = time.monotonic() - self._t0
        now = _processes()
        total = 0.0
        for pid, cpu in now.items():
            total += cpu - self._start.get(pid, 0.0)
        me = os.times()
        total += sum(me[:4]) - sum(self._self[:4])
        return round(max(0.0, total - self.source_rate * elapsed), 2)


def http_answers(ip, netns='pwnetizer', timeout=2):
    """Whether the guest's web service answers (busybox httpd on port 80)."""
    proc = subprocess.run(['ip', 'netns', 'exec', netns, 'curl', '-s', '-m', str(timeout),
                           'http://%s/' % ip], capture_output=True, text=True)
    return proc.returncode == 0 and 'pwnetizer' in proc.stdout


def wait_serving(console, start, deadline_s=120, mac=None):
    """Seconds from ``start`` (monotonic) until the guest behind ``console``
    has a lease (on ``mac``'s NIC if given) and its service answers."""
    end = time.monotonic() + deadline_s
    ip = None
    while time.monotonic() < end:
        if ip is None:
            for line in reversed(console.lines('PWN DHCP')):
                ip = re.search(r'ip=(\S+)', line).group(1)
                break
        if ip and http_answers(ip, timeout=1):
            return round(time.monotonic() - start, 3), ip
        time.sleep(0.05)
    raise TimeoutError('the guest did not serve within %ss' % deadline_s)
