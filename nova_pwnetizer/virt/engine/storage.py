"""Which disks a clone copies, where its copies live, how they are made.

A disk whose backing image exists on the target host (the same file on
one host, or an image of the same name and size, as Nova's ``_base``
cache keeps them) becomes a thin overlay there and only the source's top
layer is copied (``sync: top``).  Anything else is copied whole into a
standalone image of the source's format (``sync: full``).  A disk whose
file the caller has put on the target for the clone (``own_files``, e.g.
Nova's config drive) is not copied; nor is a CD-ROM or floppy, read-only.
"""

import dataclasses
import os

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import exception


@dataclasses.dataclass
class DiskPlan:
    dev: str               # target dev in the guest, e.g. vda
    alias: str             # device alias in the live XML, e.g. virtio-disk0
    source_path: str
    fmt: str               # qcow2 or raw
    capacity: int          # virtual size in bytes
    clone_path: str
    sync: str              # 'top' or 'full'
    backing: str = None
    backing_fmt: str = None

    @property
    def export(self):
        return 'pwn-' + self.dev

    @property
    def job_id(self):
        return 'pwn-mirror-' + self.dev

    @property
    def nbd_node(self):
        return 'pwn-nbd-' + self.dev

    @property
    def writer_node(self):
        """The clone's own node that the NBD export writes the copy through."""
        return 'pwn-copy-' + self.dev


def _copied_disks(live_tree):
    for disk in live_tree.iterfind('devices/disk'):
        if disk.get('device', 'disk') == 'disk' and disk.get('type') == 'file':
            yield disk


def plan(source, live_tree, target_host, identity, same_host, disk_dir=None,
         own_files: dict = None) -> list:
    """One :class:`DiskPlan` per copied disk of the running ``source``:
    each file-backed hard disk but those whose file is one of
    ``own_files`` (the clone has its own)."""
    plans = []
    source_uuid = live_tree.findtext('uuid')
    for disk in _copied_disks(live_tree):
        dev = disk.find('target').get('dev')
        path = disk.find('source').get('file')
        if path in (own_files or {}):
            continue
        fmt = disk.find('driver').get('type')
        capacity = source.block_info(dev)[0]
        backing = backing_fmt = None
        chain = disk.find('backingStore')
        if fmt == 'qcow2' and chain is not None and chain.find('source') is not None:
            backing = chain.find('source').get('file')
            fmt_el = chain.find('format')
            backing_fmt = fmt_el.get('type') if fmt_el is not None else 'raw'
            if not same_host and not _same_image_on(target_host, source.host, backing):
                backing = backing_fmt = None
        plans.append(DiskPlan(
            dev=dev, alias=disk.find('alias').get('name'), source_path=path,
            fmt=fmt, capacity=capacity,
            clone_path=domainxml.clone_path(path, live_tree.findtext('name'),
                                            source_uuid, identity, disk_dir),
            sync='top' if backing else 'full', backing=backing, backing_fmt=backing_fmt))
    if not plans:
        raise exception.SourceNotCloneable(
            live_tree.findtext('name'), ['it has no file-backed disk to copy'])
    return plans


def _same_image_on(target_host, source_host, path):
    """Whether ``path`` on the target looks like the source's backing image."""
    theirs = target_host.file_info(path)
    return theirs is not None and theirs == source_host.file_info(path)


def check_removable_media(live_tree, target_host, same_host, own_files: dict = None) -> list:
    """Reasons why the target lacks a file the clone's disks would read.

    A disk whose file is one of ``own_files`` reads the clone's own file
    there (on any host, e.g. its own config drive): that one must exist.
    Other CD-ROM/floppy images stay shared: on another host they must
    exist there.
    """
    reasons = []
    own_files = own_files or {}
    for disk in live_tree.iterfind('devices/disk'):
        source = disk.find('source')
        path = source.get('file') if source is not None else None
        device = disk.get('device', 'disk')
        if not path:
            continue
        if path in own_files:
            if target_host.file_info(own_files[path]) is None:
                reasons.append('the clone\'s own %s image %s (for %s) does not exist on '
                               'the target host' % (device, own_files[path], path))
        elif device in ('cdrom', 'floppy') and not same_host \
                and target_host.file_info(path) is None:
            reasons.append('%s image %s does not exist on the target host' % (device, path))
    return reasons


def existing_files(target_host, paths):
    """Paths among ``paths`` that already exist on the target host."""
    return [p for p in paths if target_host.file_info(p) is not None]


def create(target_host, disk_plan):
    """Make the clone's (empty) image on the target host."""
    target_host.create_image(disk_plan.clone_path, disk_plan.capacity, disk_plan.fmt,
                             disk_plan.backing, disk_plan.backing_fmt)


def directories(paths):
    return sorted({os.path.dirname(p) for p in paths})
