"""``pwnetizer demo``: the whole job on an embedded default.

Builds (once) the test guest, boots it, clones it live while its workload
runs, checks that the clone continues from the source's state with its
own MAC, and prints the figures.
"""

import json
import os
import time

from nova_pwnetizer.cmd import output
from nova_pwnetizer.testguest import domain
from nova_pwnetizer.testguest import image as image_mod
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import options as engine_options

SOURCE = 'pwnetizer-demo'


def _say(text):
    print(text, flush=True)


def _check_host(host):
    try:
        version = host.qemu_version
    except engine.PwnetizerError as e:
        raise engine.PwnetizerError('%s; run tools/setup-host.sh first' % e.message)
    if not os.path.exists('/sys/class/net') or not _bridge_exists():
        _say('note: bridge %s not visible here; the guests get no DHCP' % domain.DEFAULT_BRIDGE)
    return version


def _bridge_exists():
    # The bridge lives in libvirtd's network namespace (tools/setup-host.sh).
    return os.path.exists('/run/netns/pwnetizer') or os.path.exists(
        '/sys/class/net/%s' % domain.DEFAULT_BRIDGE)


def run(args, conf):
    host = engine.Host(args.connect)
    qemu = _check_host(host)
    _say('host: QEMU %s, libvirt %s at %s' % (
        '.'.join(map(str, qemu)), '.'.join(map(str, host.libvirt_version)), host.uri))
    image = image_mod.ensure_image(log=_say)
    _say('test guest: %s' % image.directory)
    clone_name = SOURCE + '-clone'
    for name in (clone_name, SOURCE):
        domain.remove(host, name)
    t = time.monotonic()
    source = domain.boot(host, domain.GuestSpec(name=SOURCE, memory_mib=args.memory), image)
    _say('booted %s (%d MiB) in %.1f s; workload running'
         % (SOURCE, args.memory, time.monotonic() - t))
    source.console.wait_ticks(10, timeout=60)
    progress = output.Progress(quiet=args.json)
    before = source.console.last_tick()
    options = engine_options.CloneOptions.from_conf(conf.pwnetizer, name=clone_name)
    result = engine.clone(source.guest, None, options, progress)
    clone = domain.TestGuest.attach(host.lookup(result.name))
    at_switch = source.console.last_tick()
    first = clone.console.wait_for(lambda c: c.ticks(), 30, 'the clone to tick')[0]
    new_mac = result.nics[0]['mac'] if result.nics else None
    if new_mac:
        clone.console.wait_for(
            lambda c: [line for line in c.lines('PWN NIC ') if new_mac in line],
            30, 'the guest to find its new NIC')
        dhcp = clone.console.wait_for(lambda c: c.lines('PWN DHCP'), 30,
                                      'a DHCP lease on the new NIC')[-1]
    macs = clone.agent.output('cat /sys/class/net/eth*/address', timeout=30)
    _say('')
    print(output.as_json(result) if args.json else output.figures(result))
    _say('')
    _say('clone continues the workload: its first tick is mem=%d (the source was at '
         'mem=%d when the clone started, mem=%d when it returned)'
         % (first[0], before[0], at_switch[0]))
    _say('clone MAC inside the guest: %s (source: %s)'
         % (macs, result.nics[0]['old_mac'] if result.nics else '-'))
    if new_mac:
        _say('clone network: %s' % dhcp.split(' ', 2)[-1])
    if not args.keep:
        for name in (clone_name, SOURCE):
            domain.remove(host, name)
        _say('removed the demo guests (use --keep to keep them)')
    if args.json:
        _say(json.dumps({'clone_first_tick': first[0], 'source_tick': at_switch[0]}))
    return 0
