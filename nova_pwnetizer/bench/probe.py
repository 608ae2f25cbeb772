"""Guest-observed pause: the longest silence of a guest under a fine ping.

The host pings the guest every ``interval`` seconds from the test network
namespace.  While the guest is paused its NIC answers nothing; the packets
wait in the tap queue and are answered in a burst after the resume.  The
largest gap between two consecutive replies is the pause the guest's
network peers saw, to within one interval.
"""

import re
import subprocess
import tempfile

_REPLY = re.compile(r'^\[(\d+\.\d+)\] \d+ bytes from .* icmp_seq=(\d+)')


def ms(seconds):
    """A silence in milliseconds, to 0.1 ms (None for none)."""
    return round(seconds * 1000, 1) if seconds else None


class PingProbe:
    def __init__(self, ip, interval=0.002, netns='pwnetizer'):
        self.ip = ip
        self.interval = interval
        # A file, not a pipe: a full pipe would block ping and hide the gap.
        self._out = tempfile.TemporaryFile(mode='w+')
        self._proc = subprocess.Popen(
            ['ip', 'netns', 'exec', netns, 'ping', '-D', '-n', '-i', str(interval),
             '-W', '2', ip], stdout=self._out, stderr=subprocess.DEVNULL, text=True)
        self.replies = []

    def stop(self):
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._out.seek(0)
        out = self._out.read()
        self._out.close()
        for line in out.splitlines():
            m = _REPLY.match(line)
            if m:
                self.replies.append((float(m.group(1)), int(m.group(2))))
        return self.replies

    def _gaps(self, start=None, end=None):
        times = sorted(t for t, _ in self.replies
                       if (start is None or t >= start) and (end is None or t <= end))
        return list(zip(times, times[1:]))

    def longest_gap(self, start=None, end=None):
        """Seconds of the largest gap between replies received in [start, end]."""
        gaps = [b - a for a, b in self._gaps(start, end)]
        return max(gaps) if gaps else None

    def gap_across(self, paused, resumed):
        """Seconds of the silence that spans a pause of the guest from
        ``paused`` to ``resumed`` (epoch seconds): from the last reply before
        the pause (or in it, had one been on its way) to the first after.
        Other silences (a busy host scheduling the guest late, before or
        after) are not the pause's; :meth:`longest_gap` has them."""
        spanning = [b - a for a, b in self._gaps() if a < resumed and b > paused]
        return max(spanning) if spanning else None
