"""The performance suite: this project's live clone against the other ways
to copy a running guest, in one run on one machine, and the fan-out tree.

    python -m nova_pwnetizer.bench.suite [--sizes 256 1024 2048]
        [--workloads idle dirty5 dirty20 dirty50 disk] [--runs 3] [--quick]

Writes artifacts/bench-suite.json, doc/benchmarks.md and the plots
doc/img/pause-vs-memory.png and doc/img/pause-vs-dirty-rate.png.
"""

import argparse
import dataclasses
import json
import os
import platform
import statistics
import time
import traceback

from nova_pwnetizer.bench import measure
from nova_pwnetizer.bench import methods as methods_mod
from nova_pwnetizer.bench import report
from nova_pwnetizer.testguest import domain
from nova_pwnetizer.testguest import image as image_mod
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import fanout

HOST2_URI = 'qemu+unix:///system?socket=/var/lib/pwnetizer/host2/run/libvirt-sock'
WORKLOADS = {
    'idle': None,
    'dirty5': 'pwn-dirty {buf} 5',
    'dirty20': 'pwn-dirty {buf} 20',
    'dirty50': 'pwn-dirty {buf} 50',
    'disk': ('while :; do dd if=/dev/zero of=$(ls /dev/vda /dev/sda 2>/dev/null | head -1) '
             'bs=64k seek=2000 count=16 conv=fsync 2>/dev/null; done'),
}


@dataclasses.dataclass
class Context:
    host: object
    host2: object
    image: object
    memory_mib: int = 256
    host1_address: str = '10.213.0.1'
    host2_address: str = '10.213.0.2'


def _summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {'median': round(statistics.median(values), 3), 'max': round(max(values), 3),
            'n': len(values)}


