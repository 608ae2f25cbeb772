"""Options of one clone job, validated before anything is touched."""

import dataclasses
import os
import re
import uuid as uuidlib

from nova_pwnetizer.virt.engine import clone_identity_script
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import host_specific

_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.+:-]{0,62}$')
_MAC = re.compile(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$')


@dataclasses.dataclass
class CloneOptions:
    """How to clone.  The defaults suit a clone on the same host."""

    name: str = None                 # default: <source>-clone-<n>
    uuid: str = None                 # default: a new random UUID
    # The clone's VM generation ID (<genid>), given to a source that has
    # one; default: a new random UUID.
    genid: str = None
    migration_address: str = None    # target address the source connects to
    port_range: tuple = (49152, 49215)
    downtime_limit_ms: int = 50
    bandwidth_mib: int = 0           # MiB/s of the memory copy, 0: unlimited
    disk_bandwidth_mib: int = 0      # MiB/s of the disk copy, 0: unlimited
    # 'write-blocking': every guest write reaches both sides before it
    # completes (converges under any write load); 'background': guest
    # writes never wait for the network.  None: write-blocking on the same
    # host, background across hosts (a dead link must not stall the source).
    disk_copy_mode: str = None
    auto_converge: bool = True
    xbzrle: bool = False
    disk_dir: str = None             # default: next to each source disk
    # Files that the caller has put on the target for the clone in place of
    # the source's: source path -> clone path.  <os> kernel, initrd and dtb
    # (e.g. Nova's kernel and ramdisk, kept in each instance's own
    # directory) and file-backed <disk>s that are then not copied:
    # removable media (cdrom, floppy) or a disk of the clone's own (e.g.
    # Nova's config drive, a cdrom or a vfat disk, built for the clone).
    # Others: boot files and removable media are used at the source's path
    # (a shared image cache, as the test guest's; on another host they must
    # exist there), disks are copied.
    own_files: dict = None
    timeout_s: float = 600.0
    switchover_timeout_s: float = 10.0  # waits while the source is paused
    start: bool = True               # False: leave the clone paused, NICs isolated
    persistent: bool = True          # define the clone (survives libvirtd restart)
    macs: list = None                # the clone's MACs, one per NIC; default random
    nic_models: list = None          # new model per NIC (randomization); default same
    # The clone's own NICs as libvirt <interface> XML, one per source NIC in
    # order (e.g. Nova's VIF config of the clone's ports); default: the
    # source's backend with the new MAC and model.
    interfaces: list = None
    device_models: dict = None       # device class -> model, recorded in metadata
    persistent_rewrite: object = None  # callable(tree): next-boot device changes
    switchover_hook: object = None   # callable(source, clone) while both are paused
    unplug_timeout_s: float = 20.0
    # The guest step (guest_step.py): 'auto' runs it when the clone's guest
    # agent answers (its NICs stay link-down until it ran), 'off' never.
    guest_step: str = 'auto'
    guest_step_timeout_s: float = 60.0
    hostname: str = None             # the clone's host name; default: the source's
    ssh_host_keys: bool = False      # new SSH host keys in the guest step
    # What cloud-init is told: 'keep' (the clone's instance id counts as
    # initialised: its next boot does not run the source's user data
    # again) or 'new' (its next boot is a first boot).
    cloud_init: str = 'keep'
    guardian: bool = True            # undo the clone if this process is killed
    # What the target host gives the clone (a host_specific.TargetPlacement):
    # its <vcpu cpuset> and listen addresses are rewritten for it, and a
    # source pinned to its host (CPUs, NUMA nodes, TCP consoles) is refused.
    # None: the XML's host-specific parts are kept, as before: right on the
    # same host (the standalone CLI gives none).
    target_placement: object = None

    @classmethod
    def from_conf(cls, group, **overrides) -> 'CloneOptions':
        """Options from the engine's config group (oslo.config's
        ``[pwnetizer]``, see nova_pwnetizer.conf.engine), with per-call
        ``overrides`` (those that are None are left out)."""
        values = dict(
            migration_address=group.migration_address,
            port_range=(group.port_min, group.port_max),
            downtime_limit_ms=group.downtime_limit_ms,
            bandwidth_mib=group.bandwidth_mib,
            disk_bandwidth_mib=group.disk_bandwidth_mib,
            auto_converge=group.auto_converge,
            xbzrle=group.xbzrle,
            disk_dir=group.disk_dir,
            timeout_s=float(group.clone_timeout),
            switchover_timeout_s=float(group.switchover_timeout),
            unplug_timeout_s=float(group.unplug_timeout),
            guest_step=group.guest_step,
            guest_step_timeout_s=float(group.guest_step_timeout),
            ssh_host_keys=group.guest_ssh_host_keys,
            cloud_init=group.guest_cloud_init,
            persistent=group.persistent)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def validate(self):
        """Raise :class:`InvalidOptions` for the first bad option."""
        if self.name is not None and not _NAME.match(self.name):
            raise exception.InvalidOptions(
                'invalid clone name %r: use 1-63 letters, digits, and _.+:- '
                '(starting with a letter or digit)' % self.name)
        if self.uuid is not None:
            try:
                uuidlib.UUID(self.uuid)
            except (TypeError, ValueError, AttributeError):
                raise exception.InvalidOptions('invalid clone UUID %r' % (self.uuid,))
        if self.genid is not None:
            try:
                uuidlib.UUID(self.genid)
            except (TypeError, ValueError, AttributeError):
                raise exception.InvalidOptions(
                    'invalid VM generation ID %r: it must be a UUID' % (self.genid,))
        if self.own_files is not None and not isinstance(self.own_files, dict):
            raise exception.InvalidOptions('own_files must be a dict (source path -> '
                                           'clone path), not %r' % (self.own_files,))
        for source_path, clone_path in (self.own_files or {}).items():
            if not all(isinstance(p, str) and os.path.isabs(p)
                       for p in (source_path, clone_path)):
                raise exception.InvalidOptions(
                    'own_files must map absolute source paths to absolute clone '
                    'paths, not %r to %r' % (source_path, clone_path))
        for xml in self.interfaces or ():
            if '<interface' not in str(xml) or '<mac ' not in str(xml):
                raise exception.InvalidOptions(
                    'each of interfaces must be an <interface> XML with a <mac>')
        low, high = self.port_range
        if not (1024 <= low <= high <= 65535):
            raise exception.InvalidOptions(
                'invalid port range %s-%s: need 1024 <= low <= high <= 65535' % (low, high))
        if not (1 <= self.downtime_limit_ms <= 60000):
            raise exception.InvalidOptions(
                'downtime limit %s ms out of range 1-60000' % self.downtime_limit_ms)
        if self.bandwidth_mib < 0 or self.disk_bandwidth_mib < 0:
            raise exception.InvalidOptions('bandwidth cannot be negative')
        if self.disk_copy_mode not in (None, 'write-blocking', 'background'):
            raise exception.InvalidOptions(
                'disk copy mode must be write-blocking or background, not %r'
                % self.disk_copy_mode)
        if self.guest_step not in ('auto', 'off'):
            raise exception.InvalidOptions('guest step must be auto or off, not %r'
                                           % (self.guest_step,))
        if self.cloud_init not in ('keep', 'new'):
            raise exception.InvalidOptions('cloud-init must be told keep or new, not %r'
                                           % (self.cloud_init,))
        if self.hostname is not None and not clone_identity_script.valid_hostname(
                self.hostname):
            raise exception.InvalidOptions(
                'invalid host name %r: use letters, digits and hyphens, dot-separated '
                'labels of at most 63, 253 in all' % (self.hostname,))
        if self.timeout_s <= 0 or self.switchover_timeout_s <= 0 \
                or self.guest_step_timeout_s <= 0:
            raise exception.InvalidOptions('timeout must be positive')
        for mac in self.macs or ():
            if not _MAC.match(mac.lower()):
                raise exception.InvalidOptions('invalid MAC address %r' % mac)
            if int(mac.split(':')[0], 16) & 1:
                raise exception.InvalidOptions('MAC %s is a multicast address' % mac)
        if self.target_placement is not None and not isinstance(
                self.target_placement, host_specific.TargetPlacement):
            raise exception.InvalidOptions('target_placement must be a TargetPlacement, '
                                           'not %r' % (self.target_placement,))
        for hook in ('switchover_hook', 'persistent_rewrite'):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise exception.InvalidOptions('%s must be callable' % hook)
        return self
