"""Write Tempest's configuration for the all-in-one test cloud
(tools/cloud/up.sh), read from the live cloud; run by tools/cloud/tempest.sh
with the cloud's venv (keystoneauth1, novaclient, glanceclient).

From the cloud as it runs: Keystone's catalog (which services exist, their
endpoints, the region), the test image (``pwn-testguest-*``), the flavors
``pwn.tiny`` (servers) and ``pwn.small`` (what resize goes to), the compute
hosts that are up, Nova's newest microversion, Neutron's extensions and
agents, Keystone's roles; from the services' configuration files: the
scheduler's filters, the consoles, the policy defaults.  Every feature
turned off says, in a comment, what the cloud lacks for it.
"""

import argparse
import configparser
import datetime
import os
import shutil
import sys

from glanceclient import client as glance_client
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from novaclient import client as nova_client

KEYSTONE = 'http://127.0.0.1:5000/v3'
IMAGE_PREFIX = 'pwn-testguest-'
FLAVOR = 'pwn.tiny'
FLAVOR_ALT = 'pwn.small'     # bigger: resize goes to it
NOVA_POLICY_ROLES = ('admin', 'manager', 'member', 'reader')
NO_CINDER = 'no Cinder in the test cloud (no block storage service)'


def die(msg):
    sys.exit('tempest_conf: %s' % msg)


def read_ini(path):
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read(path)
    return parser


def ini_bool(parser, section, option, default):
    try:
        return parser.getboolean(section, option)
    except (configparser.Error, ValueError):
        return default


