"""What the NIC hot-swap costs: the extra time it adds to a clone and the
time until the guest has network (a DHCP lease) on its new NIC.

    python -m nova_pwnetizer.bench.nic_bench --models virtio e1000 rtl8139

Writes JSON under --out.
"""

import argparse
import json
import os
import statistics
import time

from nova_pwnetizer.testguest import domain
from nova_pwnetizer.testguest import image as image_mod
from nova_pwnetizer.virt import engine


def measure(host, source, model):
    t0 = time.monotonic()
    result = engine.clone(source.guest, options=engine.CloneOptions(nic_models=[model]))
    clone = domain.TestGuest.attach(host.lookup(result.name))
    clone.console.wait_for(lambda c: c.lines('PWN DHCP'), 60, 'a lease')
    t_lease = time.monotonic()
    domain.remove(host, result.name)
    return {'model': model, 'nic_swap_s': result.nic_swap_s,
            'swap_share_of_clone': round(result.nic_swap_s / result.time_to_ready, 3),
            'network_after_running_s': round(t_lease - t0 - result.time_to_running, 3),
            'time_to_ready_s': result.time_to_ready}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=['virtio', 'e1000', 'e1000e',
                                                        'rtl8139', 'pcnet', 'vmxnet3'])
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--out', default='artifacts')
    args = parser.parse_args(argv)
    host = engine.Host('qemu:///system')
    image = image_mod.ensure_image(log=print)
    domain.remove(host, 'bench-nic')
    source = domain.boot(host, domain.GuestSpec(name='bench-nic', tick_ms=1000), image)
    rows = []
    try:
        for model in args.models:
            runs = [measure(host, source, model) for _ in range(args.runs)]
            row = {'model': model, 'runs': runs}
            for key in ('nic_swap_s', 'network_after_running_s'):
                row[key] = statistics.median(r[key] for r in runs)
            rows.append(row)
            print('%-8s NIC swap %.2f s   network on the new NIC %.2f s after the clone '
                  'runs' % (model, row['nic_swap_s'], row['network_after_running_s']),
                  flush=True)
    finally:
        domain.remove(host, 'bench-nic')
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'nic-bench.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
