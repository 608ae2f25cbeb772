"""Regressions found by the end-to-end test in a real cloud (tests/cloud):
a clone of a server booted with its own kernel and ramdisk, figures that
MySQL refuses, and the engine's libvirt connection on the target host."""

import json
import os
from unittest import mock

import nova.conf  # noqa: F401  (registers [libvirt])

from nova_pwnetizer.virt import clone_spawn
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt import manager

SRC = '11111111-2222-3333-4444-555555555555'
CLONE = '99999999-8888-7777-6666-555555555555'


def test_incoming_uses_the_clones_own_kernel_and_ramdisk():
    tree = domainxml.parse(
        "<domain><name>instance-1</name><uuid>%s</uuid><os><type>hvm</type>"
        "<kernel>/inst/%s/kernel</kernel><initrd>/inst/%s/ramdisk</initrd>"
        "<cmdline>console=ttyS0</cmdline></os><devices/></domain>" % (SRC, SRC, SRC))
    ident = domainxml.Identity(name='instance-2', uuid=CLONE)
    files = {'/inst/%s/kernel' % SRC: '/inst/%s/kernel' % CLONE,
             '/inst/%s/ramdisk' % SRC: '/inst/%s/ramdisk' % CLONE}
    incoming = domainxml.build_incoming(tree, ident, {}, 'tcp:10.0.0.2:49152',
                                        own_files=files)
    assert incoming.findtext('os/kernel') == '/inst/%s/kernel' % CLONE
    assert incoming.findtext('os/initrd') == '/inst/%s/ramdisk' % CLONE
    persistent = domainxml.build_persistent(incoming, [])
    assert persistent.findtext('os/kernel') == '/inst/%s/kernel' % CLONE
    # without own_files (a shared image cache) the paths stay
    plain = domainxml.build_incoming(tree, ident, {}, 'tcp:10.0.0.2:49152')
    assert plain.findtext('os/kernel') == '/inst/%s/kernel' % SRC


def test_boot_files_are_fetched_into_the_clones_directory(tmp_path):
    instance = mock.Mock(kernel_id='k-img', ramdisk_id='r-img', uuid=CLONE)
    instance.obj_attr_is_set.return_value = True
    driver = mock.Mock()
    clone_dir = tmp_path / CLONE

    def by_name(inst, name, image_type):
        def cache(**kwargs):
            clone_dir.mkdir(exist_ok=True)
            (clone_dir / name).write_text(kwargs['image_id'])
        return mock.Mock(cache=cache)
    driver.image_backend.by_name.side_effect = by_name
    spawn = clone_spawn.CloneSpawn(driver, 'ctx', instance, None, [], 'contract',
                                   source_api=mock.Mock())
    spawn.source_uuid = SRC   # the domain cloned: the source or a parent clone
    with mock.patch.object(clone_spawn.CONF, 'instances_path', str(tmp_path)):
        files = spawn._boot_files(str(clone_dir))
    assert files == {os.path.join(str(tmp_path), SRC, 'kernel'): str(clone_dir / 'kernel'),
                     os.path.join(str(tmp_path), SRC, 'ramdisk'): str(clone_dir / 'ramdisk')}
    assert (clone_dir / 'kernel').read_text() == 'k-img'


def test_no_boot_files_without_a_kernel_image():
    instance = mock.Mock(kernel_id='')
    instance.obj_attr_is_set.return_value = True
    spawn = clone_spawn.CloneSpawn(mock.Mock(), 'ctx', instance, None, [], 'contract',
                                   source_api=mock.Mock())
    assert spawn._boot_files('/nowhere') == {}


def test_stored_figures_fit_nova_system_metadata():
    figures = {'downtime_ms': 230, 'source_paused_ms': 117.83333, 'switchover_ms': 98.5,
               'time_to_running': 1.10461, 'time_to_ready': 1.40512,
               'memory_bytes': 96943742, 'disk_bytes': 1073872896, 'nic_swap_s': 0.57,
               'phases': {p: 0.1234 for p in ('validate', 'prepare', 'start-clone',
                                              'disk-sync', 'memory', 'switchover',
                                              'finalize', 'nic-swap', 'persist')},
               'devices': {'nic': 'e1000e', 'disk_bus': 'sata', 'video': 'cirrus',
                           'input': 'usb-tablet', 'usb': 'qemu-xhci', 'sound': 'ich9'}}
    text = clone_spawn.stored_figures(figures)
    assert len(text) <= 255
    stored = json.loads(text)
    assert stored['source_paused_ms'] == 117.833
    assert stored['devices']['nic'] == 'e1000e'
    assert 'phases' not in stored


def test_libvirt_address_is_the_inbound_address_else_the_host():
    manager.CONF.set_override('live_migration_inbound_addr', None, group='libvirt')
    assert manager.libvirt_address('pwn-host1') == 'pwn-host1'
    manager.CONF.set_override('live_migration_inbound_addr', '10.213.0.1', group='libvirt')
    try:
        assert manager.libvirt_address('pwn-host1') == '10.213.0.1'
    finally:
        manager.CONF.clear_override('live_migration_inbound_addr', group='libvirt')
