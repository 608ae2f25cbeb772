"""End to end with Neutron: a tenant's server on its own network is cloned
live, and each clone is on the network as itself.

The tenant network ``pwn-net`` (a VLAN of ``physnet1``, DHCP on) is made by
tools/cloud/bootstrap.py; ML2/OVS with the userspace datapath, an OVS and
an OVS agent on each compute host, the DHCP agent on the first (see
tools/cloud/network.sh).  The host reaches the tenant network from the
DHCP agent's namespace ``qdhcp-<network id>``: that is where the pings
(the source's guest-observed pause, the clones' own addresses) and the
HTTP requests to the guests' web server come from.
"""

import json
import re
import time
import uuid

from lxml import etree
import pytest

from nova_pwnetizer.bench import probe
from tests.cloud import helpers
from tests.cloud.helpers import FIGURES

NETWORK = helpers.NETWORK
DHCP = re.compile(r'PWN DHCP (\w+) ip=([\d.]+)')
NIC = re.compile(r'PWN NIC (\w+) mac=([0-9a-f:]+) driver=(\S*)')
# what the guest's kernel calls the driver of each model Nova may choose
DRIVERS = {'virtio': 'virtio_net', 'e1000': 'e1000', 'rtl8139': '8139'}


@pytest.fixture(scope='module')
def network(cloud):
    return helpers.TenantNetwork(cloud)


def console_lines(cloud, server_id, pattern):
    return pattern.findall(cloud.console(server_id))


def wait_console(cloud, server_id, pattern, check, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in console_lines(cloud, server_id, pattern) if check(m)]
        if found:
            return found
        assert time.monotonic() < deadline, (
            'no %s on the console of %s within %d s:\n%s' % (
                pattern.pattern, server_id, timeout, cloud.console(server_id)[-2000:]))
        time.sleep(1)


def live_nic_model(cloud, server_id):
    """The NIC model of the server's running domain (its host's libvirtd)."""
    host = cloud.host_of(server_id)
    with host.libvirt() as conn:
        xml = conn.lookupByUUIDString(server_id).XMLDesc(0)
    models = etree.fromstring(xml).xpath('devices/interface/model/@type')
    assert len(models) == 1, models
    return models[0]


def tap_on_host(host, port_id):
    """Whether the port's tap is a port of the host's integration bridge
    (each host's ovsdb-server listens on its own 127.0.0.1:6640)."""
    ports = host.ns('ovs-vsctl', '--db=tcp:127.0.0.1:6640', 'list-ports', 'br-int')
    return ('tap' + port_id)[:14] in ports.split()


@pytest.fixture
def group(network):
    """A security group of the tenant's that lets nothing in (deleted after
    the servers: the ``servers`` fixture comes after it)."""
    group_id = network.security_group('pwn-e2e-' + uuid.uuid4().hex[:8])
    yield group_id
    network.delete_security_group(group_id)