class Conf:
    """tempest.conf as sections of (option, value, comment)."""

    def __init__(self):
        self.sections = {}

    def set(self, section, option, value, comment=None):
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, (list, tuple)):
            value = ','.join(value)
        self.sections.setdefault(section, []).append((option, str(value), comment))

    def feature(self, section, option, on, why_off):
        """A feature flag; off only with the reason (what the cloud lacks)."""
        self.set(section, option, bool(on), None if on else why_off)

    def text(self, header):
        out = ['# ' + line if line else '#' for line in header.splitlines()]
        for section, options in self.sections.items():
            out += ['', '[%s]' % section]
            for option, value, comment in options:
                if comment:
                    out.append('# off: %s' % comment if value == 'false' else '# %s' % comment)
                out.append('%s = %s' % (option, value))
        return '\n'.join(out) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--etc', required=True, help="the cloud's /etc/pwnetizer-cloud")
    parser.add_argument('--password', required=True, help="the cloud's admin password")
    parser.add_argument('--workspace', required=True, help="Tempest's workspace")
    parser.add_argument('--out', required=True, help='the tempest.conf to write')
    args = parser.parse_args()

    auth = v3.Password(auth_url=KEYSTONE, username='admin', password=args.password,
                       project_name='admin', user_domain_name='Default',
                       project_domain_name='Default')
    sess = ks_session.Session(auth=auth)
    access = auth.get_access(sess)
    catalog = access.service_catalog.get_endpoints(interface='public')
    regions = {e['region_id'] for es in catalog.values() for e in es if e.get('region_id')}
    region = sorted(regions)[0] if regions else 'RegionOne'
    for kind in ('identity', 'compute', 'image', 'network'):
        if kind not in catalog:
            die('no %s service in the catalog: is the cloud up (tools/cloud/up.sh)?' % kind)

    glance = glance_client.Client('2', session=sess)
    images = sorted((i for i in glance.images.list()
                     if i['name'].startswith(IMAGE_PREFIX) and i['status'] == 'active'),
                    key=lambda i: i['created_at'])
    if not images:
        die('no active %s* image in Glance (tools/cloud/up.sh uploads it)' % IMAGE_PREFIX)
    image = images[-1]

    nova = nova_client.Client('2.1', session=sess)
    flavors = {f.name: f.id for f in nova.flavors.list(is_public=None)}
    for name in (FLAVOR, FLAVOR_ALT):
        if name not in flavors:
            die('no flavor %s (tools/cloud/bootstrap.py makes it)' % name)
    computes = [s for s in nova.services.list(binary='nova-compute')
                if s.state == 'up' and s.status == 'enabled']
    hypervisors = nova.hypervisors.list()
    hypervisor_types = sorted({h.hypervisor_type for h in hypervisors}) or ['QEMU']
    compute_url = catalog['compute'][0]['url']
    version = sess.get(compute_url, authenticated=True).json()['version']
    max_microversion = version.get('version') or 'latest'

    net = {'service_type': 'network'}
    extensions = sorted(e['alias'] for e in sess.get(
        '/v2.0/extensions', endpoint_filter=net).json()['extensions'])
    agents = {a['agent_type'] for a in sess.get(
        '/v2.0/agents', endpoint_filter=net).json()['agents'] if a['alive']}
    external = sess.get('/v2.0/networks?router:external=True',
                        endpoint_filter=net).json()['networks']
    roles = {r['name'] for r in sess.get(
        '/roles', endpoint_filter={'service_type': 'identity'}).json()['roles']}

    etc = args.etc
    nova_conf = read_ini(os.path.join(etc, 'nova', 'nova.conf'))
    cpu_conf = read_ini(os.path.join(etc, 'nova', 'nova-cpu.conf'))
    filters = nova_conf.get('filter_scheduler', 'enabled_filters', fallback='').split(',')
    filters = [f.strip() for f in filters if f.strip()]
    vnc = ini_bool(cpu_conf, 'vnc', 'enabled', True)
    spice = ini_bool(cpu_conf, 'spice', 'enabled', False)
    serial = ini_bool(cpu_conf, 'serial_console', 'enabled', False)
    mkisofs = cpu_conf.get('DEFAULT', 'mkisofs_cmd', fallback='genisoimage')
    password = ini_bool(nova_conf, 'DEFAULT', 'enable_instance_password', True)

    def new_defaults(path):
        # oslo.policy enforces the new defaults and scope unless the service says not
        return ini_bool(read_ini(path), 'oslo_policy', 'enforce_new_defaults', True)

    has = {
        'cinder': any(k in catalog for k in ('volumev3', 'block-storage', 'volume')),
        'swift': 'object-store' in catalog,
        'barbican': 'key-manager' in catalog,
        'metadata': 'Metadata agent' in agents,
        'l3': 'L3 agent' in agents,
    }

    c = Conf()
    ws = args.workspace
    c.set('DEFAULT', 'log_dir', os.path.join(ws, 'logs'))
    c.set('DEFAULT', 'log_file', 'tempest.log')
    c.set('oslo_concurrency', 'lock_path', os.path.join(ws, 'tempest_lock'))

    c.set('auth', 'use_dynamic_credentials', True,
          'each test class gets its own project, users and network')
    c.set('auth', 'admin_username', 'admin')
    c.set('auth', 'admin_password', args.password)
    c.set('auth', 'admin_project_name', 'admin')
    c.set('auth', 'admin_domain_name', 'Default')
    c.set('auth', 'default_credentials_domain_name', 'Default')
    c.set('auth', 'create_isolated_networks', True)

    c.set('identity', 'uri_v3', KEYSTONE)
    c.set('identity', 'auth_version', 'v3')
    c.set('identity', 'region', region)
    c.set('identity', 'v3_endpoint_type', 'public')
    c.set('identity', 'default_domain_id', 'default')
    c.feature('identity-feature-enabled', 'api_v2', False,
              'Keystone has no v2.0 API (removed upstream)')
    c.set('identity-feature-enabled', 'api_v3', True)

    c.set('compute', 'image_ref', image['id'], 'the test guest: %s' % image['name'])
    c.set('compute', 'image_ref_alt', image['id'], 'one test image: rebuild to the same one')
    c.set('compute', 'flavor_ref', flavors[FLAVOR], FLAVOR)
    c.set('compute', 'flavor_ref_alt', flavors[FLAVOR_ALT],
          '%s: bigger than %s, what resize goes to' % (FLAVOR_ALT, FLAVOR))
    c.set('compute', 'min_compute_nodes', len(computes),
          'compute hosts up: %s' % ', '.join(sorted(s.host for s in computes)))
    c.set('compute', 'region', region)
    c.set('compute', 'endpoint_type', 'publicURL')
    c.set('compute', 'hypervisor_type', hypervisor_types[0])
    c.set('compute', 'min_microversion', '2.1')
    c.set('compute', 'max_microversion', max_microversion, "nova-api's newest")
    c.set('compute', 'build_timeout', 600,
          'guests run under TCG on 2 cores; disks cross hosts by block migration or SSH')

    f = 'compute-feature-enabled'
    c.feature(f, 'live_migration', True, '')
    c.set(f, 'block_migration_for_live_migration', True,
          'the two hosts share no storage: live migration copies the disks')
    c.feature(f, 'cold_migration', True, '')
    c.feature(f, 'resize', True, '')
    c.feature(f, 'can_migrate_between_any_hosts', True, '')
    c.feature(f, 'live_migrate_back_and_forth', False,
              'both hosts run the same nova-compute (the flag is for a mixed-version cloud)')
    c.feature(f, 'shelve', True, '')
    c.feature(f, 'shelve_migrate', True, '')
    c.feature(f, 'pause', True, '')
    c.feature(f, 'suspend', True, '')
    c.feature(f, 'rescue', True, '')
    c.feature(f, 'stable_rescue', True, '')
    c.feature(f, 'snapshot', True, '')
    c.feature(f, 'interface_attach', True, '')
    c.feature(f, 'disk_config', True, '')
    c.feature(f, 'personality', True, '')
    c.feature(f, 'ide_bus', True, '')
    c.feature(f, 'hostname_fqdn_sanitization', True, '')
    c.feature(f, 'console_output', True, '')
    c.feature(f, 'config_drive', shutil.which(mkisofs) is not None,
              'no %s on the compute hosts to build a config drive' % mkisofs)
    c.feature(f, 'metadata_service', has['metadata'],
              'no metadata service (no nova-metadata API, no Neutron metadata agent)')
    c.feature(f, 'enable_instance_password', password,
              "nova.conf [DEFAULT] enable_instance_password = false")
    c.feature(f, 'change_password', False,
              'no guest agent in the test guest (hw_qemu_guest_agent=no) to set a password')
    c.feature(f, 'vnc_console', vnc, 'no VNC console ([vnc] enabled = false on the hosts)')
    c.feature(f, 'spice_console', spice, 'no SPICE console ([spice] enabled is off)')
    c.feature(f, 'serial_console', serial,
              'no serial console proxy ([serial_console] enabled is off)')
    c.feature(f, 'attach_encrypted_volume', has['cinder'], NO_CINDER)
    c.feature(f, 'swap_volume', has['cinder'], NO_CINDER)
    c.feature(f, 'volume_backed_live_migration', has['cinder'], NO_CINDER)
    c.feature(f, 'volume_multiattach', has['cinder'], NO_CINDER)
    c.feature(f, 'vtpm_live_migration', has['barbican'],
              'no Barbican (key manager) for vTPM secrets')
    c.feature(f, 'unified_limits', False,
              "Nova counts quotas with its legacy driver (no unified limits in Keystone)")
    c.set(f, 'scheduler_enabled_filters', filters, "nova.conf [filter_scheduler] enabled_filters")
    c.set(f, 'nova_policy_roles', [r for r in NOVA_POLICY_ROLES if r in roles],
          "the Nova policy roles that Keystone has")

    c.set('image', 'region', region)
    c.set('image-feature-enabled', 'api_v2', True)

    c.set('network', 'region', region)
    c.set('network', 'project_networks_reachable', False,
          "tenant networks are VLANs of the hosts' physnet1, no route to them from here")
    c.set('network', 'public_network_id', external[0]['id'] if external else '')
    n = 'network-feature-enabled'
    c.set(n, 'api_extensions', extensions, "Neutron's extensions")
    c.feature(n, 'floating_ips', bool(external) and has['l3'],
              'no floating IPs (no external network, no L3 agent)')
    c.feature(n, 'port_security', 'port-security' in extensions,
              'no port-security extension in Neutron')

    c.set('validation', 'run_validation', False,
          'no floating IPs to reach the guests, and the test guest has no SSH server')

    c.set('service_available', 'nova', True)
    c.set('service_available', 'glance', True)
    c.set('service_available', 'neutron', True)
    c.feature('service_available', 'cinder', has['cinder'], NO_CINDER)
    c.feature('service_available', 'swift', has['swift'],
              'no Swift in the test cloud (no object storage)')
    c.feature('service_available', 'horizon', False, 'no Horizon in the test cloud')

    scope = {
        'nova': os.path.join(etc, 'nova', 'nova.conf'),
        'neutron': os.path.join(etc, 'neutron', 'neutron.conf'),
        'glance': os.path.join(etc, 'glance', 'glance-api.conf'),
        'keystone': os.path.join(etc, 'keystone', 'keystone.conf'),
        'placement': os.path.join(etc, 'placement', 'placement.conf'),
    }
    for service, path in scope.items():
        c.feature('enforce_scope', service, new_defaults(path),
                  '%s sets [oslo_policy] enforce_new_defaults = false' % service)
    c.feature('enforce_scope', 'cinder', has['cinder'], NO_CINDER)

    header = ('Tempest for the all-in-one test cloud, written by tools/cloud/tempest_conf.py\n'
              'from the live cloud at %s: rewritten on each tools/cloud/tempest.sh run.'
              % datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as out:
        out.write(c.text(header))
    os.replace(tmp, args.out)
    print('tempest_conf: image %s, flavors %s/%s, %d compute hosts, microversion <= %s'
          % (image['name'], FLAVOR, FLAVOR_ALT, len(computes), max_microversion),
          file=sys.stderr)


if __name__ == '__main__':
    main()
