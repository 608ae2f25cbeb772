"""``pwnetizer``: clone running libvirt domains live, without Nova.

    pwnetizer clone SOURCE [--name NAME] [--connect URI] [--target-connect URI]
                           [--count N] [--json] ...
    pwnetizer family SOURCE              (the clone family and its device models)
    pwnetizer supports SOURCE [--nic ...] (what the guest supports, for randomization)
    pwnetizer demo         (boot the test guest, clone it, print the figures)
    pwnetizer cleanup      (remove what a killed clone left behind)
"""

import argparse
import signal
import sys

from oslo_config import cfg

from nova_pwnetizer.cmd import output
from nova_pwnetizer.conf import engine as engine_conf
from nova_pwnetizer.conf import randomize as randomize_conf
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import fanout
from nova_pwnetizer.virt.engine import options as engine_options
from nova_pwnetizer.virt.engine import recovery
from nova_pwnetizer.virt.randomize import family as family_mod
from nova_pwnetizer.virt.randomize import planner
from nova_pwnetizer.virt.randomize import support

# CLI option -> device class of the randomizer plugins.
DEVICE_OPTIONS = (('--nic-models', 'nic'), ('--disk-buses', 'disk_bus'),
                  ('--video-models', 'video'), ('--input-devices', 'input'),
                  ('--usb-models', 'usb'), ('--sound-models', 'sound'))


