"""How soon a live clone of a real cloud image serves as itself.

    tools/cloud/up.sh
    .venv/bin/python tools/cloud/serve_bench.py --runs 5 [--timeout S]
                                                [--json F] [--plot F.png]

As the demo tenant, through Nova's API: boots a server from the Debian 12
cloud image (image property ``pwnetizer_cloudimage=debian12``, flavor
``pwn.debian``, a config drive) on the tenant network, in a security group
that lets ICMP and TCP port 80 in, and waits until its stateful HTTP
service answers.  Then clones it live ``--runs`` times, one clone per call
(``placement spread``: the clone on the other compute host), deleting each
clone before the next.  For each clone it measures, from the API call,
the time to ACTIVE and the time until the clone's own port address
answers HTTP with the source's token (the service's memory state came
along and the guest step made the guest take its new address), polling
every 0.2 s and giving up after ``--timeout`` s (never: None); and it reads
the clone's metadata ``pwnetizer_guest_step`` and ``pwnetizer_ready_s``.
Prints one row per clone, then medians, maxima and how many clones never
got there.  The source, the clones and the security group are removed at
the end.  Not a test: the figures depend on how busy this machine is.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

POLL_S = 0.2

#: the figures with a median and maximum: (key, label)
KEYS = (('active_s', 'API call to ACTIVE (s)'),
        ('serve_s', 'API call to serving as itself (s)'),
        ('ready_s', 'pwnetizer_ready_s (s)'))


def _helpers():
    """tests.cloud.helpers, imported only when the cloud is used (it needs
    libvirt, keystoneauth and pytest)."""
    if TOP not in sys.path:
        sys.path.insert(0, TOP)
    from tests.cloud import helpers
    return helpers


def boot_source(cloud, net, made, group):
    """The Debian cloud image's server; its id, address and first answer."""
    return _helpers().boot_debian(cloud, net, made, 'pwn-serve-src', group)


def http_token(net, ip):
    """The token ``ip`` answers HTTP with, or None (no answer, no JSON)."""
    done = net.run('curl', '-s', '--connect-timeout', '0.5', '-m', '2',
                   'http://%s/' % ip, timeout=10)
    if done.returncode != 0 or not done.stdout:
        return None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        return None
    return answer.get('token') if isinstance(answer, dict) else None


def _address(net, clone_id):
    ports = net.ports(clone_id)
    if ports and ports[0].get('fixed_ips'):
        return ports[0]['fixed_ips'][0]['ip_address']
    return None


def _ready_s(metadata):
    try:
        return float(metadata['pwnetizer_ready_s'])
    except (KeyError, TypeError, ValueError):
        return None


def clone_once(cloud, net, source_id, token, timeout, made):
    """Clone the source once; the figures of that clone.  The clone is
    deleted before this returns (and is in ``made`` until then)."""
    start = time.monotonic()
    clone_id, = cloud.clone(source_id, count=1, placement='spread')
    made.append(clone_id)
    try:
        row = {'clone': clone_id, 'active_s': None, 'serve_s': None, 'ip': None,
               'other_answers': 0, 'error': None}
        deadline = start + timeout
        while time.monotonic() < deadline:
            if row['active_s'] is None:
                server = cloud.server(clone_id) or {}
                if server.get('status') == 'ACTIVE':
                    row['active_s'] = round(time.monotonic() - start, 2)
                elif server.get('status') == 'ERROR':
                    row['error'] = str((server.get('fault') or {}).get('message'))[:300]
                    break
            if row['ip'] is None:
                row['ip'] = _address(net, clone_id)
            if row['ip'] is not None:
                answered = http_token(net, row['ip'])
                if answered == token:
                    row['serve_s'] = round(time.monotonic() - start, 2)
                elif answered is not None:
                    row['other_answers'] += 1    # a service, not the source's state
            if row['active_s'] is not None and row['serve_s'] is not None:
                break
            time.sleep(POLL_S)
        server = cloud.server(clone_id, admin=True) or {}
        metadata = server.get('metadata') or {}
        row.update(guest_step=metadata.get('pwnetizer_guest_step'),
                   ready_s=_ready_s(metadata),
                   clone_host=server.get('OS-EXT-SRV-ATTR:host'))
        return row
    finally:
        cloud.compute.delete('/servers/%s' % clone_id)
        cloud.wait_gone(clone_id)
        made.remove(clone_id)


