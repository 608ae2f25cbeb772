"""The suite's report: a markdown table with ratios, and two plots."""

import json
import os

LABELS = {'baseline': 'nothing (control: the guest\'s own ping latency)',
          'live_clone': 'pwnetizer live clone', 'stop_and_copy': 'stop-and-copy clone',
          'snapshot_boot': 'snapshot + boot (OpenStack today)',
          'libvirt_migration': 'libvirt live migration (reference)'}


def _med(cell, method, key):
    summary = cell['methods'].get(method, {}).get('summary', {}).get(key)
    return summary['median'] if summary else None


def _fmt(summary, unit=''):
    if not summary:
        return '-'
    return '%s%s (%s)' % (_num(summary['median']), unit, _num(summary['max']))


def _num(value):
    if value >= 100:
        return '%.0f' % value
    return '%.1f' % value if value >= 10 else '%.2f' % value


def _ratio(a, b):
    if not a or not b:
        return '-'
    return '%.0fx' % (a / b) if a / b >= 10 else '%.1fx' % (a / b)


def markdown(data, serve=None):
    """The report of a suite's ``data``; ``serve``: the figures of
    serve_bench.py's JSON, if any."""
    m = data['machine']
    lines = ['# Benchmarks', '',
             'One run of `python -m nova_pwnetizer.bench.suite` on %d cores, QEMU %s '
             '(%s), libvirt %s; %d s. Each figure: median (max) over the runs.'
             % (m['cpus'], m['qemu'], m['accelerator'], m['libvirt'], data['duration_s']),
             '', 'Columns: guest-observed source pause (the silence under a 2 ms ping '
             'from the guest network that spans the source\'s pause, where the method '
             'knows when it paused the source: live clone, stop-and-copy; else the '
             'longest silence), the longest silence of the whole run (the pause, or '
             'the host busy with the new copy and scheduling the source late), time '
             'until the copy serves (its own DHCP '
             'lease, its web service answering; for the migration: until it completed), '
             'data moved, CPU seconds spent on the host. The snapshot + boot copy has '
             'lost the memory state: it is a fresh boot of the disk.', '',
             ] + (['Some cells were measured again later on a quiet machine (%s): '
                   'they replace those of the first run.' % ', '.join(data['remeasured']), '']
                  if data.get('remeasured') else []) + [
             '| memory | workload | method | pause ms | longest silence ms | serves after s '
             '| data MiB | CPU s | pause vs live | serve vs live |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for cell in data['cells']:
        live_pause = _med(cell, 'live_clone', 'guest_pause_ms')
        live_serve = _med(cell, 'live_clone', 'serve_s')
        for method, result in cell['methods'].items():
            s = result['summary']
            errors = ' (%d failed)' % result['errors'] if result['errors'] else ''
            lines.append('| %d MiB | %s | %s%s | %s | %s | %s | %s | %s | %s | %s |' % (
                cell['memory_mib'], cell['workload'], LABELS.get(method, method), errors,
                _fmt(s.get('guest_pause_ms')), _fmt(s.get('guest_max_silence_ms')),
                _fmt(s.get('serve_s')),
                _fmt(s.get('data_mib')), _fmt(s.get('cpu_s')),
                '-' if method in ('live_clone', 'baseline') else _ratio(
                    _med(cell, method, 'guest_pause_ms'), live_pause),
                '-' if method == 'live_clone' else _ratio(_med(cell, method, 'serve_s'),
                                                          live_serve)))
    lines += targets(data)
    if data.get('fanout'):
        lines += ['', '## Fan-out (256 MiB)', '',
                  'Medians. Rounds: clone jobs one after the other on the longest '
                  'path (the tree runs the jobs of a round in parallel). CPU s: '
                  'the whole host\'s (QEMU, libvirtd, the engine) over the fan-out; '
                  'busy: that over cores x total.', '',
                  '| clones | tree: total s | rounds | source pauses | CPU s | busy '
                  '| sequential: total s | rounds | source pauses | CPU s | busy |',
                  '|---|---|---|---|---|---|---|---|---|---|---|']
        by = {}
        for row in data['fanout']:
            by.setdefault((row['count'], row['mode']), []).append(row)
        for count in sorted({c for c, _ in by}):
            tree, seq = by.get((count, 'tree'), []), by.get((count, 'sequential'), [])
            lines.append('| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                count, _med_rows(tree, 'total_s'), _med_rows(tree, 'rounds', '%d'),
                _set(tree), _med_rows(tree, 'cpu_s'), _med_rows(tree, 'host_busy'),
                _med_rows(seq, 'total_s'), _med_rows(seq, 'rounds', '%d'), _set(seq),
                _med_rows(seq, 'cpu_s'), _med_rows(seq, 'host_busy')))
        lines += fanout_reading(by)
    lines += ['', '![pause vs memory](img/pause-vs-memory.png)', '',
              '![pause vs dirty rate](img/pause-vs-dirty-rate.png)', '']
    lines += serve_section(serve)
    return '\n'.join(lines)


