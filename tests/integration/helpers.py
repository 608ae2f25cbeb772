"""Host-side helpers of the real-VM tests."""

import glob
import json
import os
import signal
import subprocess
import tempfile
import time

from nova_pwnetizer.testguest import domain

LIBVIRTD_PID = '/run/libvirtd.pid'


def qemu_pid(name):
    with open('/run/libvirt/qemu/%s.pid' % name) as f:
        return int(f.read().strip())


def kill_qemu(name):
    """Kill a domain's QEMU the hard way (as a crash would)."""
    os.kill(qemu_pid(name), signal.SIGKILL)


def in_libvirtd_mounts(*cmd):
    """Run ``cmd`` in libvirtd's mount namespace (where QEMU sees files)."""
    with open(LIBVIRTD_PID) as f:
        pid = f.read().strip()
    return subprocess.run(['nsenter', '-t', pid, '-m', '--'] + list(cmd),
                          check=True, capture_output=True, text=True).stdout


def read_records(disk, count=None):
    """{seq: (bootid, mem)} of the workload records on a disk image.

    Reads the first ``count`` (default 20000) sectors with qemu-img, even
    from an image a running QEMU holds (-U).
    """
    count = count or 20000
    with tempfile.NamedTemporaryFile(suffix='.raw') as out:
        fmt = json.loads(subprocess.run(
            ['qemu-img', 'info', '-U', '--output=json', disk], check=True,
            capture_output=True, text=True).stdout)['format']
        subprocess.run(['qemu-img', 'dd', '-U', '-f', fmt, '-O', 'raw', 'bs=512',
                        'count=%d' % count, 'if=' + disk, 'of=' + out.name], check=True,
                       capture_output=True)
        data = out.read()
    records = {}
    for i in range(1, len(data) // 512):
        sector = data[i * 512:(i + 1) * 512]
        if not sector.startswith(b'PWNREC '):
            continue
        fields = sector.split(b'\n', 1)[0].decode().split()
        records[int(fields[1])] = (fields[2], int(fields[3]))
    return records


def contiguous(records):
    """True when records are numbered 1..N with no gap."""
    return sorted(records) == list(range(1, len(records) + 1))


def workdir_files(prefix):
    return sorted(glob.glob(os.path.join(domain.DEFAULT_WORKDIR, prefix + '*')))


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(interval)


def pwn_leftovers(guest):
    """NBD nodes, mirror jobs and migration state the engine left on a domain."""
    found = []
    for node in guest.qmp('query-named-block-nodes', flat=True):
        if (node.get('node-name') or '').startswith('pwn-'):
            found.append('node ' + node['node-name'])
    for job in guest.qmp('query-block-jobs'):
        found.append('job ' + job['device'])
    caps = {c['capability']: c['state'] for c in guest.qmp('query-migrate-capabilities')}
    if caps.get('pause-before-switchover'):
        found.append('pause-before-switchover still set')
    status = guest.migration_status().get('status')
    if status not in (None, 'none', 'completed', 'cancelled', 'failed'):
        found.append('migration ' + status)
    return found


def netns_run(*cmd, check=True, timeout=60):
    """Run a command in the test network namespace (where the guests are)."""
    return subprocess.run(['ip', 'netns', 'exec', os.environ.get('PWN_NETNS', 'pwnetizer')]
                          + list(cmd), check=check, capture_output=True, text=True,
                          timeout=timeout)


def dhcp_ip(console, mac=None):
    lines = console.lines('PWN DHCP')
    return lines[-1].split('ip=')[1].strip() if lines else None


def console_ticks(text):
    """[(mem, rec)] of the tick lines in a console text."""
    from nova_pwnetizer.testguest import console
    return [(int(m), int(r)) for m, r in console.TICK.findall(text)]
