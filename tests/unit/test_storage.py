"""Which disks a clone copies, and which files it needs on the target."""

from unittest import mock

import pytest

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import events as events_mod
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import job as job_mod
from nova_pwnetizer.virt.engine import options as options_mod
from nova_pwnetizer.virt.engine import recovery
from nova_pwnetizer.virt.engine import storage
from tests.unit import test_host_specific as harness   # its fake hosts

SRC = '11111111-2222-3333-4444-555555555555'
CLONE = '99999999-0000-0000-0000-000000000009'
ROOT = '/var/lib/nova/instances/%s/disk' % SRC
DRIVE = '/var/lib/nova/instances/%s/disk.config' % SRC
OWN_DRIVE = '/var/lib/nova/instances/%s/disk.config' % CLONE
TOOLS = '/iso/tools.iso'


def _tree(drive_device='cdrom'):
    """A running source as Nova makes it: a root disk, a config drive, an ISO."""
    return domainxml.parse(f"""<domain><name>instance-1</name><uuid>{SRC}</uuid><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
        <source file='{ROOT}'/><target dev='vda'/><alias name='virtio-disk0'/></disk>
      <disk type='file' device='{drive_device}'><driver name='qemu' type='raw'/>
        <source file='{DRIVE}'/><target dev='sda'/><readonly/><alias name='sata0-0-0'/></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>
        <source file='{TOOLS}'/><target dev='sdb'/><readonly/><alias name='sata0-0-1'/></disk>
      <disk type='file' device='cdrom'><target dev='sdc'/><readonly/></disk>
    </devices></domain>""")


class FakeHost:
    """A host's files: path -> (capacity, format)."""

    def __init__(self, *paths):
        self.files = {p: (1 << 20, 'raw') for p in paths}

    def file_info(self, path):
        return self.files.get(path)


class FakeSource:
    host = FakeHost(ROOT, DRIVE, TOOLS)

    @staticmethod
    def block_info(dev):
        return (1 << 30, 0, 0)


def _plan(tree, own_files=None):
    identity = domainxml.Identity(name='instance-2', uuid=CLONE)
    return storage.plan(FakeSource(), tree, FakeHost(), identity, same_host=False,
                        own_files=own_files)


def test_only_hard_disks_are_copied_not_read_only_media():
    (root,) = _plan(_tree())    # the config drive and the ISO are CD-ROMs
    assert (root.dev, root.source_path, root.sync) == ('vda', ROOT, 'full')
    assert root.clone_path == '/var/lib/nova/instances/%s/disk' % CLONE


def test_a_disk_of_the_clones_own_is_not_copied():
    # a vfat config drive is a hard disk: copied unless the clone has its own
    assert [d.dev for d in _plan(_tree('disk'))] == ['vda', 'sda']
    assert [d.dev for d in _plan(_tree('disk'), {DRIVE: OWN_DRIVE})] == ['vda']


def test_a_source_whose_only_disk_is_the_clones_own_has_nothing_to_copy():
    tree = _tree('disk')
    tree.find('devices').remove(tree.find('devices/disk'))
    with pytest.raises(exception.SourceNotCloneable, match='no file-backed disk'):
        _plan(tree, {DRIVE: OWN_DRIVE})


def test_a_medium_of_the_clones_own_is_not_refused_across_hosts():
    target = FakeHost(TOOLS, OWN_DRIVE)    # no source's drive there
    assert storage.check_removable_media(_tree(), target, False, {DRIVE: OWN_DRIVE}) == []


def test_a_missing_medium_not_of_the_clones_own_is_still_refused():
    target = FakeHost(OWN_DRIVE)
    assert storage.check_removable_media(_tree(), target, False, {DRIVE: OWN_DRIVE}) == [
        'cdrom image %s does not exist on the target host' % TOOLS]
    # unmapped, the config drive is refused as before
    assert storage.check_removable_media(_tree(), FakeHost(TOOLS), False) == [
        'cdrom image %s does not exist on the target host' % DRIVE]
    # on the same host the shared images are there
    assert storage.check_removable_media(_tree(), FakeHost(), True) == []


@pytest.mark.parametrize('same_host', [False, True])
def test_a_file_of_the_clones_own_must_exist_on_the_target(same_host):
    for device in ('cdrom', 'disk'):
        assert storage.check_removable_media(
            _tree(device), FakeHost(TOOLS), same_host, {DRIVE: OWN_DRIVE}) == [
            "the clone's own %s image %s (for %s) does not exist on the target host"
            % (device, OWN_DRIVE, DRIVE)]


# --- the job: a cross-host clone of a source with Nova's config drive ---------

def _job(own_files, target_files=()):
    """A CloneJob of a Nova source with a config drive to another host
    whose files are ``target_files``; the clone's drive ``own_files``."""
    drive = '/var/lib/nova/instances/%s/disk.config' % harness.SRC_UUID
    tree = harness._nova_domain(devices=harness._VNC + f"""
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>
        <source file='{drive}'/><target dev='sda' bus='sata'/><readonly/>
        <alias name='sata0-0-0'/></disk>""")

    class Target(harness.FakeHost):
        def file_info(self, path):
            return (1 << 20, 'raw') if path in target_files else None

    source = harness.FakeSource(tree)
    target = Target('qemu+ssh://target.example/system')
    options = options_mod.CloneOptions(
        guardian=False, migration_address=harness.TARGET_ADDR,
        own_files={drive: p for p in own_files})
    return job_mod.CloneJob(source, target, options), target, drive


@pytest.fixture(autouse=True)
def _no_event_loop_and_own_locks(tmp_path, monkeypatch):
    monkeypatch.setattr(recovery, 'LOCK_DIR', str(tmp_path))
    with mock.patch.object(events_mod, 'start_event_loop'):
        yield


def test_a_cross_host_clone_starts_on_its_own_config_drive():
    job, target, drive = _job(['/clone/disk.config'], ['/clone/disk.config'])
    with pytest.raises(exception.CloneFailed, match='stopped by the test'):
        job.run()
    created = domainxml.parse(target.created_xml)
    cdrom = created.find("devices/disk[@device='cdrom']")
    assert cdrom.find('source').get('file') == '/clone/disk.config'
    assert [d.dev for d in job.disks] == ['vda']    # the drive is not copied
    assert not any(drive in args or '/clone/disk.config' in args
                   for _name, args in target.done)   # nor made nor deleted


def test_a_cross_host_clone_without_the_drive_on_the_target_is_refused():
    job, target, drive = _job([])
    with pytest.raises(exception.SourceNotCloneable,
                       match='cdrom image %s does not exist on the target' % drive):
        job.run()
    job, target, drive = _job(['/clone/disk.config'])
    with pytest.raises(exception.SourceNotCloneable,
                       match="the clone's own cdrom image /clone/disk.config"):
        job.run()
    assert target.done == []