SERVE_FIGURES = (('active_s', 'API call to ACTIVE (s)'),
                 ('serve_s', 'API call to serving on its own address, as itself (s)'),
                 ('ready_s', "the engine's clone call, `pwnetizer_ready_s` (s)"))


SERVE_JSON = 'serve-bench.json'


def _seconds(value):
    return '%.2f' % value if isinstance(value, (int, float)) else '-'


def serve_section(serve):
    """The clone of a cloud image serving as itself, in the test cloud
    (``tools/cloud/serve_bench.py --json doc/serve-bench.json``)."""
    if not serve:
        return []
    lines = ['## A clone of a cloud image serving as itself (test cloud)', '',
             'Measured by `tools/cloud/serve_bench.py` through Nova\'s API (%s); '
             'see doc/guest-step.md for what takes the time.' % serve.get('measured', ''),
             '', '| figure | median | max | never |', '|---|---|---|---|']
    for key, label in SERVE_FIGURES:
        figure = serve['summary'].get(key) or {}
        lines.append('| %s | %s | %s | %s of %d |' % (
            label, _seconds(figure.get('median')), _seconds(figure.get('max')),
            figure.get('never'), len(serve['runs'])))
    return lines + ['']


def _cell(data, size, workload):
    for cell in data['cells']:
        if cell['memory_mib'] == size and cell['workload'] == workload:
            return cell
    return None


def targets(data):
    """The issue's targets against this run's medians."""
    lines = ['', '## Targets', '',
             'Pause as the guest sees it (ping) and as QEMU\'s clock has it (the '
             'source\'s STOP to RESUME event; for stop-and-copy the suspend to resume '
             'interval). Where a busy guest answers pings late by itself (the '
             '`nothing` control row), the ping figure is bounded by that latency, '
             'not by the clone.', '',
             '| target | measured (median) | met |', '|---|---|---|']
    for size, workload, limit in ((1024, 'idle', 50), (1024, 'dirty20', 300)):
        cell = _cell(data, size, workload)
        pause = _med(cell, 'live_clone', 'guest_pause_ms') if cell else None
        if pause is not None:
            lines.append('| live clone pause < %d ms at %d MiB %s | %.1f ms | %s |'
                         % (limit, size, workload, pause, 'yes' if pause < limit else 'no'))
    worst_guest = worst_engine = None
    for cell in data['cells']:
        sac_guest = _med(cell, 'stop_and_copy', 'guest_pause_ms')
        live_guest = _med(cell, 'live_clone', 'guest_pause_ms')
        sac_engine = _med(cell, 'stop_and_copy', 'pause_s')
        live_engine = _med(cell, 'live_clone', 'engine_pause_ms')
        where = '%d MiB %s' % (cell['memory_mib'], cell['workload'])
        if sac_guest and live_guest:
            ratio = sac_guest / live_guest
            if worst_guest is None or ratio < worst_guest[0]:
                worst_guest = (ratio, where)
        if sac_engine and live_engine:
            ratio = sac_engine * 1000 / live_engine
            if worst_engine is None or ratio < worst_engine[0]:
                worst_engine = (ratio, where)
    for label, worst in (('guest-observed', worst_guest), ('QEMU clock', worst_engine)):
        if worst:
            lines.append('| stop-and-copy pause / live pause >= 20x in every cell (%s) '
                         '| lowest %.1fx (%s) | %s |'
                         % (label, worst[0], worst[1], 'yes' if worst[0] >= 20 else 'no'))
    return lines


