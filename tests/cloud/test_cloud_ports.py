"""A clone is exactly what its tenant could have made: its ports and its
host's claims, in the real test cloud.

- Each clone port mirrors its own source port (``port_settings``): a
  source with one port in a security group of its own, on a second
  subnet, with an allowed address pair, and one without port security
  gets clone ports with the same settings apart, not the union of both
  ports' groups Nova's create would give them; the address pair only
  when the clone request asks for it.  The source's ports are untouched.
- A source its host gave a NUMA topology (``hw:numa_nodes``, which pins
  its vCPUs and memory to the host's cells) is refused with 409: no
  server is made and the source runs on.

About 2 minutes (two boots, two clones).
"""

import uuid

import pytest

from tests.cloud import helpers

SUBNET_CIDR = '10.215.0.0/24'   # a second subnet of the tenant network
VIP = '10.215.0.200'            # the "virtual IP" of the address pair


@pytest.fixture
def network(cloud):
    return helpers.TenantNetwork(cloud)


@pytest.fixture
def tenant_ports(cloud, network):
    """Port ids of the tenant's own, deleted with its groups and subnets after
    the servers (this fixture comes before ``servers`` in the tests)."""
    made = {'ports': [], 'groups': [], 'subnets': []}
    yield made
    for port_id in made['ports']:
        network.api.delete('/v2.0/ports/%s' % port_id)
    for group_id in made['groups']:
        network.delete_security_group(group_id)
    for subnet_id in made['subnets']:
        network.api.delete('/v2.0/subnets/%s' % subnet_id)


def _port(cloud, network, made, **fields):
    body = dict({'network_id': network.id}, **fields)
    port = cloud.ok(network.api.post('/v2.0/ports', json={'port': body}), 201)['port']
    made['ports'].append(port['id'])
    return port


def _source_with_two_ports(cloud, network, made, servers):
    suffix = uuid.uuid4().hex[:8]
    public = network.security_group('pwn-public-' + suffix)
    made['groups'].append(public)
    subnet = cloud.ok(network.api.post('/v2.0/subnets', json={'subnet': {
        'name': 'pwn-second-' + suffix, 'network_id': network.id, 'ip_version': 4,
        'cidr': SUBNET_CIDR, 'enable_dhcp': True, 'gateway_ip': None}}), 201)['subnet']
    made['subnets'].append(subnet['id'])
    first = _port(cloud, network, made, security_groups=[public],
                  fixed_ips=[{'subnet_id': subnet['id']}],
                  allowed_address_pairs=[{'ip_address': VIP}])
    second = _port(cloud, network, made, port_security_enabled=False)
    body = {'server': {'name': 'ports-src-' + suffix, 'imageRef': cloud.image_id(),
                       'flavorRef': cloud.flavor_id(),
                       'networks': [{'port': first['id']}, {'port': second['id']}]}}
    source = cloud.ok(cloud.compute.post('/servers', json=body), 202)['server']
    servers.append(source['id'])
    cloud.wait_status([source['id']])
    return source['id'], public, subnet['id'], [first['id'], second['id']]


def _settings(port):
    return {'groups': sorted(port['security_groups']),
            'port_security': port['port_security_enabled'],
            'subnets': sorted(ip['subnet_id'] for ip in port['fixed_ips']),
            'pairs': sorted(p['ip_address'] for p in port['allowed_address_pairs'])}


