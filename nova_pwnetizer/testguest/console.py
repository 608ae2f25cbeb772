"""Reading the test guest's console (its first serial port, a file)."""

import re
import time

TICK = re.compile(r'^TICK mem=(\d+) rec=(\d+)\s*$', re.M)
KERNEL_ERRORS = re.compile(
    r'(BUG:|Oops|Kernel panic|general protection fault|Call Trace|I/O error|'
    r'[Cc]orrupt|segfault|PWN IOERR|Unable to handle kernel)')


class Console:
    """A test guest's console log file."""

    def __init__(self, path):
        self.path = path

    def text(self):
        try:
            with open(self.path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def ticks(self):
        """[(mem, rec)] in the order the guest printed them."""
        return [(int(m), int(r)) for m, r in TICK.findall(self.text())]

    def last_tick(self):
        ticks = self.ticks()
        return ticks[-1] if ticks else None

    def lines(self, prefix):
        return [line for line in self.text().splitlines() if line.startswith(prefix)]

    def errors(self):
        return [line for line in self.text().splitlines() if KERNEL_ERRORS.search(line)]

    def wait_for(self, predicate, timeout, what):
        """Wait until ``predicate(self)`` returns a true value; return it."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError('timed out after %ss waiting for %s; console tail:\n%s'
                                   % (timeout, what, self.text()[-2000:]))
            time.sleep(0.1)

    def wait_ticks(self, count=1, timeout=60):
        """Wait for ``count`` more ticks than there are now."""
        start = len(self.ticks())
        return self.wait_for(lambda c: len(c.ticks()) >= start + count, timeout,
                             '%d ticks' % count)
