"""Clones of a real cloud image come up as themselves.

The source is the Debian 12 cloud image as tenants run it: cloud-init
configured it from its config drive, bound its network configuration
(systemd-networkd) to its port's MAC, and its DHCP client id is the
default DUID, derived from its machine-id.  Two clones of it, each with
its own port, get the guest step through QEMU's guest agent: each
answers on its own new address with the source's memory state (the
stateful service's token), has its own machine-id, DHCP client id and
host name, and reads other random bytes than its sibling; the source's
address still reaches only the source.  Every server has a VM generation
ID, each clone its own.  After a hard reboot a clone is still itself: the
same address, machine-id, host name and generation ID, and cloud-init (told
the clone's instance id is initialised) did not make it a first boot.
"""

import json
import time

from tests.cloud import helpers
from tests.cloud.helpers import FIGURES
from tests.cloud.helpers import TenantNetwork

BOOT_TIMEOUT_S = helpers.DEBIAN_BOOT_TIMEOUT_S
SERVE_TIMEOUT_S = 60

IDENTITY = ('cat /etc/machine-id; hostname; cat /run/systemd/netif/leases/* '
            '| sed -n "s/^CLIENTID=//p"; cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub; '
            'head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"')


def _identity(cloud, server_id):
    with cloud.host_of(server_id).libvirt() as conn:
        out = helpers.agent_exec(conn.lookupByUUIDString(server_id), '/bin/sh', '-c', IDENTITY)
    machine_id, hostname, client_id, ssh_key, random_bytes = out.split('\n')[:5]
    return {'machine_id': machine_id, 'hostname': hostname, 'client_id': client_id,
            'ssh_key': ssh_key, 'random': random_bytes}


def _genid(cloud, server_id):
    with cloud.host_of(server_id).libvirt() as conn:
        xml = conn.lookupByUUIDString(server_id).XMLDesc(0)
    return xml.split('<genid>')[1].split('</genid>')[0] if '<genid>' in xml else None


def _hard_reboot(cloud, server_id):
    cloud.ok(cloud.compute.post('/servers/%s/action' % server_id,
                                json={'reboot': {'type': 'HARD'}}), 202)
    deadline = time.monotonic() + 120
    while cloud.server(server_id)['status'] == 'ACTIVE':   # until Nova takes it
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cloud.wait_status([server_id])


def _neighbour_mac(net, ip):
    out = net.run('ip', 'neigh', 'show', ip).stdout.split()
    return out[out.index('lladdr') + 1] if 'lladdr' in out else None


def test_clones_of_a_cloud_image_come_up_as_themselves(cloud, servers):
    net = TenantNetwork(cloud)
    group = net.security_group('pwn-identity-web')
    try:
        net.allow(group, 'icmp')
        net.allow(group, 'tcp', 80)
        source_id, source_ip, first = helpers.boot_debian(cloud, net, servers, 'pwn-id-web', group)
        source_mac = net.port(source_id)['mac_address']
        source = _identity(cloud, source_id)

        start = time.monotonic()
        clone_ids = cloud.clone(source_id, count=2)
        cloud.wait_status(clone_ids)
        FIGURES['cloud image: 2 clones ACTIVE (s)'] = round(time.monotonic() - start, 1)
        clones = {}
        for clone_id in clone_ids:
            port = net.port(clone_id)
            ip = port['fixed_ips'][0]['ip_address']
            answer = helpers.wait_http(net, ip, SERVE_TIMEOUT_S, every=0.2)
            clones[clone_id] = dict(ip=ip, mac=port['mac_address'], answer=answer)
        FIGURES['cloud image: API call -> both clones serve on their own address (s)'] = \
            round(time.monotonic() - start, 1)
        for clone_id, clone in clones.items():
            server = cloud.server(clone_id)
            assert server['metadata'].get('pwnetizer_guest_step') == 'done', server['metadata']
            # the service's memory state came along
            assert clone['answer']['token'] == first['token'], clone
            assert clone['ip'] != source_ip and clone['mac'] != source_mac
            clone.update(_identity(cloud, clone_id))
            assert clone['machine_id'] != source['machine_id']
            assert clone['client_id'] and clone['client_id'] != source['client_id']
            assert clone['hostname'] == server['name'] != source['hostname']
        one, two = clones.values()
        assert one['machine_id'] != two['machine_id']
        assert one['client_id'] != two['client_id']
        assert one['random'] != two['random']
        # the source's address is still the source's alone
        assert json.loads(net.http(source_ip))['token'] == first['token']
        assert _neighbour_mac(net, source_ip) == source_mac
        # a VM generation ID for the source (booted by the driver), each
        # clone its own
        genids = [_genid(cloud, s) for s in [source_id] + clone_ids]
        assert all(genids) and len(set(genids)) == 3, genids
        FIGURES['cloud image: clone ready (s)'] = [
            float(cloud.server(c)['metadata']['pwnetizer_ready_s']) for c in clone_ids]

        # a hard reboot boots the clone as itself
        clone_id, before = clone_ids[0], clones[clone_ids[0]]
        start = time.monotonic()
        _hard_reboot(cloud, clone_id)
        after = helpers.wait_http(net, before['ip'], BOOT_TIMEOUT_S)
        FIGURES['cloud image: clone hard reboot -> serving (s)'] = round(
            time.monotonic() - start, 1)
        assert after['boot_id'] != before['answer']['boot_id']   # it did boot
        assert after['hostname'] == before['hostname']
        assert _genid(cloud, clone_id) == genids[1]
        again = _identity(cloud, clone_id)
        assert again['machine_id'] == before['machine_id']
        # no first boot: cloud-init's per-instance ssh module would have
        # made new host keys (the step keeps them unless asked)
        assert again['ssh_key'] == before['ssh_key'] == source['ssh_key']
        with cloud.host_of(clone_id).libvirt() as conn:
            status = json.loads(helpers.agent_exec(conn.lookupByUUIDString(clone_id),
                                                   '/bin/cat', '/run/cloud-init/status.json'))
            instance_id = helpers.agent_exec(conn.lookupByUUIDString(clone_id), '/bin/cat',
                                             '/var/lib/cloud/data/instance-id').strip()
        assert not status['v1']['init']['errors'], status
        assert instance_id == clone_id

        # a live migration to the other host keeps all of it, and the memory
        took, host = helpers.live_migrate(cloud, clone_id)
        FIGURES['cloud image: clone live migration (s)'] = round(took, 1)
        moved = helpers.wait_http(net, before['ip'], 60, every=0.5)
        assert moved['boot_id'] == after['boot_id'] and moved['hits'] > after['hits']
        assert moved['token'] == after['token'] and moved['hostname'] == after['hostname']
        assert _genid(cloud, clone_id) == genids[1]
        assert _identity(cloud, clone_id)['machine_id'] == before['machine_id']
    finally:
        helpers.delete_servers(cloud, servers)
        net.delete_security_group(group)
