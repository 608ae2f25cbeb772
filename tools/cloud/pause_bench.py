"""The source's pause in the test cloud, as its guest sees it.

    tools/cloud/up.sh
    .venv/bin/python tools/cloud/pause_bench.py --runs 5 [--json F] [--plot F.png]

As the demo tenant, through Nova's API: boots a server from the test image
on the tenant network (a security group that lets ICMP in), pings it every
5 ms from the DHCP agent's namespace and clones it live ``--runs`` times,
one clone per call (``placement spread``: the clone on the other compute
host), deleting each clone before the next.  Prints for each clone the time
from the API call to ACTIVE, the pause on QEMU's clock (the clone's
``pwnetizer_pause_ms``), the guest-observed pause (the ping silence across
that pause, which starts at ``pwnetizer_paused_at``) and the longest
silence of the whole call; then medians and maxima.  The source, the clones
and the security group are removed at the end.  Not a test: the figures
depend on how busy this machine is.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from nova_pwnetizer.bench import probe  # noqa: E402
from tests.cloud import helpers  # noqa: E402

KEYS = (('active_s', 'API call to ACTIVE (s)'),
        ('qemu_pause_ms', 'pause, QEMU clock (ms)'),
        ('guest_pause_ms', 'pause, guest-observed (ms)'),
        ('longest_silence_ms', 'longest silence (ms)'))


def clone_once(cloud, source_id, ip, netns):
    pinger = probe.PingProbe(ip, interval=0.005, netns=netns)
    try:
        time.sleep(1)
        start = time.monotonic()
        clone_id, = cloud.clone(source_id, count=1, placement='spread')
        try:
            cloud.wait_status([clone_id])
            active_s = round(time.monotonic() - start, 2)
            time.sleep(1)
        finally:
            pinger.stop()
        paused_at, resumed_at = helpers.pause_window(cloud.server(clone_id))
        times = sorted(t for t, _ in pinger.replies)
        last = max((t for t in times if t <= paused_at), default=None)
        first = min((t for t in times if t >= resumed_at), default=None)
        return {'active_s': active_s,
                'qemu_pause_ms': round((resumed_at - paused_at) * 1000, 2),
                'guest_pause_ms': probe.ms(pinger.gap_across(paused_at, resumed_at)),
                'longest_silence_ms': probe.ms(pinger.longest_gap()),
                # where the silence beyond the pause lies: before the STOP, after the RESUME
                'silent_before_ms': probe.ms(paused_at - last) if last else None,
                'first_reply_after_ms': probe.ms(first - resumed_at) if first else None,
                'clone_host': cloud.server(clone_id, admin=True)['OS-EXT-SRV-ATTR:host']}
    finally:
        cloud.compute.delete('/servers/%s' % clone_id)
        cloud.wait_gone(clone_id)


def summary(runs):
    out = {}
    for key, _ in KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[key] = {'median': round(statistics.median(values), 2), 'max': max(values)}
    return out


def plot(runs, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(1, len(runs) + 1)
    for key, label in KEYS[1:]:
        ax.plot(xs, [r[key] for r in runs], marker='o', label=label)
    ax.axhline(50, color='grey', linestyle='--', label='target: 50 ms')
    ax.set_xlabel('clone')
    ax.set_ylabel('ms')
    ax.set_title('Source pause in the test cloud (cross-host clone through Nova)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--json', help='write the figures to this file')
    parser.add_argument('--plot', help='draw the figures into this PNG file')
    args = parser.parse_args(argv)
    cloud = helpers.Cloud()
    network = helpers.TenantNetwork(cloud)
    group = network.security_group('pwn-bench-' + uuid.uuid4().hex[:8])
    made = []
    try:
        network.allow(group, 'icmp')
        source = cloud.boot('pwn-bench-src', made, network=True, security_group=group)
        ip = network.port(source['id'])['fixed_ips'][0]['ip_address']
        network.wait_ping(ip, timeout=120)
        print('source %s at %s on %s' % (source['id'], ip, cloud.host_of(source['id'])))
        runs = []
        for i in range(args.runs):
            runs.append(clone_once(cloud, source['id'], ip, network.netns))
            print('clone %d: %s' % (i + 1, json.dumps(runs[-1])), flush=True)
        report = {'runs': runs, 'summary': summary(runs)}
        for key, label in KEYS:
            if key in report['summary']:
                print('%-28s median %8.2f  max %8.2f' % (
                    label, report['summary'][key]['median'], report['summary'][key]['max']))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(report, f, indent=1)
        if args.plot:
            plot(runs, args.plot)
        return 0
    finally:
        for server_id in made:
            cloud.compute.delete('/servers/%s' % server_id)
        for server_id in made:
            cloud.wait_gone(server_id)
        network.delete_security_group(group)


if __name__ == '__main__':
    raise SystemExit(main())
