"""A live clone of a real running guest: state, identity, independence."""

import subprocess
import time
import uuid as uuidlib

import pytest

from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import metadata
from tests.integration.conftest import assert_no_leftovers
from tests.integration import helpers


def _first_tick(test_guest):
    return test_guest.console.wait_for(lambda c: c.ticks(), 60, 'a tick')[0]


def _wait_nic(test_guest, mac):
    return test_guest.console.wait_for(
        lambda c: [line for line in c.lines('PWN NIC ') if mac in line], 60,
        'the guest to see NIC %s' % mac)[-1]


def test_clone_continues_memory_and_disk_state(host, guests):
    src = guests.boot()
    src.console.wait_ticks(5)
    result = engine.clone(src.guest)
    clone = guests.attach(result.name)

    assert result.running and result.persistent
    assert result.disk_sync == {'vda': 'top'}
    assert result.source_paused_ms is not None and result.downtime_ms is not None
    assert set(result.phases) >= {'disk-sync', 'memory', 'switchover', 'nic-swap'}

    # Memory: the clone never booted; its counter goes on from the source's.
    first_mem, first_rec = _first_tick(clone)
    assert clone.console.lines('PWN BOOT') == []
    assert first_mem > 5
    assert first_mem - 1 in [m for m, _ in src.console.ticks()]
    clone.console.wait_ticks(5)
    src.console.wait_ticks(3)
    assert src.guest.state == 'running'

    # Disk: the clone's records are the source's up to the switch-over,
    # then its own, with no gap.
    clone.guest.destroy()
    clone_records = helpers.read_records(clone.disk)
    source_records = helpers.read_records(src.disk)
    assert helpers.contiguous(clone_records)
    assert max(clone_records) >= first_rec
    for seq in range(1, first_rec):
        assert clone_records[seq] == source_records[seq], seq
    assert helpers.contiguous(source_records)
    assert clone.console.errors() == [] and src.console.errors() == []


def test_clone_has_its_own_identity(host, guests):
    src = guests.boot()
    result = engine.clone(src.guest)
    clone = guests.attach(result.name)
    src_tree, clone_tree = src.guest.tree(), clone.guest.tree()

    assert clone_tree.findtext('uuid') == result.uuid != src_tree.findtext('uuid')
    assert clone_tree.findtext('genid') != src_tree.findtext('genid')
    assert clone.disk != src.disk and clone.console.path != src.console.path
    info = metadata.of_guest(clone.guest)
    assert (info.family, info.source_uuid, info.state) == (
        src.guest.uuid, src.guest.uuid, 'ready')

    old_mac, new_mac = result.nics[0]['old_mac'], result.nics[0]['mac']
    assert old_mac != new_mac
    assert clone_tree.find('devices/interface/mac').get('address') == new_mac
    assert clone_tree.find('devices/interface').get('type') == 'bridge'
    # Inside the guest: the new NIC, bound to its driver, with a DHCP lease.
    assert 'driver=virtio_net' in _wait_nic(clone, new_mac)
    clone.console.wait_for(lambda c: c.lines('PWN DHCP'), 60, 'a DHCP lease')
    assert clone.agent.output('cat /sys/class/net/eth*/address') == new_mac
    assert src.agent.output('cat /sys/class/net/eth*/address') == old_mac
    ip = helpers.dhcp_ip(clone.console)
    leases = open('/var/lib/pwnetizer/dnsmasq.leases').read()
    assert '%s %s' % (new_mac, ip) in leases
    assert helpers.netns_run('ping', '-c', '2', '-W', '5', ip).returncode == 0


def test_clone_is_independent_and_boots_from_its_own_disk(host, guests):
    src = guests.boot()
    result = engine.clone(src.guest)
    clone = guests.attach(result.name)
    new_mac = result.nics[0]['mac']

    src.guest.destroy()
    clone.console.wait_ticks(5)  # the clone does not need its source

    clone.guest.destroy()
    last = max(helpers.read_records(clone.disk))
    clone.guest.dom.create()  # boots from its persistent definition
    boot = clone.console.wait_for(lambda c: c.lines('PWN DISK'), 90, 'the clone to boot')
    assert boot[-1].endswith('last=%d' % last)
    _wait_nic(clone, new_mac)
    mem, rec = clone.console.wait_for(
        lambda c: [t for t in c.ticks() if t[0] == 1], 60, 'the first tick after boot')[0]
    assert rec == last + 1
    assert clone.console.errors() == []