def test_each_clone_port_keeps_its_own_source_ports_settings(cloud, network,
                                                             tenant_ports, servers):
    source_id, public, subnet, source_port_ids = _source_with_two_ports(
        cloud, network, tenant_ports, servers)
    before = {p['id']: p for p in network.ports(source_id)}
    assert sorted(before) == sorted(source_port_ids)

    plain = cloud.clone(source_id)[0]
    with_pairs = cloud.clone(source_id, address_pairs=True)[0]
    servers.extend([plain, with_pairs])
    cloud.wait_status([plain, with_pairs])
    assert 'pwnetizer_pause_ms' in cloud.server(plain)['metadata'], 'booted, not cloned'

    for clone_id, pairs in ((plain, []), (with_pairs, [VIP])):
        ports = network.ports(clone_id)
        found = sorted((_settings(p) for p in ports), key=lambda s: s['port_security'])
        # one port like the first source port, one like the second: not
        # both in the first's group (what Nova's create alone makes)
        assert found == [
            {'groups': [], 'port_security': False,
             'subnets': [next(ip['subnet_id'] for ip in
                              before[source_port_ids[1]]['fixed_ips'])],
             'pairs': []},
            {'groups': [public], 'port_security': True, 'subnets': [subnet],
             'pairs': pairs}], (clone_id, ports)
        mirrored = next(p for p in ports if p['port_security_enabled'])
        # the clone's own MAC and address, also in its address pair
        assert mirrored['mac_address'] != before[source_port_ids[0]]['mac_address']
        assert mirrored['fixed_ips'] != before[source_port_ids[0]]['fixed_ips']
        for pair in mirrored['allowed_address_pairs']:
            assert pair['mac_address'] == mirrored['mac_address'], mirrored
        # the server's networks, as Nova shows them, are the ports' own
        addresses = [a['addr'] for net in cloud.server(clone_id)['addresses'].values()
                     for a in net]
        assert sorted(addresses) == sorted(ip['ip_address'] for p in ports
                                           for ip in p['fixed_ips'])

    # the source's ports are as they were
    after = {p['id']: p for p in network.ports(source_id)}
    assert {k: _settings(p) for k, p in after.items()} == {
        k: _settings(p) for k, p in before.items()}
    assert cloud.server(source_id)['status'] == 'ACTIVE'


@pytest.fixture
def numa_flavor(cloud):
    """A public flavor of one guest NUMA node (admin-made)."""
    name = 'pwn.numa-' + uuid.uuid4().hex[:6]
    flavor = cloud.ok(cloud.admin.post('/flavors', json={'flavor': {
        'name': name, 'ram': 128, 'vcpus': 1, 'disk': 1}}), 200)['flavor']
    cloud.ok(cloud.admin.post('/flavors/%s/os-extra_specs' % flavor['id'], json={
        'extra_specs': {'hw:numa_nodes': '1'}}), 200)
    yield flavor['id']
    cloud.admin.delete('/flavors/%s' % flavor['id'])


def test_a_source_with_a_numa_topology_is_refused(cloud, numa_flavor, servers):
    body = {'server': {'name': 'numa-src', 'imageRef': cloud.image_id(),
                       'flavorRef': numa_flavor, 'networks': 'none'}}
    source = cloud.ok(cloud.compute.post('/servers', json=body), 202)['server']
    servers.append(source['id'])
    cloud.wait_status([source['id']])
    host = cloud.host_of(source['id'])
    with host.libvirt() as conn:
        xml = conn.lookupByUUIDString(source['id']).XMLDesc(0)
    assert '<numatune>' in xml, 'Nova gave the source no NUMA placement'
    usage_before = cloud.ok(cloud.compute.get('/limits'))['limits']['absolute']
    servers_before = {s['id'] for s in cloud.ok(cloud.compute.get('/servers'))['servers']}

    response = cloud.compute.post('/servers/%s/action' % source['id'],
                                  json={'clone': {}})
    assert response.status_code == 409, response.text
    message = response.json()['conflictingRequest']['message']
    assert 'NUMA topology' in message and 'another host' in message, message
    for name in ('pwn-host1', 'pwn-host2'):
        assert name not in message

    assert {s['id'] for s in cloud.ok(cloud.compute.get('/servers'))['servers']} == \
        servers_before
    assert cloud.ok(cloud.compute.get('/limits'))['limits']['absolute'] == usage_before
    assert cloud.server(source['id'])['status'] == 'ACTIVE'
    assert cloud.server(source['id'])['OS-EXT-STS:task_state'] is None
    assert host.state(source['id']) == 'running'