def test_clones_are_on_the_network_as_themselves(cloud, network, group, servers):
    # The tenant's server, on its network, in a security group that lets
    # nothing in yet.
    source = cloud.boot('pwn-net-src', servers, network=True, security_group=group)
    port = network.port(source['id'])
    ip = port['fixed_ips'][0]['ip_address']
    mac = port['mac_address']
    # The guest asked Neutron's DHCP for its address, and got the port's.
    wait_console(cloud, source['id'], DHCP, lambda m: m[1] == ip)
    assert port['status'] == 'ACTIVE' and port['security_groups'] == [group], port

    # Security groups are enforced: no ping until the tenant allows it.
    assert not network.answers_ping(ip), 'the security group let a ping through'
    network.allow(group, 'icmp')
    network.allow(group, 'tcp', 80)
    network.wait_ping(ip)
    assert network.http(ip) == 'pwnetizer test guest\n'

    # Two live clones with randomized device models, spread, as the tenant,
    # while the host pings the source every 5 ms.
    pinger = probe.PingProbe(ip, interval=0.005, netns=network.netns)
    start = time.monotonic()
    try:
        done = helpers.openstack('server', 'clone', source['id'], '--count', '2',
                                 '--placement', 'spread', '--randomize', '--wait',
                                 '-f', 'json')
    finally:
        time.sleep(1)
        pinger.stop()
    took = round(time.monotonic() - start, 1)
    listed = json.loads(done.stdout)
    assert [row['Status'] for row in listed] == ['ACTIVE', 'ACTIVE'], listed
    clone_ids = [row['ID'] for row in listed]
    servers.extend(clone_ids)
    silence = pinger.longest_gap()
    FIGURES['network: API call -> 2 clones ACTIVE (s)'] = took
    FIGURES['network: source guest-observed pause (ms, longest ping silence)'] = (
        probe.ms(silence))
    # each clone says when the server it was made from was paused (the
    # source for the first, the first clone for the second: a tree); the
    # pings to the source are silent across the source's pause only
    windows = [helpers.pause_window(c) for c in cloud.clones_of(source['id'])
               if c['id'] in clone_ids]
    across = max(pinger.gap_across(*window) or 0 for window in windows)
    FIGURES['network: source guest-observed pause (ms, ping silence across it)'] = (
        probe.ms(across))
    assert 0 < across <= silence
    # The source answered before and after, and was never silent for long
    # (a source left paused would be silent until the engine's timeout).
    assert pinger.replies and silence is not None and silence < 2.0, (
        'the source went silent for %s s while cloned' % silence)
    assert network.port(source['id'])['mac_address'] == mac
    assert network.answers_ping(ip)

    # Each clone: its own port, MAC and address, given by Neutron's DHCP
    # to the guest's new NIC, reachable there, bound on its own host.
    family = {source['id']: (mac, ip)}
    for clone_id in clone_ids:
        clone_port = network.port(clone_id)
        admin_port = network.port(clone_id, admin=True)
        clone_ip = clone_port['fixed_ips'][0]['ip_address']
        clone_mac = clone_port['mac_address']
        assert (clone_mac, clone_ip) not in family.values(), (clone_port, family)
        assert clone_mac not in [m for m, _ in family.values()]
        assert clone_ip not in [a for _, a in family.values()]
        family[clone_id] = (clone_mac, clone_ip)
        assert clone_port['security_groups'] == [group], clone_port
        host = cloud.host_of(clone_id)
        assert admin_port['binding:host_id'] == host.name, admin_port
        assert tap_on_host(host, clone_port['id'])
        nics = wait_console(cloud, clone_id, NIC, lambda m: m[1] == clone_mac)
        wait_console(cloud, clone_id, DHCP, lambda m: m[1] == clone_ip)
        console = cloud.console(clone_id)
        assert 'PWN NICGONE' in console and 'PWN BOOT' not in console, console[-2000:]
        network.wait_ping(clone_ip)
        assert network.http(clone_ip) == 'pwnetizer test guest\n'
        model = live_nic_model(cloud, clone_id)
        assert DRIVERS[model] in nics[-1][2], (model, nics)
    FIGURES['network: family NIC models'] = {
        s: live_nic_model(cloud, s) for s in family}
    # Randomized: three members, the three models the image declares.
    assert sorted(FIGURES['network: family NIC models'].values()) == [
        'e1000', 'rtl8139', 'virtio'], FIGURES['network: family NIC models']

    # Deleting a clone frees its port (and its tap) and its allocation.
    gone = clone_ids[0]
    gone_port = network.port(gone)
    gone_host = cloud.host_of(gone)
    cloud.ok(cloud.compute.delete('/servers/%s' % gone), 204)
    cloud.wait_gone(gone)
    assert network.ports(gone) == []
    assert not tap_on_host(gone_host, gone_port['id'])
    assert cloud.allocations(gone) == {}
    helpers.assert_no_leaks(cloud, sources=[source['id']], clones=[gone])
    # The other members are still on the network.
    for server_id in (source['id'], clone_ids[1]):
        assert network.answers_ping(family[server_id][1])