def test_clone_survives_a_libvirtd_restart(host, guests):
    src = guests.boot()
    result = engine.clone(src.guest)
    with open(helpers.LIBVIRTD_PID) as f:
        pid = int(f.read())
    subprocess.run(['kill', str(pid)], check=True)
    try:
        # libvirtd gives its drivers up to 30 s to finish their work
        helpers.wait_until(lambda: subprocess.run(['kill', '-0', str(pid)],
                                                  capture_output=True).returncode != 0,
                           60, 'libvirtd to stop')
    finally:  # the tests after this one need libvirtd, whatever happened here
        subprocess.run(['tools/setup-host.sh'], check=True, capture_output=True)
    clone = guests.attach(result.name)  # a new connection
    assert clone.guest.state == 'running' and clone.guest.is_persistent()
    clone.console.wait_ticks(2)


def test_clone_of_a_clone_and_two_clones_of_one_source(host, guests):
    src = guests.boot()
    first = engine.clone(src.guest)
    second = engine.clone(src.guest)
    grandchild = engine.clone(host.lookup(first.name))
    assert len({first.name, second.name, grandchild.name}) == 3
    macs = {first.nics[0]['mac'], second.nics[0]['mac'], grandchild.nics[0]['mac'],
            first.nics[0]['old_mac']}
    assert len(macs) == 4
    info = metadata.of_guest(host.lookup(grandchild.name))
    assert info.family == src.guest.uuid and info.generation == 2
    assert info.source_uuid == first.uuid
    for name in (first.name, second.name, grandchild.name):
        clone = guests.attach(name)
        clone.console.wait_ticks(3)
        assert clone.console.errors() == []
    assert src.guest.state == 'running'
    assert_no_leftovers(host, guests, [src],
                        allowed=[first.name, second.name, grandchild.name])


def test_paused_clone_keeps_its_network_isolated(host, guests):
    src = guests.boot()
    result = engine.clone(src.guest, options=engine.CloneOptions(start=False))
    clone = guests.attach(result.name)
    assert clone.guest.state == 'paused' and not result.running
    live = clone.guest.tree().find('devices/interface')
    assert live.get('type') == 'ethernet' and live.find('source') is None
    persistent = clone.guest.tree(inactive=True).find('devices/interface')
    assert persistent.get('type') == 'bridge'
    assert persistent.find('mac').get('address') == result.nics[0]['mac']
    time.sleep(1)
    assert clone.console.ticks() == []
    clone.guest.resume()
    clone.console.wait_ticks(2)


def test_clone_with_a_given_uuid_and_interfaces(host, guests):
    """What the Nova driver asks for: the instance's UUID and name, and the
    NICs Nova's VIF driver made of the clone's own ports."""
    src = guests.boot()
    src_iface = src.guest.tree().find('devices/interface')
    bridge = src_iface.find('source').get('bridge')
    clone_uuid, mac = str(uuidlib.uuid4()), 'fa:16:3e:12:34:56'
    iface = ("<interface type='bridge'><mac address='%s'/><source bridge='%s'/>"
             "<model type='e1000'/><target dev='tap-pwn-given'/></interface>" % (mac, bridge))
    name = guests.prefix + '-instance-given'   # the fixture removes it
    result = engine.clone(src.guest, options=engine.CloneOptions(
        name=name, uuid=clone_uuid, interfaces=[iface]))
    clone = guests.attach(result.name)
    tree = clone.guest.tree()
    assert result.uuid == clone_uuid == tree.findtext('uuid')
    assert host.lookup(clone_uuid).name == name
    nic = tree.find('devices/interface')
    assert nic.find('mac').get('address') == mac
    assert nic.find('model').get('type') == 'e1000'
    assert nic.find('target').get('dev') == 'tap-pwn-given'
    assert result.nics == [{'old_mac': src_iface.find('mac').get('address'), 'mac': mac,
                            'model': 'e1000'}]
    assert 'driver=e1000' in _wait_nic(clone, mac)
    persistent = clone.guest.tree(inactive=True).find('devices/interface')
    assert persistent.find('mac').get('address') == mac


def test_clone_refuses_a_uuid_in_use_and_a_wrong_interface_count(host, guests):
    src = guests.boot()
    with pytest.raises(engine.NameInUse):
        engine.clone(src.guest, options=engine.CloneOptions(uuid=src.guest.uuid))
    with pytest.raises(engine.SourceNotCloneable, match='2 interfaces given for 1 NICs'):
        engine.clone(src.guest, options=engine.CloneOptions(interfaces=[
            "<interface type='network'><mac address='fa:16:3e:00:00:0%d'/></interface>" % i
            for i in (1, 2)]))
    assert_no_leftovers(host, guests, [src])
