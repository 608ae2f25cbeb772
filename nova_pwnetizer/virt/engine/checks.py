"""What the engine can clone live, checked before anything is touched.

Each check returns human readable reasons; the job refuses the clone with
all of them at once (:class:`~.exception.SourceNotCloneable`).
"""

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import host_specific

# QEMU before 9.0 loses dirty pages in live migration under TCG (fixed by
# upstream commit 03bfc2188f, "physmem: Fix migration dirty bitmap
# coherency with TCG memory access"); KVM is not affected.
MIN_QEMU_FOR_TCG = (9, 0, 0)
MIN_QEMU = (6, 2, 0)           # blockdev-mirror copy-mode, export API
MIN_LIBVIRT = (8, 0, 0)        # blockdev everywhere, qemu monitor events

SUPPORTED_DISK_FORMATS = ('qcow2', 'raw')


def _fmt(version):
    return '.'.join(str(v) for v in version)


def check_hosts(source_host, target_host, domain_type):
    """Hypervisor versions and accelerator of both hosts."""
    reasons = []
    for role, host in (('source', source_host), ('target', target_host)):
        qemu = host.qemu_version
        if qemu < MIN_QEMU:
            reasons.append('QEMU %s on the %s host is older than %s'
                           % (_fmt(qemu), role, _fmt(MIN_QEMU)))
        if domain_type == 'qemu' and qemu < MIN_QEMU_FOR_TCG:
            reasons.append(
                'QEMU %s on the %s host loses dirty pages in live migration under '
                'TCG (domain type qemu) and would corrupt the clone (fixed in QEMU '
                '9.0, commit 03bfc2188f); upgrade QEMU to 9.0 or later (on Debian 12: '
                'qemu-system-x86 from bookworm-backports) or use KVM'
                % (_fmt(qemu), role))
        if host.libvirt_version < MIN_LIBVIRT:
            reasons.append('libvirt %s on the %s host is older than %s'
                           % (_fmt(host.libvirt_version), role, _fmt(MIN_LIBVIRT)))
    if target_host.qemu_version < source_host.qemu_version:
        reasons.append('the target host runs an older QEMU (%s) than the source (%s): '
                       'its migration stream may not be understood'
                       % (_fmt(target_host.qemu_version), _fmt(source_host.qemu_version)))
    return reasons


def check_target_machine(tree, target_host):
    os_type = tree.find('os/type')
    arch, machine = os_type.get('arch'), os_type.get('machine')
    domain_type = tree.get('type')
    machines = target_host.machine_types(arch, domain_type)
    if not machines:
        return ['the target host cannot run %s guests of type %s' % (arch, domain_type)]
    if machine not in machines:
        return ['the target host does not offer machine type %s' % machine]
    return []


def check_state(guest):
    state = guest.state
    if state == 'running':
        return []
    if state == 'paused':
        return ['it is paused: only a running domain is cloned live (resume it first)']
    return ['it is not running (state %s): start it, or copy its disks instead' % state]


def check_busy(guest):
    status = guest.migration_status().get('status')
    if status in ('setup', 'active', 'pre-switchover', 'device', 'postcopy-active',
                  'wait-unplug', 'cancelling'):
        return ['a migration is already in progress on it (%s)' % status]
    if guest.qmp('query-block-jobs'):
        return ['it has a block job running (copy, commit or mirror); wait for it']
    return []


def check_devices(tree):
    """Devices and settings the clone cannot carry."""
    reasons = []
    devices = tree.find('devices')
    for disk in devices.iterfind('disk'):
        target = disk.find('target').get('dev')
        kind, device = disk.get('type'), disk.get('device', 'disk')
        source = disk.find('source')
        if device in ('cdrom', 'floppy'):
            if source is not None and (source.get('file') or source.get('dev')) \
                    and kind != 'file':
                reasons.append('removable disk %s is not a file' % target)
            continue
        if kind != 'file':
            reasons.append('disk %s is of type %r: only file-backed disks are copied '
                           '(network, block and volume disks are not supported)'
                           % (target, kind))
            continue
        fmt = disk.find('driver').get('type') if disk.find('driver') is not None else None
        if fmt not in SUPPORTED_DISK_FORMATS:
            reasons.append('disk %s has format %r: only %s are supported'
                           % (target, fmt, ' and '.join(SUPPORTED_DISK_FORMATS)))
        if disk.find('shareable') is not None:
            reasons.append('disk %s is shareable: a clone cannot own a copy of a '
                           'disk that other domains write' % target)
        if disk.find('readonly') is not None:
            reasons.append('disk %s is a read-only hard disk, not supported' % target)
        if disk.find('mirror') is not None:
            reasons.append('disk %s has a block job running' % target)
    for tag, why in (
            ('hostdev', host_specific.HOSTDEV_REASON),
            ('tpm', 'vTPM state lives outside QEMU and cannot be cloned yet'),
            ('filesystem', 'shared filesystems (virtiofs, 9p) cannot be cloned'),
            ('shmem', 'shared memory devices cannot be cloned'),
            ('redirdev', 'USB redirection cannot be cloned'),
            ('smartcard', 'smartcards cannot be cloned'),
            ('vsock', 'vsock CIDs are unique per host and cannot be cloned yet')):
        if devices.find(tag) is not None:
            reasons.append(why)
    for mem in devices.iterfind('memory'):
        reasons.append('%s memory devices cannot be cloned' % mem.get('model', 'extra'))
    for iface in domainxml.interfaces(tree):
        if iface.get('type') in ('hostdev', 'vhostuser', 'vdpa'):
            reasons.append('NIC of type %s cannot be cloned' % iface.get('type'))
        if iface.find('teaming') is not None:
            reasons.append('NIC failover teaming cannot be cloned')
    backing = tree.find('memoryBacking')
    if backing is not None:
        source = backing.find('source')
        if source is not None and source.get('type') in ('file', 'memfd'):
            reasons.append('guest memory backed by %s cannot be cloned yet'
                           % source.get('type'))
        if backing.find('access') is not None and \
                backing.find('access').get('mode') == 'shared':
            reasons.append('shared guest memory cannot be cloned')
    loader = tree.find('os/nvram')
    if loader is not None:
        reasons.append('UEFI NVRAM (a per-domain firmware variable store) cannot be '
                       'cloned yet')
    launch = tree.find('launchSecurity')
    if launch is not None:
        reasons.append('confidential guests (%s) cannot be cloned' % launch.get('type'))
    return reasons


def check_placement(tree, placement, found=()):
    """What in ``tree`` cannot follow the clone to the host of ``placement``
    (a :class:`~.host_specific.TargetPlacement`; None: the XML is kept as
    it is, nothing to check).  Reasons already in ``found`` are left out.
    """
    if placement is None:
        return []
    return [r for r in host_specific.problems(tree) if r not in found]


def check_source(guest, tree):
    """Everything about the running source, as reasons to refuse."""
    reasons = check_state(guest)
    if reasons:
        return reasons
    reasons += check_devices(tree)
    reasons += check_busy(guest)
    return reasons