class Terminated(BaseException):
    """SIGTERM: roll back like Ctrl-C."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _port_range(text):
    try:
        low, high = (int(p) for p in text.split('-', 1))
    except ValueError:
        raise argparse.ArgumentTypeError('expected LOW-HIGH, e.g. 49152-49215')
    return low, high


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog='pwnetizer', description='Clone running libvirt/QEMU domains live.')
    parser.add_argument('--config-file', action='append', default=[],
                        help='oslo.config file with a [pwnetizer] section (defaults '
                             'for the options below)')
    parser.add_argument('--debug', action='store_true', help='log what the engine does')
    sub = parser.add_subparsers(dest='command', required=True)

    clone = sub.add_parser('clone', help='clone a running domain live',
                           description='Clone a running domain live: the clone '
                           'continues from its memory, CPU and disk state while the '
                           'source keeps running.')
    clone.add_argument('source', help='name or UUID of the running source domain')
    clone.add_argument('--name', help='name of the clone (with --count: a prefix)')
    clone.add_argument('-c', '--connect', metavar='URI', help='libvirt URI of the source')
    clone.add_argument('--target-connect', metavar='URI',
                       help='libvirt URI of the host the clone runs on (default: the '
                            "source's)")
    clone.add_argument('--count', type=_positive, default=1,
                       help='number of clones, made as a doubling tree: the source is '
                            'paused once, finished clones clone themselves')
    clone.add_argument('--sequential', action='store_true',
                       help='with --count: clone the source N times instead')
    clone.add_argument('--json', action='store_true',
                       help='print one JSON object per clone instead of text')
    clone.add_argument('--migration-address', help='target address for the streams')
    clone.add_argument('--port-range', type=_port_range, help='LOW-HIGH listening ports')
    clone.add_argument('--downtime-limit', type=int, metavar='MS',
                       help='planned final pause of the source in ms')
    clone.add_argument('--bandwidth', type=int, metavar='MIB_S',
                       help='cap of the memory copy in MiB/s (0: none)')
    clone.add_argument('--disk-bandwidth', type=int, metavar='MIB_S',
                       help='cap of the disk copy in MiB/s per disk (0: none)')
    clone.add_argument('--no-auto-converge', action='store_true',
                       help='do not throttle a busy source')
    clone.add_argument('--disk-dir', help='directory for the clone disks on the target')
    clone.add_argument('--paused', action='store_true',
                       help='leave the clone paused with its NICs isolated')
    clone.add_argument('--transient', action='store_true',
                       help='do not define the clone persistently')
    clone.add_argument('--timeout', type=int, metavar='S', help='limit of any one wait')
    clone.add_argument('--guest-step', choices=('auto', 'off'),
                       help="make the clone itself through its guest agent (default "
                            "from [pwnetizer] guest_step: auto)")
    clone.add_argument('--hostname', help="the clone's host name, set by the guest step "
                                          "(with --count: a prefix)")
    clone.add_argument('--ssh-host-keys', action='store_true', default=None,
                       help='new SSH host keys in the guest step')
    clone.add_argument('--cloud-init', choices=('keep', 'new'),
                       help="what the guest step tells cloud-init (default keep: the "
                            "clone's next boot does not run user data again)")
    rand = clone.add_mutually_exclusive_group()
    rand.add_argument('--randomize', dest='randomize', action='store_true', default=None,
                      help='give the clone other device models than its family '
                           '(default: [randomize] enabled)')
    rand.add_argument('--no-randomize', dest='randomize', action='store_false',
                      help='keep the source\'s device models')
    for flag, device_class in DEVICE_OPTIONS:
        clone.add_argument(flag, type=support.parse_list, metavar='LIST',
                           help='%s models this clone may get (comma list)' % device_class)
    clone.add_argument('--seed', type=int, help='make the random choices repeatable')

    family = sub.add_parser('family', help='list a clone family with its device models')
    family.add_argument('source', help='any member of the family')
    family.add_argument('-c', '--connect', metavar='URI')
    family.add_argument('--json', action='store_true')

    supports = sub.add_parser('supports', help='show or declare the device models the '
                              'guest OS supports (used by --randomize)')
    supports.add_argument('source')
    supports.add_argument('-c', '--connect', metavar='URI')
    for flag, device_class in DEVICE_OPTIONS:
        supports.add_argument(flag, type=support.parse_list, metavar='LIST',
                              help='%s models the guest has drivers for' % device_class)
    supports.add_argument('--clear', action='store_true', help='remove the declaration')

    demo = sub.add_parser('demo', help='boot the test guest, clone it, print figures')
    demo.add_argument('-c', '--connect', metavar='URI', default='qemu:///system')
    demo.add_argument('--memory', type=_positive, default=256, metavar='MIB')
    demo.add_argument('--keep', action='store_true', help='keep the guests afterwards')
    demo.add_argument('--json', action='store_true')

    cleanup = sub.add_parser('cleanup', help='remove what a killed clone left behind')
    cleanup.add_argument('-c', '--connect', metavar='URI')
    cleanup.add_argument('--dry-run', action='store_true', help='only list it')
    return parser


def _load_conf(args):
    conf = cfg.ConfigOpts()
    engine_conf.register_opts(conf)
    randomize_conf.register_opts(conf)
    conf([], project='nova-pwnetizer', default_config_files=args.config_file)
    return conf


def _clone_options(args, conf, index):
    name, hostname = args.name, args.hostname
    if args.count > 1:
        name = name and '%s-%d' % (name, index + 1)
        hostname = hostname and '%s-%d' % (hostname, index + 1)
    return engine_options.CloneOptions.from_conf(
        conf.pwnetizer, name=name, migration_address=args.migration_address,
        port_range=args.port_range, downtime_limit_ms=args.downtime_limit,
        bandwidth_mib=args.bandwidth, disk_bandwidth_mib=args.disk_bandwidth,
        auto_converge=False if args.no_auto_converge else None,
        disk_dir=args.disk_dir, start=False if args.paused else None,
        persistent=False if args.transient else None,
        timeout_s=float(args.timeout) if args.timeout else None,
        guest_step=args.guest_step, hostname=hostname, ssh_host_keys=args.ssh_host_keys,
        cloud_init=args.cloud_init)


class _Randomizer:
    """Plans each clone's device models; clones planned but not yet made
    count as family members, so one round of a fan-out spreads too."""

    def __init__(self, args, conf, source_host, target_host):
        self.requested = {cls: getattr(args, flag[2:].replace('-', '_'))
                          for flag, cls in DEVICE_OPTIONS}
        self.randomize = (conf.randomize.enabled if args.randomize is None
                          else args.randomize)
        if not self.randomize and any(self.requested.values()):
            raise engine.InvalidOptions('device model lists need --randomize')
        self.args, self.conf = args, conf
        self.hosts = (source_host, target_host)
        self.pending = []

    def apply(self, options, index, parent):
        if not self.randomize:
            return options
        seed = None if self.args.seed is None else self.args.seed + index
        randomizers = planner.load_randomizers()
        tree = parent.tree()
        members = family_mod.members(list(self.hosts), family_mod.family_id(tree),
                                     randomizers) + self.pending
        plan = planner.plan(parent, self.hosts[1],
                            planner.policy_from_conf(self.conf, self.requested, seed),
                            family_members=members, randomizers=randomizers,
                            same_host=self.hosts[1].same_as(self.hosts[0]))
        self.pending.append(family_mod.Member('(planned)', '', '', 0, 'planned',
                                              dict(plan.models)))
        options.nic_models = plan.nic_models(len(tree.findall('devices/interface')))
        options.device_models = plan.models
        options.persistent_rewrite = plan.rewrite
        return options


def _print_result(result, as_json):
    print(output.as_json(result) if as_json else output.figures(result))
    sys.stdout.flush()
    if as_json:   # stdout stays one JSON object per clone (it has the warnings)
        sys.stderr.write(output.warnings(result))


def cmd_clone(args, conf):
    source_host = engine.Host(args.connect)
    target_host = engine.Host(args.target_connect) if args.target_connect else source_host
    source = source_host.lookup(args.source)
    randomizer = _Randomizer(args, conf, source_host, target_host)
    if args.count == 1 or args.sequential:
        progress = output.Progress(quiet=args.json)
        for i in range(args.count):
            options = randomizer.apply(_clone_options(args, conf, i), i, source)
            _print_result(engine.clone(source, target_host, options, progress), args.json)
        return 0
    progress = output.Progress(quiet=args.json, parallel=True)
    done = fanout.fanout(
        source, target_host, args.count,
        lambda i, parent: randomizer.apply(_clone_options(args, conf, i), i, parent),
        progress_for=progress.for_clone)
    for result in done.results:
        _print_result(result, args.json)
    if not args.json:
        print('%d clones in %.2f s over %d rounds (%s); the source was paused %d time%s'
              % (len(done.results), done.total_s, len(done.rounds),
                 ' + '.join(str(len(r)) for r in done.rounds), done.source_pauses,
                 '' if done.source_pauses == 1 else 's'))
    return 0


def cmd_family(args, conf):
    host = engine.Host(args.connect)
    tree = host.lookup(args.source).tree()
    members = family_mod.members([host], family_mod.family_id(tree),
                                 planner.load_randomizers())
    if args.json:
        import dataclasses
        import json
        print(json.dumps([dataclasses.asdict(m) for m in members], indent=1))
        return 0
    classes = sorted({c for m in members for c in m.devices})
    rows = [['NAME', 'GEN', 'STATE'] + [c.upper() for c in classes]]
    rows += [[m.name, str(m.generation), m.state] + [m.devices.get(c, '-') for c in classes]
             for m in members]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_supports(args, conf):
    host = engine.Host(args.connect)
    guest = host.lookup(args.source)
    current = support.declared(guest.tree())
    given = {cls: getattr(args, flag[2:].replace('-', '_')) for flag, cls in DEVICE_OPTIONS}
    known = {r.device_class: r for r in planner.load_randomizers()}
    for cls, models in given.items():
        if models:
            unknown = sorted(set(models) - set(known[cls].known_models))
            if unknown:
                raise engine.InvalidOptions('unknown %s model %s; known: %s' % (
                    cls, ', '.join(unknown), ', '.join(known[cls].known_models)))
            current[cls] = models
    if args.clear:
        current = {}
    if args.clear or any(given.values()):
        support.declare(guest, current)
    for cls in sorted(current):
        print('%s: %s' % (cls, ','.join(current[cls])))
    if not current:
        print('no declaration: randomization keeps the models %s runs now' % guest.name)
    return 0


def cmd_cleanup(args, conf):
    host = engine.Host(args.connect)
    if args.dry_run:
        found = recovery.find(host)
        for name, what in found:
            print('%s: %s' % (name, what))
        if not found:
            print('nothing left behind')
        return 0
    done = recovery.clean(host)
    print('\n'.join(done) if done else 'nothing left behind')
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.debug:
        import logging
        logging.basicConfig(level=logging.DEBUG)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        conf = _load_conf(args)
        if args.command == 'clone':
            return cmd_clone(args, conf)
        if args.command == 'demo':
            from nova_pwnetizer.cmd import demo
            return demo.run(args, conf)
        return {'family': cmd_family, 'supports': cmd_supports,
                'cleanup': cmd_cleanup}[args.command](args, conf)
    except engine.PwnetizerError as e:
        sys.stderr.write('\npwnetizer: error: %s\n' % e.message)
        return e.exit_code
    except (KeyboardInterrupt, Terminated):
        sys.stderr.write('\npwnetizer: interrupted\n')
        return 130
    except cfg.Error as e:
        sys.stderr.write('pwnetizer: configuration error: %s\n' % e)
        return 2


if __name__ == '__main__':
    sys.exit(main())
