"""Soundness of clones under load: memory and disk exactly at switch-over,
and a soak of consecutive clones of a busy guest with zero kernel errors.

The guest is busy while it is cloned: it dirties memory (``pwn-dirty``),
writes numbered records to its disk (the workload, plus a bulk writer)
and answers a stream of pings.
"""

import json
import os
import subprocess
import uuid as uuidlib

from nova_pwnetizer.virt import engine
from tests.integration.conftest import assert_no_leftovers
from tests.integration import helpers

ARTIFACTS = os.path.join(os.path.dirname(__file__), '..', '..', 'artifacts')
PAGE = 4096


def _make_busy(src, dirty_mib_s=20):
    src.agent.run('pwn-dirty 64 %d >/dev/null 2>&1 </dev/null &' % dirty_mib_s)
    src.agent.run('(while :; do dd if=/dev/zero of=$(ls /dev/vda /dev/sda 2>/dev/null '
                  '| head -1) bs=64k seek=2000 count=16 conv=fsync 2>/dev/null; done) '
                  '>/dev/null 2>&1 </dev/null &')


def _ping(ip, seconds):
    return subprocess.Popen(['ip', 'netns', 'exec', 'pwnetizer', 'ping', '-q', '-i', '0.05',
                             '-w', str(seconds), ip],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _genid_bytes(genid):
    u = uuidlib.UUID(genid)
    return {u.bytes, u.bytes_le}


class SwitchoverProbe:
    """The engine's switch-over hook: both sides paused, nothing moves."""

    def __init__(self, src, memory_bytes, tag):
        self.src = src
        self.size = memory_bytes
        self.files = ['/var/lib/pwnetizer/ram-%s-%s.bin' % (tag, side)
                      for side in ('source', 'clone')]
        self.console = None
        self.clone_disk_records = None

    def __call__(self, source, clone):
        for guest, path in zip((source, clone), self.files):
            guest.qmp('pmemsave', val=0, size=self.size, filename=path)
        self.console = self.src.console.text()

    def differing_pages(self):
        diffs = []
        with open(self.files[0], 'rb') as a, open(self.files[1], 'rb') as b:
            offset = 0
            while True:
                pa, pb = a.read(1 << 20), b.read(1 << 20)
                if not pa and not pb:
                    break
                if pa != pb:
                    for i in range(0, max(len(pa), len(pb)), PAGE):
                        if pa[i:i + PAGE] != pb[i:i + PAGE]:
                            diffs.append((offset + i, pa[i:i + PAGE], pb[i:i + PAGE]))
                offset += len(pa)
        return diffs

    def remove(self):
        for path in self.files:
            if os.path.exists(path):
                os.unlink(path)


def _last_tick_at(console_text):
    """(mem of the last complete tick line, whether the text ends a line)."""
    ticks = helpers.console_ticks(console_text)
    return ticks[-1][0], console_text.endswith('\n')


def test_memory_and_disk_are_exact_at_switchover(host, guests):
    src = guests.boot()
    _make_busy(src)
    src.console.wait_ticks(5)
    runs = []
    for run in range(3):
        probe = SwitchoverProbe(src, 256 * 1024 * 1024, '%s-%d' % (guests.prefix, run))
        try:
            result = engine.clone(src.guest, options=engine.CloneOptions(
                bandwidth_mib=48, start=False, switchover_hook=probe))
            clone = guests.attach(result.name)
            # Memory: page by page, the clone is the source at switch-over,
            # except the VM generation ID the clone's QEMU writes on load.
            diffs = probe.differing_pages()
            genid = _genid_bytes(clone.guest.tree().findtext('genid'))
            unexplained = [d for d in diffs
                           if not any(g in d[2] for g in genid)]
            assert unexplained == [], 'pages differ at %s' % [hex(d[0]) for d in unexplained]
            assert len(diffs) <= 1
            # Disk: before the clone ever ran, its records end exactly where
            # its memory continues.
            records = helpers.read_records(clone.disk)
            assert helpers.contiguous(records)
            last_record = max(records)
            clone.guest.resume()
            first_mem, first_rec = clone.console.wait_for(lambda c: c.ticks(), 60,
                                                          'the clone to tick')[0]
            assert last_record in (first_rec - 1, first_rec), (last_record, first_rec)
            source_mem, whole_line = _last_tick_at(probe.console)
            assert first_mem in ((source_mem + 1,) if whole_line
                                 else (source_mem + 1, source_mem + 2))
            runs.append({'differing_pages': len(diffs), 'genid_pages': len(diffs),
                         'memory_mb': result.memory_bytes >> 20,
                         'downtime_ms': result.downtime_ms,
                         'last_record': last_record, 'first_tick_record': first_rec})
            clone.guest.destroy()
            clone.guest.undefine()
            for path in (clone.disk, clone.console.path):
                os.unlink(path)
        finally:
            probe.remove()
    assert src.console.errors() == []
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, 'switchover-check.json'), 'w') as f:
        json.dump(runs, f, indent=1)
    assert_no_leftovers(host, guests, [src])


SOAK_CLONES = int(os.environ.get('PWN_SOAK_CLONES', '30'))


def test_soak_consecutive_clones_of_a_busy_guest(host, guests):
    src = guests.boot()
    src.console.wait_for(lambda c: c.lines('PWN DHCP'), 60, 'the source lease')
    _make_busy(src, dirty_mib_s=10)
    ping = _ping(helpers.dhcp_ip(src.console), SOAK_CLONES * 20 + 60)
    summary = {'clones': 0, 'kernel_errors': 0, 'record_gaps': 0, 'pauses_ms': [],
               'failures': []}
    try:
        for i in range(SOAK_CLONES):
            result = engine.clone(src.guest)
            clone = guests.attach(result.name)
            clone.console.wait_for(
                lambda c: [line for line in c.lines('PWN NIC ') if result.nics[0]['mac']
                           in line], 60, 'the new NIC')
            clone.console.wait_ticks(20, timeout=90)  # watched for ~2 s of ticks
            errors = clone.console.errors()
            clone.guest.destroy()
            gaps = not helpers.contiguous(helpers.read_records(clone.disk))
            summary['clones'] += 1
            summary['kernel_errors'] += len(errors)
            summary['record_gaps'] += int(gaps)
            summary['pauses_ms'].append(result.source_paused_ms)
            if errors or gaps:
                summary['failures'].append({'clone': i, 'errors': errors, 'gaps': gaps})
            clone.guest.undefine()
            for path in (clone.disk, clone.console.path):
                os.unlink(path)
            assert src.guest.state == 'running'
    finally:
        ping.terminate()
        os.makedirs(ARTIFACTS, exist_ok=True)
        with open(os.path.join(ARTIFACTS, 'soak.json'), 'w') as f:
            json.dump(summary, f, indent=1)
    assert summary['clones'] == SOAK_CLONES
    assert summary['kernel_errors'] == 0 and summary['record_gaps'] == 0, summary['failures']
    assert src.console.errors() == []
    assert_no_leftovers(host, guests, [src])
