"""``pwnetizer``: clone running libvirt domains live, without Nova.

    pwnetizer clone SOURCE [--name NAME] [--connect URI] [--target-connect URI]
                           [--count N] [--json] ...
    pwnetizer demo         (boot the test guest, clone it, print the figures)
    pwnetizer cleanup      (remove what a killed clone left behind)
"""

import argparse
import signal
import sys

from oslo_config import cfg

from nova_pwnetizer.cmd import output
from nova_pwnetizer.conf import engine as engine_conf
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import recovery


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
    clone.add_argument('--count', type=_positive, default=1, help='number of clones')
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
    conf([], project='nova-pwnetizer', default_config_files=args.config_file)
    return conf


def cmd_clone(args, conf):
    source_host = engine.Host(args.connect)
    target_host = engine.Host(args.target_connect) if args.target_connect else source_host
    source = source_host.lookup(args.source)
    progress = output.Progress(quiet=args.json)
    for i in range(args.count):
        name = args.name
        if name and args.count > 1:
            name = '%s-%d' % (name, i + 1)
        options = engine_conf.clone_options(
            conf, name=name, migration_address=args.migration_address,
            port_range=args.port_range, downtime_limit_ms=args.downtime_limit,
            bandwidth_mib=args.bandwidth, disk_bandwidth_mib=args.disk_bandwidth,
            auto_converge=False if args.no_auto_converge else None,
            disk_dir=args.disk_dir, start=False if args.paused else None,
            persistent=False if args.transient else None,
            timeout_s=float(args.timeout) if args.timeout else None)
        result = engine.clone(source, target_host, options, progress)
        print(output.as_json(result) if args.json else output.figures(result))
        sys.stdout.flush()
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
        return cmd_cleanup(args, conf)
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