def summary(runs):
    """Median and maximum of each figure over the clones that got there;
    ``never``: how many did not; ``guest_step``: clones per step status."""
    out = {}
    for key, _ in KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = {'median': round(statistics.median(values), 2) if values else None,
                    'max': max(values) if values else None,
                    'never': len(runs) - len(values)}
    steps = {}
    for r in runs:
        status = (r.get('guest_step') or 'none').split(':')[0]
        steps[status] = steps.get(status, 0) + 1
    out['guest_step'] = steps
    return out


def _cell(value):
    return 'never' if value is None else '%.2f' % value


def print_runs(runs):
    print('%-5s %9s %9s %9s  %-10s %s' % ('clone', 'active s', 'serve s', 'ready s',
                                          'host', 'guest step'))
    for i, r in enumerate(runs, 1):
        print('%-5d %9s %9s %9s  %-10s %s' % (
            i, _cell(r['active_s']), _cell(r['serve_s']), _cell(r['ready_s']),
            r.get('clone_host') or '-', r.get('error') or r.get('guest_step')))


def print_summary(report):
    for key, label in KEYS:
        figures = report[key]
        print('%-36s median %8s  max %8s  never %d' % (
            label, _cell(figures['median']), _cell(figures['max']), figures['never']))
    print('%-36s %s' % ('guest step', ', '.join(
        '%s %d' % kv for kv in sorted(report['guest_step'].items()))))


def plot(runs, path, timeout):
    """Draw the figures of each clone into ``path``; False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = list(range(1, len(runs) + 1))
    for key, label in KEYS:
        ys = [r[key] if r.get(key) is not None else float('nan') for r in runs]
        line, = ax.plot(xs, ys, marker='o', label=label)
        never = [x for x, r in zip(xs, runs) if r.get(key) is None]
        if never:   # at the top of the axes, in the line's colour
            ax.plot(never, [0.97] * len(never), transform=ax.get_xaxis_transform(),
                    linestyle='none', marker='x', color=line.get_color())
    ax.set_xlabel('clone')
    ax.set_xticks(xs)
    ax.set_ylabel('s')
    ax.set_title('Clone of a cloud image serving as itself (cross-host, through Nova)\n'
                 'x at the top: never within %g s' % timeout, fontsize=10)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.15 or 1)   # room for the marks at the top
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--timeout', type=float, default=120.0,
                        help='seconds after the API call to give a clone up (default 120)')
    parser.add_argument('--json', help='write the figures to this file')
    parser.add_argument('--plot', help='draw the figures into this PNG file')
    args = parser.parse_args(argv)
    if args.runs < 1 or args.timeout <= 0:
        parser.error('--runs and --timeout must be positive')
    helpers = _helpers()
    cloud = helpers.Cloud()
    net = helpers.TenantNetwork(cloud)
    group = net.security_group('pwn-serve-bench-' + uuid.uuid4().hex[:8])
    made = []
    try:
        net.allow(group, 'icmp')
        net.allow(group, 'tcp', 80)
        source_id, ip, first = boot_source(cloud, net, made, group)
        print('source %s at %s on %s, token %s' % (
            source_id, ip, cloud.host_of(source_id), first['token']), flush=True)
        runs = []
        for i in range(args.runs):
            runs.append(clone_once(cloud, net, source_id, first['token'], args.timeout,
                                   made))
            print('clone %d: %s' % (i + 1, json.dumps(runs[-1])), flush=True)
        report = dict(summary(runs), timeout_s=args.timeout)
        print_runs(runs)
        print_summary(report)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'runs': runs, 'summary': report}, f, indent=1)
        if args.plot and not plot(runs, args.plot, args.timeout):
            print('no matplotlib: %s not drawn' % args.plot, file=sys.stderr)
        return 0
    finally:
        _helpers().delete_servers(cloud, made)
        net.delete_security_group(group)


if __name__ == '__main__':
    raise SystemExit(main())
