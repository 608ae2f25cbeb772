"""Where the source's pause goes: QEMU's own trace events around one live
clone, on the source and on the clone, against the guest's ping replies.

    python -m nova_pwnetizer.bench.pause_anatomy --memory 1024 --runs 3

Boots the test guest on this host (``qemu:///system``), switches a set of
QEMU trace events on (QMP ``trace-event-set-state``; libvirt writes them to
the domain's log), clones it and prints, for each clone, the events from
shortly before the source's STOP to its RESUME in milliseconds from the
STOP, with the guest-observed silence.  A tool for the engine's developers,
not a test; it needs the QEMU log files of this host.
"""

import argparse
import time

from nova_pwnetizer.bench import engine_bench
from nova_pwnetizer.bench import probe as probe_mod
from nova_pwnetizer.testguest import domain
from nova_pwnetizer.testguest import image as image_mod
from nova_pwnetizer.virt import engine

LOG_DIR = '/var/log/libvirt/qemu'

SOURCE_EVENTS = (
    'migration_bitmap_sync_start', 'migration_bitmap_sync_end', 'migrate_pending_exact',
    'runstate_set', 'vm_state_notify', 'vm_stop_flush_all', 'migrate_set_state',
    'migration_block_activation', 'migration_precopy_complete', 'qmp_block_job_cancel',
    'handle_qmp_command', 'mirror_before_drain', 'qcow2_cache_flush', 'nbd_send_request',
    'nbd_receive_reply_chunk_header', 'migration_cleanup')
CLONE_EVENTS = (
    'nbd_co_receive_request_decode_type', 'nbd_co_send_chunk_done',
    'thread_pool_submit_aio', 'thread_pool_complete_aio', 'migrate_set_state')
# Monitor commands that only poll (progress, settings) clutter the timeline.
_NOISE = ('query-', 'migrate-set-', 'blockdev-del')


def enable(guest, events):
    for event in events:
        guest.qmp('trace-event-set-state', name=event, enable=True)


def log_events(path, offset, role):
    """``(epoch s, role, text)`` of the trace lines (``pid@sec.usec:event ...``)."""
    with open(path, 'rb') as f:
        f.seek(offset)
        text = f.read().decode(errors='replace')
    found = []
    for line in text.splitlines():
        head, _, rest = line.partition(':')
        stamp = head.partition('@')[2]
        try:
            found.append((float(stamp), role, rest.strip()))
        except ValueError:
            continue
    return found


def _size(path):
    try:
        with open(path, 'rb') as f:
            return f.seek(0, 2)
    except FileNotFoundError:
        return 0


def traced_clone(host, source, ip):
    """One clone with tracing on both sides; returns (result, events, probe)."""
    source_log = '%s/%s.log' % (LOG_DIR, source.guest.name)
    offset = _size(source_log)
    probe = probe_mod.PingProbe(ip)
    time.sleep(1.0)

    def progress(phase, fraction, message):
        if phase == 'disk-sync' and fraction is None:   # the clone QEMU exists now
            enable(host.lookup(state['name']), CLONE_EVENTS)
    state = {'name': '%s-anatomy-%d' % (source.guest.name, int(time.time()))}
    result = engine.clone(source.guest, options=engine.CloneOptions(name=state['name']),
                          progress=progress)
    time.sleep(0.5)
    probe.stop()
    events = (log_events(source_log, offset, 'source')
              + log_events('%s/%s.log' % (LOG_DIR, result.name), 0, 'clone'))
    domain.remove(host, result.name)
    return result, sorted(events), probe


def timeline(result, events, probe, before_ms=40.0):
    stop, resume = result.source_stopped_at, result.source_resumed_at
    lines = ['source paused %.1f ms (QEMU clock); guest-observed silence %.1f ms; '
             'longest silence %.1f ms'
             % (result.source_paused_ms, (probe.gap_across(stop, resume) or 0) * 1000,
                (probe.longest_gap() or 0) * 1000)]
    for stamp, role, text in events:
        if stop - before_ms / 1000 <= stamp <= resume + 0.005 and not any(
                noise in text for noise in _NOISE):
            lines.append('%8.1f  %-6s %s' % ((stamp - stop) * 1000, role, text[:100]))
    replies = [t for t, _ in probe.replies if stop - 0.1 <= t <= resume + 0.1]
    last = max((t for t in replies if t <= stop), default=None)
    first = min((t for t in replies if t >= resume), default=None)
    if last and first:
        lines.append('last reply %.1f ms before the STOP, first %.1f ms after the RESUME'
                     % ((stop - last) * 1000, (first - resume) * 1000))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--memory', type=int, default=1024, help='guest MiB')
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args(argv)
    host = engine.Host('qemu:///system')
    source = engine_bench._boot(host, image_mod.ensure_image(log=print), args.memory)
    try:
        enable(source.guest, SOURCE_EVENTS)
        ip = source.console.lines('PWN DHCP')[-1].split('ip=')[1].strip()
        for run in range(args.runs):
            print('== clone %d' % (run + 1))
            print(timeline(*traced_clone(host, source, ip)), flush=True)
    finally:
        domain.remove(host, source.guest.name)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
