"""The test cloud's images are what tenants run: whole disks that boot by
themselves.

- The Debian 12 cloud image (nova_pwnetizer/testguest/files/build-debian.sh)
  boots as a tenant's server with a config drive: cloud-init configures
  it from the drive (its host name is the server's), its network comes up
  by DHCP, its stateful HTTP service answers on its port address, and
  QEMU's guest agent answers on the channel Nova adds for
  ``hw_qemu_guest_agent=yes``.
- The tiny test guest is one qcow2 whole disk (no kernel or ramdisk
  images) that Nova's format inspector accepts, and it answers too
  (the other cloud tests boot and reach it throughout).
"""

import json
import time

from tests.cloud import helpers
from tests.cloud.helpers import FIGURES
from tests.cloud.helpers import TenantNetwork

DEBIAN_FLAVOR = 'pwn.debian'
BOOT_TIMEOUT_S = 600    # TCG: cloud-init's Python alone takes a minute or two


def test_images_are_whole_disks(cloud):
    for prop, value in (('pwnetizer_testguest', '1'),
                        ('pwnetizer_cloudimage', 'debian12')):
        image = helpers.cloud_image(cloud, prop, value)
        assert image['disk_format'] == 'qcow2', image
        assert not image.get('kernel_id') and not image.get('ramdisk_id'), image
        assert image['os_type'] == 'linux' and image['hw_architecture'] == 'x86_64'
    debian = helpers.cloud_image(cloud, 'pwnetizer_cloudimage', 'debian12')
    assert debian['hw_qemu_guest_agent'] == 'yes'


def test_debian_cloud_image_boots_and_answers(cloud, servers):
    net = TenantNetwork(cloud)
    group = net.security_group('pwn-images-web')
    try:
        net.allow(group, 'icmp')
        net.allow(group, 'tcp', 80)
        flavors = cloud.ok(cloud.compute.get('/flavors'))['flavors']
        body = {'server': {
            'name': 'pwn-debian-web', 'config_drive': True,
            'imageRef': helpers.cloud_image(cloud, 'pwnetizer_cloudimage', 'debian12')['id'],
            'flavorRef': next(f['id'] for f in flavors if f['name'] == DEBIAN_FLAVOR),
            'networks': [{'uuid': net.id}], 'security_groups': [{'name': 'pwn-images-web'}]}}
        start = time.monotonic()
        server = cloud.ok(cloud.compute.post('/servers', json=body), 202)['server']
        servers.append(server['id'])
        cloud.wait_status([server['id']])
        FIGURES['Debian cloud image: API call -> ACTIVE (s)'] = round(time.monotonic() - start, 1)
        ip = net.port(server['id'])['fixed_ips'][0]['ip_address']

        first = helpers.wait_http(net, ip, BOOT_TIMEOUT_S)
        FIGURES['Debian cloud image: API call -> HTTP answers (s)'] = round(
            time.monotonic() - start, 1)
        # cloud-init took the host name from the config drive
        assert first['hostname'] == 'pwn-debian-web', first
        # the service keeps its state in memory
        second = json.loads(net.http(ip))
        assert second['token'] == first['token'] and second['hits'] > first['hits']
        assert net.answers_ping(ip)

        # QEMU's guest agent, on the channel Nova adds for the image property
        mac = net.port(server['id'])['mac_address']
        host = cloud.host_of(server['id'])
        with host.libvirt() as conn:
            domain = conn.lookupByUUIDString(server['id'])
            assert 'org.qemu.guest_agent.0' in domain.XMLDesc(0)
            assert helpers.agent(domain, 'guest-get-host-name')['host-name'] == 'pwn-debian-web'
            # cloud-init read the config drive, and rendered the network
            # config bound to the port's MAC, as on a real cloud image
            # (status.json: result.json comes only once cloud-init's last
            # stage ends, after the service already answers)
            status = json.loads(helpers.agent_exec(domain, '/bin/cat',
                                                   '/run/cloud-init/status.json'))
            assert 'ConfigDrive' in status['v1']['datasource'], status
            assert not status['v1']['init']['errors'], status
            rendered = helpers.agent_exec(domain, '/bin/sh', '-c',
                                          'cat /etc/systemd/network/10-cloud-init-*.network')
        assert 'MACAddress=%s' % mac in rendered, rendered
    finally:
        for server_id in servers:
            cloud.compute.delete('/servers/%s' % server_id)
        for server_id in servers:
            cloud.wait_gone(server_id, timeout=180)
        net.delete_security_group(group)
