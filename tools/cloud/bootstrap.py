"""Fill the test cloud (tools/cloud/up.sh) once its APIs run; idempotent.

Service users, services and endpoints, the ``demo`` project and user, the
flavors ``pwn.tiny``, ``pwn.small`` (to resize to) and ``pwn.debian``, the
project's test guest and a Debian 12 cloud image (whole-disk images in
Glance, declaring the NIC models a clone may get), both compute
hosts discovered, the demo and alt projects' own network ``pwn-net`` (a
VLAN of physnet1, DHCP on); writes ``openrc-admin``,
``openrc-demo`` and ``clouds.yaml`` (clouds ``pwn-admin``, ``pwn-demo``, ``pwn-alt``).
"""

import argparse
import os
import shlex
import subprocess
import sys
import time

from glanceclient import client as glance_client
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from keystoneclient.v3 import client as keystone_client
from novaclient import client as nova_client

from nova_pwnetizer.testguest import image as guest_image

KEYSTONE = 'http://127.0.0.1:5000/v3'
ENDPOINTS = {   # service name: (type, url)
    'nova': ('compute', 'http://127.0.0.1:8774/v2.1'),
    'placement': ('placement', 'http://127.0.0.1:8778'),
    'glance': ('image', 'http://127.0.0.1:9292'),
    'neutron': ('network', 'http://127.0.0.1:9696'),
}
FLAVOR = 'pwn.tiny'
# name: (RAM MiB, vCPUs, disk GiB); the second is what resize tests go to
FLAVORS = {FLAVOR: (256, 1, 1), 'pwn.small': (320, 1, 2),
           'pwn.debian': (512, 1, 3)}     # the Debian cloud image: 2.3 GiB
NETWORK = 'pwn-net'
SUBNET_CIDR = '10.214.0.0/24'
# The NIC models the test guest has drivers for: a clone gets the one
# least used in its family (nova_pwnetizer.virt.image_models).
VIF_MODELS = 'virtio,e1000,rtl8139'


KEYSTONE_RETRIES = 5


def log(msg):
    print('bootstrap: %s' % msg, file=sys.stderr, flush=True)


def session(user, password, project):
    auth = v3.Password(auth_url=KEYSTONE, username=user, password=password,
                       project_name=project, user_domain_name='Default',
                       project_domain_name='Default')
    return ks_session.Session(auth=auth)


def find(manager, name, **kwargs):
    for item in manager.list(**kwargs):
        if item.name == name:
            return item
    return None


def ensure(manager, name, **kwargs):
    return find(manager, name) or manager.create(name=name, **kwargs)


def password_works(name, password):
    try:
        ks_session.Session(auth=v3.Password(
            auth_url=KEYSTONE, username=name, password=password,
            user_domain_name='Default')).get_token()
        return True
    except ks_exc.Unauthorized:
        return False


def ensure_user(ks, name, domain, password):
    """The user, with this password.  Set only when it does not work: a
    password change revokes the user's tokens, those the running services
    hold too (Nova's Neutron client then fails with 401 until restarted)."""
    user = find(ks.users, name)
    if user is None:
        return ks.users.create(name=name, domain=domain, password=password)
    if not password_works(name, password):
        ks.users.update(user, password=password)
    return user


def identity(ks, password):
    roles = {name: ensure(ks.roles, name) for name in ('admin', 'member', 'reader', 'service')}
    domain = ks.domains.get('default')
    projects = {name: ensure(ks.projects, name, domain=domain)
                for name in ('service', 'demo', 'alt')}
    for name in ENDPOINTS:
        user = ensure_user(ks, name, domain, password)
        for role in ('admin', 'service'):
            ks.roles.grant(roles[role], user=user, project=projects['service'])
    for tenant in ('demo', 'alt'):     # alt: another project's user
        user = ensure_user(ks, tenant, domain, password)
        for role in ('member', 'reader'):
            ks.roles.grant(roles[role], user=user, project=projects[tenant])
    for name, (kind, url) in ENDPOINTS.items():
        service = find(ks.services, name) or ks.services.create(name=name, type=kind)
        have = {e.interface for e in ks.endpoints.list(service=service)}
        for interface in ('public', 'internal'):
            if interface not in have:
                ks.endpoints.create(service=service, url=url, interface=interface,
                                    region='RegionOne')


def write_credentials(etc, password):
    for user, project in (('admin', 'admin'), ('demo', 'demo'), ('alt', 'alt')):
        with open(os.path.join(etc, 'openrc-' + user), 'w') as f:
            f.write(''.join('export %s=%s\n' % (k, shlex.quote(v)) for k, v in (
                ('OS_AUTH_URL', KEYSTONE), ('OS_IDENTITY_API_VERSION', '3'),
                ('OS_USERNAME', user), ('OS_PASSWORD', password),
                ('OS_PROJECT_NAME', project), ('OS_USER_DOMAIN_NAME', 'Default'),
                ('OS_PROJECT_DOMAIN_NAME', 'Default'), ('OS_REGION_NAME', 'RegionOne'))))
    with open(os.path.join(etc, 'clouds.yaml'), 'w') as f:
        f.write('clouds:\n')
        for user, project in (('admin', 'admin'), ('demo', 'demo'), ('alt', 'alt')):
            f.write('  pwn-%s:\n    region_name: RegionOne\n    identity_api_version: 3\n'
                    '    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n'
                    '      project_name: %s\n      user_domain_name: Default\n'
                    '      project_domain_name: Default\n'
                    % (user, KEYSTONE, user, password, project))


def wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (ks_exc.ClientException, OSError) as e:
            last = e
        else:
            last = None
        if time.monotonic() > deadline:
            raise SystemExit('bootstrap: %s not ready within %d s (%s)' % (what, timeout, last))
        time.sleep(1)


