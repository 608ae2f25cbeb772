"""The ways to get a copy of a running guest that the suite compares.

Each method takes the running source (a TestGuest) and returns a dict of
figures: ``guest_pause_ms`` (the silence under a 2 ms ping that spans the
source's pause, where the method knows when it paused the source; else the
longest silence), ``guest_max_silence_ms`` (the longest silence of the whole
run, the pause or not), the time until the copy serves (DHCP lease on its
own NIC and HTTP answering), ``data_mib`` moved and ``cpu_s`` spent; it
removes what it made.
"""

import os
import subprocess
import time
import uuid as uuidlib

import libvirt

from nova_pwnetizer.bench import measure
from nova_pwnetizer.bench import probe as probe_mod
from nova_pwnetizer.testguest import domain
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import events as events_mod
from nova_pwnetizer.virt.engine import nics
from nova_pwnetizer.virt.engine import storage

WORKDIR = '/var/lib/pwnetizer/bench'


def _qemu_pid(name):
    with open('/run/libvirt/qemu/%s.pid' % name) as f:
        return int(f.read())


class Run:
    """Probe and CPU meter around one method run."""

    def __init__(self, source, ip):
        self.source = source
        self.cpu = measure.CpuMeter(_qemu_pid(source.guest.name))
        self.probe = probe_mod.PingProbe(ip)
        time.sleep(0.5)
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    def finish(self, figures, paused=None, resumed=None):
        """``paused``/``resumed``: when the method paused and resumed the
        source (epoch seconds), where it knows."""
        figures['cpu_s'] = self.cpu.stop()
        time.sleep(0.5)
        self.probe.stop()
        # From before the start: a method may pause the source at once.
        longest = self.probe.longest_gap(self.wall0 - 0.4, time.time())
        pause = longest
        if paused is not None and resumed is not None:
            pause = self.probe.gap_across(paused, resumed)
        figures['guest_pause_ms'] = probe_mod.ms(pause)
        figures['guest_max_silence_ms'] = probe_mod.ms(longest)
        return figures


def live_clone(ctx, source, ip):
    run = Run(source, ip)
    result = engine.clone(source.guest, options=engine.CloneOptions())
    clone = domain.TestGuest.attach(ctx.host.lookup(result.name))
    serve_s, _ = measure.wait_serving(clone.console, run.t0)
    figures = run.finish({
        'serve_s': serve_s, 'engine_pause_ms': result.source_paused_ms,
        'qemu_downtime_ms': result.downtime_ms,
        'data_mib': round((result.memory_bytes + result.disk_bytes) / 1048576, 1)},
        paused=result.source_stopped_at, resumed=result.source_resumed_at)
    domain.remove(ctx.host, result.name)
    return figures


def stop_and_copy(ctx, source, ip):
    """Pause, save the memory to a file, copy the disk, resume; start the
    copy from the saved state (with its own identity, as the live clone)."""
    os.makedirs(WORKDIR, exist_ok=True)
    state = os.path.join(WORKDIR, 'state-%s.bin' % uuidlib.uuid4().hex[:8])
    guest = source.guest
    tree = guest.tree(migratable=True)
    live = guest.tree()
    ident = domainxml.Identity(name=guest.name + '-sac', uuid=str(uuidlib.uuid4()),
                               genid=str(uuidlib.uuid4()))
    for el, attr in domainxml.chardev_paths(tree):
        ident.paths[el.get(attr)] = domainxml.clone_path(el.get(attr), guest.name,
                                                         guest.uuid, ident)
    plans = storage.plan(guest, live, ctx.host, ident, True)
    run = Run(source, ip)
    paused = time.time()
    guest.suspend()
    try:
        guest.qmp('migrate', uri='file:' + state)
        while guest.migration_status().get('status') not in ('completed', 'failed'):
            time.sleep(0.005)
        for plan in plans:  # the source is inactive and paused: a consistent copy
            subprocess.run(['cp', '--sparse=always', plan.source_path, plan.clone_path],
                           check=True)
    finally:
        guest.resume()
        resumed = time.time()
    pause_s = time.monotonic() - run.t0
    incoming = domainxml.build_incoming(tree, ident, {p.dev: p.clone_path for p in plans},
                                        'file:' + state)
    hub = events_mod.EventHub()
    copy = ctx.host.create_guest(domainxml.tostring(incoming), paused=True)
    try:
        hub.watch('clone', copy)
        while copy.qmp('query-migrate').get('status') not in ('completed', 'failed'):
            time.sleep(0.005)
        copy.resume()
        finals = [domainxml.final_interface(i, domainxml.random_mac())
                  for i in domainxml.interfaces(tree)]
        nics.swap(copy, hub, finals, 20)
        serve_s, _ = measure.wait_serving(domain.TestGuest.attach(copy).console, run.t0)
        data = (os.path.getsize(state) + sum(os.path.getsize(p.clone_path) for p in plans))
        return run.finish({'serve_s': serve_s, 'pause_s': round(pause_s, 3),
                           'data_mib': round(data / 1048576, 1)},
                          paused=paused, resumed=resumed)
    finally:
        hub.close()
        copy.destroy()
        for path in [state] + [p.clone_path for p in plans] + list(ident.paths.values()):
            if os.path.exists(path):
                os.unlink(path)


