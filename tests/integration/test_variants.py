"""Machine types, disk formats and buses the engine supports."""

import pytest

from nova_pwnetizer.virt import engine
from tests.integration import helpers


@pytest.mark.parametrize('machine, disk_format, disk_bus, nic_model, sync', [
    ('q35', 'overlay', 'virtio', 'virtio', 'top'),
    ('pc', 'raw', 'virtio', 'e1000', 'full'),
    ('q35', 'qcow2', 'sata', 'e1000e', 'full'),
    ('pc', 'overlay', 'ide', 'rtl8139', 'top'),
    ('pc', 'qcow2', 'scsi', 'virtio', 'full'),
])
def test_clone_variant(host, guests, machine, disk_format, disk_bus, nic_model, sync):
    src = guests.boot(machine=machine, disk_format=disk_format, disk_bus=disk_bus,
                      nic_model=nic_model, memory_mib=192)
    src.console.wait_ticks(3)
    result = engine.clone(src.guest)
    clone = guests.attach(result.name)
    dev = src.guest.tree().find('devices/disk/target').get('dev')
    assert result.disk_sync == {dev: sync}
    first = clone.console.wait_for(lambda c: c.ticks(), 60, 'a tick')[0]
    assert clone.console.lines('PWN BOOT') == [] and first[0] > 3
    new_mac = result.nics[0]['mac']
    line = clone.console.wait_for(
        lambda c: [x for x in c.lines('PWN NIC ') if new_mac in x], 60, 'the new NIC')[-1]
    assert result.nics[0]['model'] == nic_model
    clone.console.wait_ticks(3)
    clone.guest.destroy()
    records = helpers.read_records(clone.disk)
    assert helpers.contiguous(records) and max(records) >= first[1]
    assert clone.console.errors() == [], line
    fmt = 'raw' if disk_format == 'raw' else 'qcow2'
    assert clone.guest.tree().find('devices/disk/driver').get('type') == fmt