def flavors(nova):
    have = {f.name for f in nova.flavors.list(is_public=None)}
    for name, (ram, vcpus, disk) in FLAVORS.items():
        if name not in have:
            nova.flavors.create(name, ram=ram, vcpus=vcpus, disk=disk, is_public=True)


def upload_image(glance, prefix, key, path, **properties):
    """The image ``prefix + key`` in Glance (public), uploaded from ``path``
    unless there; older ones of that prefix are deleted."""
    name = prefix + key
    found = [i for i in glance.images.list() if i['name'] == name and i['status'] == 'active']
    if found:
        return found[0]
    for stale in glance.images.list():
        if stale['name'].startswith(prefix):
            glance.images.delete(stale['id'])
    image = glance.images.create(name=name, disk_format='qcow2', container_format='bare',
                                 visibility='public', **properties)
    with open(path, 'rb') as f:
        glance.images.upload(image['id'], f)
    log('uploaded image %s' % name)
    return glance.images.get(image['id'])


def _key(directory):
    return os.path.basename(directory).split('-', 1)[1]


def images(glance):
    """The test guest and the Debian 12 cloud image, both whole disks with
    the properties real clouds' images carry; the test guest's image."""
    guest = guest_image.ensure_image(log=log)
    tiny = upload_image(
        glance, 'pwn-testguest-', _key(guest.directory), guest.whole_disk,
        os_type='linux', hw_architecture='x86_64', hw_machine_type='pc',
        hw_disk_bus='virtio', hw_vif_model='virtio', hw_qemu_guest_agent='no',
        # busybox has no ACPI power-button handler: Nova's clean shutdown
        # (resize, cold migration, stop) would wait its whole timeout
        os_shutdown_timeout='3',
        pwnetizer_hw_vif_models=VIF_MODELS, pwnetizer_testguest='1')
    debian = guest_image.ensure_debian_image(log=log)
    upload_image(
        glance, 'pwn-debian12-', _key(debian.directory), debian.disk,
        os_type='linux', os_distro='debian', os_version='12', os_admin_user='debian',
        hw_architecture='x86_64', hw_disk_bus='virtio', hw_vif_model='virtio',
        hw_qemu_guest_agent='yes', pwnetizer_hw_vif_models=VIF_MODELS,
        pwnetizer_cloudimage='debian12')
    return tiny


def tenant_network(password, project):
    """The project's own network and subnet, made as its user does."""
    sess = session(project, password, project)
    net = {'service_type': 'network'}
    found = sess.get('/v2.0/networks?name=%s' % NETWORK, endpoint_filter=net).json()
    owned = [n for n in found['networks'] if n['project_id'] == sess.get_project_id()]
    if owned:
        network = owned[0]
    else:
        network = sess.post('/v2.0/networks', endpoint_filter=net, json={
            'network': {'name': NETWORK}}).json()['network']
    if not network['subnets']:
        sess.post('/v2.0/subnets', endpoint_filter=net, json={'subnet': {
            'name': NETWORK + '-v4', 'network_id': network['id'], 'ip_version': 4,
            'cidr': SUBNET_CIDR, 'enable_dhcp': True, 'gateway_ip': None}})
    return network


def agents_alive(admin):
    """The OVS agents of both hosts and the DHCP agent report in."""
    found = admin.get('/v2.0/agents', endpoint_filter={'service_type': 'network'}).json()
    alive = {(a['agent_type'], a['host']) for a in found['agents'] if a['alive']}
    return {('Open vSwitch agent', 'pwn-host1'), ('Open vSwitch agent', 'pwn-host2'),
            ('DHCP agent', 'pwn-host1')} <= alive


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--etc', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--nova-manage')
    parser.add_argument('--identity-only', action='store_true',
                        help='users, services and endpoints only (before Nova starts)')
    args = parser.parse_args()
    admin = session('admin', args.password, 'admin')
    # Keystone under gunicorn, just (re)started, may reset a connection
    # ("Connection reset by peer"): retry what failed to connect.
    ks = keystone_client.Client(session=admin, connect_retries=KEYSTONE_RETRIES)
    wait('keystone', lambda: ks.projects.list(), 120)
    identity(ks, args.password)
    write_credentials(args.etc, args.password)
    if args.identity_only:
        return
    glance = glance_client.Client('2', session=admin)
    wait('glance', lambda: list(glance.images.list()) is not None, 180)
    image = images(glance)
    nova = nova_client.Client('2.95', session=admin)
    wait('nova-api', lambda: nova.flavors.list() is not None, 180)
    flavors(nova)

    def computes():
        services = [s for s in nova.services.list(binary='nova-compute') if s.state == 'up']
        if len(services) < 2:
            return False
        subprocess.run(shlex.split(args.nova_manage) + ['cell_v2', 'discover_hosts'],
                       check=True, stdout=subprocess.DEVNULL)
        if len(nova.hypervisors.list()) < 2:
            return False
        # and their inventories in Placement (else: "no allocation candidates")
        providers = admin.get('/resource_providers', endpoint_filter={
            'service_type': 'placement'}).json()['resource_providers']
        stocked = [p for p in providers if 'MEMORY_MB' in admin.get(
            '/resource_providers/%s/inventories' % p['uuid'],
            endpoint_filter={'service_type': 'placement'}).json().get('inventories', {})]
        return len(stocked) >= 2
    wait('both nova-compute hosts', computes, 300)
    wait('the Neutron agents', lambda: agents_alive(admin), 180)
    for project in ('demo', 'alt'):
        tenant_network(args.password, project)
    log('image %s, flavor %s, hosts %s' % (image['name'], FLAVOR, ', '.join(
        sorted(h.hypervisor_hostname for h in nova.hypervisors.list()))))


if __name__ == '__main__':
    main()