def run_cell(ctx, size, workload, method_names, runs, log):
    name = 'suite-%d-%s' % (size, workload)
    domain.remove(ctx.host, name)
    ctx.memory_mib = size
    source = domain.boot(ctx.host, domain.GuestSpec(name=name, memory_mib=size,
                                                    tick_ms=1000), ctx.image)
    ip = source.console.wait_for(lambda c: c.lines('PWN DHCP'), 90, 'a lease')[-1]
    ip = ip.split('ip=')[1].strip()
    if WORKLOADS[workload]:
        command = WORKLOADS[workload].format(buf=min(size // 4, 256))
        source.agent.run('(%s) >/dev/null 2>&1 </dev/null &' % command)
        time.sleep(3)
    cell = {'memory_mib': size, 'workload': workload, 'methods': {}}
    try:
        for method in method_names:
            figures = []
            for i in range(runs):
                try:
                    figures.append(methods_mod.METHODS[method](ctx, source, ip))
                except Exception as e:  # record and go on: one bad run is a figure too
                    traceback.print_exc()
                    figures.append({'error': str(e)})
                log('%5d MiB %-8s %-17s run %d: %s'
                    % (size, workload, method, i + 1, figures[-1]))
            keys = {k for f in figures for k, v in f.items() if isinstance(v, (int, float))}
            cell['methods'][method] = {
                'runs': figures,
                'summary': {k: _summary([f.get(k) for f in figures]) for k in sorted(keys)},
                'errors': sum(1 for f in figures if 'error' in f)}
    finally:
        domain.remove(ctx.host, source.guest.name)
    return cell


def run_fanout(ctx, counts, runs, log):
    rows = []
    for count in counts:
        for mode in ('tree', 'sequential'):
            for i in range(runs):
                name = 'fan-%d' % count
                domain.remove(ctx.host, name)
                source = domain.boot(ctx.host, domain.GuestSpec(name=name, memory_mib=256,
                                                                tick_ms=1000), ctx.image)
                try:
                    # CPU seconds of the whole host: on a machine with fewer
                    # cores than clones the tree's parallel rounds share them
                    cpu = measure.CpuMeter()
                    if mode == 'tree':
                        done = fanout.fanout(source.guest, ctx.host, count,
                                             lambda j, parent: engine.CloneOptions())
                        total, pauses = done.total_s, done.source_pauses
                        names = [r.name for r in done.results]
                        rounds = len(done.rounds)
                    else:
                        start = time.monotonic()
                        names = [engine.clone(source.guest).name for _ in range(count)]
                        total = round(time.monotonic() - start, 3)
                        pauses = rounds = count
                    cpu_s = cpu.stop()
                    rows.append({'count': count, 'mode': mode, 'total_s': total,
                                 'source_pauses': pauses, 'rounds': rounds, 'cpu_s': cpu_s,
                                 'host_busy': round(cpu_s / (os.cpu_count() * total), 2)})
                    log('fan-out N=%d %-10s run %d: %.2f s, %d round(s), source paused '
                        '%d time(s), %.1f CPU s (host %d%% busy)'
                        % (count, mode, i + 1, total, rounds, pauses, cpu_s,
                           100 * rows[-1]['host_busy']))
                finally:
                    for clone_name in names:
                        domain.remove(ctx.host, clone_name)
                    domain.remove(ctx.host, name)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 1024, 2048])
    parser.add_argument('--workloads', nargs='+', default=list(WORKLOADS),
                        choices=list(WORKLOADS))
    parser.add_argument('--methods', nargs='+', default=list(methods_mod.METHODS),
                        choices=list(methods_mod.METHODS))
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--fanout', type=int, nargs='*', default=[1, 2, 4, 8])
    parser.add_argument('--quick', action='store_true',
                        help='256 and 1024 MiB, idle and dirty20, 2 runs, fan-out 1 2 4')
    parser.add_argument('--merge', action='store_true',
                        help='measure only the given cells again and merge them into '
                             'the existing JSON (e.g. after a run disturbed by other '
                             'work on the machine)')
    parser.add_argument('--fanout-only', action='store_true',
                        help='measure only the fan-out and merge it into the existing JSON')
    parser.add_argument('--out', default='artifacts')
    parser.add_argument('--doc', default='doc')
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.workloads = [256, 1024], ['idle', 'dirty20']
        args.runs, args.fanout = 2, [1, 2, 4]
    ctx = Context(host=engine.Host('qemu:///system'), host2=engine.Host(HOST2_URI),
                  image=image_mod.ensure_image(log=print))

    def log(text):
        print(text, flush=True)
    started = time.time()
    data = {'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(),
                        'qemu': '.'.join(map(str, ctx.host.qemu_version)),
                        'libvirt': '.'.join(map(str, ctx.host.libvirt_version)),
                        'accelerator': 'TCG'},
            'cells': [], 'fanout': []}
    path = os.path.join(args.out, 'bench-suite.json')
    if args.fanout_only:
        args.merge, args.sizes = True, []
    if args.merge and os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
        data.setdefault('remeasured', []).append('%s: %s' % (
            time.strftime('%Y-%m-%d %H:%M'), 'fan-out' if args.fanout_only else '%s of %s' % (
                ', '.join(args.methods),
                ', '.join('%d MiB %s' % (s, w) for s in args.sizes for w in args.workloads))))

    def save():
        # After every cell, so that an interrupted run still leaves its figures.
        if not args.merge:
            data['duration_s'] = round(time.time() - started)
        os.makedirs(args.out, exist_ok=True)
        with open(path, 'w') as f:
            json.dump(data, f, indent=1)
        report.write(data, args.doc)
    for size in args.sizes:
        for workload in args.workloads:
            cell = run_cell(ctx, size, workload, args.methods, args.runs, log)
            old = [c for c in data['cells'] if (c['memory_mib'], c['workload'])
                   == (size, workload)]
            if args.merge and old:   # the methods measured again replace theirs
                old[0]['methods'].update(cell['methods'])
                cell = old[0]
            data['cells'] = [c for c in data['cells'] if (c['memory_mib'], c['workload'])
                             != (size, workload)] + [cell]
            data['cells'].sort(key=lambda c: (c['memory_mib'], list(WORKLOADS).index(
                c['workload'])))
            save()
    if args.fanout and (args.fanout_only or not args.merge):
        data['fanout'] = run_fanout(ctx, args.fanout, max(1, args.runs - 1), log)
    save()
    log('wrote %s/bench-suite.json, %s/benchmarks.md and plots in %s/img'
        % (args.out, args.doc, args.doc))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