def snapshot_and_boot(ctx, source, ip):
    """Today's OpenStack way: live snapshot of the disk (a shallow block
    copy, as Nova's libvirt driver does), converted to an image, and a new
    VM booted from it.  The memory state is lost."""
    os.makedirs(WORKDIR, exist_ok=True)
    tag = uuidlib.uuid4().hex[:8]
    delta = os.path.join(WORKDIR, 'snap-%s.delta' % tag)
    image = os.path.join(WORKDIR, 'snap-%s.qcow2' % tag)
    guest = source.guest
    disk = guest.tree().find("devices/disk[@device='disk']")
    dev = disk.find('target').get('dev')
    backing = disk.find('backingStore/source').get('file')
    run = Run(source, ip)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'qcow2',
                    delta], check=True)
    guest.dom.blockCopy(dev, "<disk type='file'><driver type='qcow2'/><source file='%s'/>"
                        "</disk>" % delta, None,
                        libvirt.VIR_DOMAIN_BLOCK_COPY_SHALLOW
                        | libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
                        | libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB)
    while True:
        info = guest.dom.blockJobInfo(dev, 0)
        if info and info['end'] and info['cur'] == info['end']:
            break
        time.sleep(0.01)
    guest.dom.blockJobAbort(dev, 0)  # keep the source; the delta is the snapshot
    subprocess.run(['qemu-img', 'convert', '-O', 'qcow2', delta, image], check=True)
    name = guest.name + '-snap'
    spec = domain.GuestSpec(name=name, memory_mib=ctx.memory_mib, tick_ms=1000)
    booted = domain.boot(ctx.host, spec, _ImageWithBase(ctx.image, image), wait=False)
    try:
        serve_s, _ = measure.wait_serving(booted.console, run.t0, deadline_s=180)
        data = os.path.getsize(delta) + os.path.getsize(image)
        return run.finish({'serve_s': serve_s, 'data_mib': round(data / 1048576, 1),
                           'memory_state': 'lost'})
    finally:
        domain.remove(ctx.host, name)
        for path in (delta, image):
            if os.path.exists(path):
                os.unlink(path)


class _ImageWithBase:
    """The test guest's kernel and initrd over another base disk."""

    def __init__(self, image, base_disk):
        self.kernel, self.initrd, self.base_disk = image.kernel, image.initrd, base_disk


def libvirt_migration(ctx, source, ip):
    """Plain libvirt live migration to the second host and back (the
    reference for the pause; the disk is on storage both hosts see)."""
    guest = source.guest
    run = Run(source, ip)
    # libvirt's defaults (QEMU's 300 ms downtime limit) plus auto-converge,
    # without which a busy guest may never finish.
    flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_UNSAFE
             | libvirt.VIR_MIGRATE_AUTO_CONVERGE)
    there = guest.dom.migrate3(ctx.host2.conn, {
        libvirt.VIR_MIGRATE_PARAM_URI: 'tcp://%s' % ctx.host2_address,
        libvirt.VIR_MIGRATE_PARAM_DEST_XML: _moved_files(guest.xml(migratable=True), 'b')},
        flags)
    total_s = time.monotonic() - run.t0
    stats = there.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    figures = run.finish({'serve_s': round(total_s, 3),
                          'qemu_downtime_ms': stats.get('downtime'),
                          'data_mib': round(stats.get('memory_processed', 0) / 1048576, 1)})
    back = there.migrate3(ctx.host.conn, {
        libvirt.VIR_MIGRATE_PARAM_URI: 'tcp://%s' % ctx.host1_address,
        libvirt.VIR_MIGRATE_PARAM_DEST_XML: _moved_files(
            ctx.host2.lookup(guest.name).xml(migratable=True), 'a')}, flags)
    source.guest = ctx.host.lookup(back.name())
    return figures


def _moved_files(xml, side):
    """The same domain with its console and agent files of host ``side``."""
    tree = domainxml.parse(xml)
    for el, attr in domainxml.chardev_paths(tree):
        path = el.get(attr)
        base = path[:-2] if path.endswith(('.a', '.b')) else path
        el.set(attr, base + '.' + side if side == 'b' else base)
    return domainxml.tostring(tree)


def baseline(ctx, source, ip, window_s=4.0):
    """The control: the same probe over a few seconds in which nothing is
    done to the guest.  Its longest silence is the guest's own latency
    (a busy TCG guest answers pings late); no method can be seen to pause
    the guest for less."""
    run = Run(source, ip)
    time.sleep(window_s)
    return run.finish({'data_mib': 0.0})


METHODS = {
    'baseline': baseline,
    'live_clone': live_clone,
    'stop_and_copy': stop_and_copy,
    'snapshot_boot': snapshot_and_boot,
    'libvirt_migration': libvirt_migration,
}