def _med_rows(rows, key, fmt='%.2f'):
    values = sorted(r[key] for r in rows if r.get(key) is not None)
    return fmt % values[len(values) // 2] if values else '-'


def fanout_reading(by):
    """What the fan-out rows say: where the host ran out of cores, and the
    tree's total with a core per clone (its rounds x one clone's time)."""
    single = [r['total_s'] for r in by.get((1, 'tree'), [])]
    busy = [r for (_, mode), rows in by.items() if mode == 'tree' for r in rows
            if r.get('host_busy') is not None]
    if not single or not busy:
        return []
    one = sorted(single)[len(single) // 2]
    counts = sorted(c for c, mode in by if mode == 'tree')
    ideal = ', '.join('N=%d: %.1f s' % (c, one * by[(c, 'tree')][0].get('rounds', 0))
                      for c in counts)
    return ['', 'Host busy over the tree runs: %d%%-%d%% of all cores. With a core '
            'per clone the tree would take about rounds x one clone (%.2f s): %s.' % (
                100 * min(r['host_busy'] for r in busy),
                100 * max(r['host_busy'] for r in busy), one, ideal)]


def _set(rows):
    return ', '.join(sorted({str(r['source_pauses']) for r in rows})) or '-'


def plots(data, directory):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(directory, exist_ok=True)
    methods = list(LABELS)
    idle = [c for c in data['cells'] if c['workload'] == 'idle']
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for method in methods:
        points = [(c['memory_mib'], _med(c, method, 'guest_pause_ms')) for c in idle]
        points = [p for p in points if p[1]]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], 'o-',
                    label=LABELS[method])
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xlabel('guest memory (MiB)')
    ax.set_ylabel('guest-observed source pause (ms, median)')
    ax.set_title('Source pause vs memory size, idle guest')
    ax.legend(fontsize=8)
    ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, 'pause-vs-memory.png'), dpi=100)
    plt.close(fig)

    rates = {'idle': 0, 'dirty5': 5, 'dirty20': 20, 'dirty50': 50}
    size = max((c['memory_mib'] for c in data['cells'] if c['workload'] in rates
                and c['memory_mib'] <= 1024), default=None)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for method in methods:
        points = sorted((rates[c['workload']], _med(c, method, 'guest_pause_ms'))
                        for c in data['cells'] if c['memory_mib'] == size
                        and c['workload'] in rates)
        points = [p for p in points if p[1]]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], 'o-',
                    label=LABELS[method])
    ax.set_yscale('log')
    ax.set_xlabel('guest page-dirtying rate (MB/s)')
    ax.set_ylabel('guest-observed source pause (ms, median)')
    ax.set_title('Source pause vs dirty rate, %s MiB guest' % size)
    ax.legend(fontsize=8)
    ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, 'pause-vs-dirty-rate.png'), dpi=100)
    plt.close(fig)


def write(data, doc_dir):
    os.makedirs(doc_dir, exist_ok=True)
    serve = None
    if os.path.exists(os.path.join(doc_dir, SERVE_JSON)):
        with open(os.path.join(doc_dir, SERVE_JSON)) as f:
            serve = json.load(f)
    with open(os.path.join(doc_dir, 'benchmarks.md'), 'w') as f:
        f.write(markdown(data, serve))
    plots(data, os.path.join(doc_dir, 'img'))


def main(argv=None):
    """python -m nova_pwnetizer.bench.report [JSON [DOC_DIR]]: write the
    report again from a suite's JSON (no measuring)."""
    import json
    import sys
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else 'artifacts/bench-suite.json'
    with open(path) as f:
        write(json.load(f), args[1] if len(args) > 1 else 'doc')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
