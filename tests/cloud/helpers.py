"""What the cloud tests share: the tenant's and admin's API clients, the
``openstack`` CLI, a look into both compute hosts (their libvirtds, QEMU
processes, instance directories, the link between them) and the check
that a clone, failed or not, left nothing behind.

The test cloud is the one of tools/cloud/ (see its README): two compute
hosts, ``pwn-host1`` (network namespace ``pwnetizer``, the machine's
libvirtd) and ``pwn-host2`` (network namespace ``pwnhost2`` and a mount
namespace of its own), joined by the veth pair ``pwnlink2`` /
``pwnlink2p`` that carries a cross-host clone's libvirt connection,
migration and NBD streams.
"""

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import time

from keystoneauth1 import adapter
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import libvirt
import libvirt_qemu
import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ETC = os.environ.get('PWN_CLOUD_ETC', '/etc/pwnetizer-cloud')
KEYSTONE = 'http://127.0.0.1:5000/v3'
PASSWORD = os.environ.get('PWN_CLOUD_PASSWORD', 'pwnetizer')
MICROVERSION = '2.84'      # events for non-admins, networks "none"
FLAVOR = 'pwn.tiny'
NETWORK = 'pwn-net'
TICK = re.compile(r'TICK mem=(\d+) rec=(\d+)')
LOG_DIR = os.environ.get('PWN_CLOUD_LOG', '/var/log/pwnetizer-cloud')

#: figures the tests measure, printed in pytest's summary (conftest.py)
FIGURES = {}


def _ignore_libvirt_error(_ctx, _err):
    """libvirt prints every error to stderr unless a handler is set."""


libvirt.registerErrorHandler(_ignore_libvirt_error, None)


class ComputeHost:
    """One compute host of the test cloud, seen from this (root) process."""

    def __init__(self, name, uri, netns, instances, link):
        self.name = name
        self.uri = uri
        self.netns = netns
        self.instances = instances  # its Nova instances_path, from here
        self.link = link            # its end of the veth pair to the other host

    def __repr__(self):
        return self.name

    @contextlib.contextmanager
    def libvirt(self):
        conn = libvirt.open(self.uri)
        try:
            yield conn
        finally:
            conn.close()

    def domain_uuids(self):
        """UUIDs of every domain this host's libvirtd knows (running or defined)."""
        with self.libvirt() as conn:
            return {d.UUIDString() for d in conn.listAllDomains(0)}

    def qmp(self, uuid, command, **arguments):
        """Run one QMP command in domain ``uuid``; its 'return' value."""
        request = {'execute': command}
        if arguments:
            request['arguments'] = arguments
        with self.libvirt() as conn:
            dom = conn.lookupByUUIDString(uuid)
            reply = json.loads(libvirt_qemu.qemuMonitorCommand(dom, json.dumps(request), 0))
        assert 'error' not in reply, (command, reply)
        return reply.get('return')

    def state(self, uuid):
        """libvirt's state of domain ``uuid``: 'running', 'paused', ..."""
        names = {libvirt.VIR_DOMAIN_RUNNING: 'running', libvirt.VIR_DOMAIN_PAUSED: 'paused',
                 libvirt.VIR_DOMAIN_SHUTOFF: 'shutoff', libvirt.VIR_DOMAIN_CRASHED: 'crashed'}
        with self.libvirt() as conn:
            return names.get(conn.lookupByUUIDString(uuid).state()[0], 'other')

    def files_of(self, uuid):
        """Paths under the instances directory that belong to ``uuid``."""
        found = []
        for root, dirs, files in os.walk(self.instances):
            found += [os.path.join(root, n) for n in dirs + files if uuid in n]
        return sorted(found)

    def ns(self, *argv, check=True):
        """Run a command in this host's network namespace; its stdout."""
        done = subprocess.run(['ip', 'netns', 'exec', self.netns] + list(argv),
                              capture_output=True, text=True, timeout=60)
        if check:
            assert done.returncode == 0, (argv, done.stderr)
        return done.stdout

    def tcp_sockets(self, pids):
        """TCP sockets of processes ``pids`` in this host's network
        namespace, as lines of ``ss`` (for a QEMU: a migration or NBD
        stream, an NBD server)."""
        marks = ['pid=%d,' % pid for pid in pids]
        return [line for line in self.ns('ss', '-Htanp').splitlines()
                if any(mark in line for mark in marks)]


HOST1 = ComputeHost('pwn-host1', 'qemu:///system', 'pwnetizer',
                    '/var/lib/pwnetizer-cloud/instances', 'pwnlink2')
HOST2 = ComputeHost('pwn-host2',
                    'qemu+unix:///system?socket=/var/lib/pwnetizer/host2/run/libvirt-sock',
                    'pwnhost2', '/var/lib/pwnetizer-cloud/host2-instances', 'pwnlink2p')
HOSTS = {h.name: h for h in (HOST1, HOST2)}


def other_host(host):
    return HOST2 if host is HOST1 else HOST1


def _pids_with(match):
    """Pids of the processes whose argv (a list of bytes) ``match`` accepts."""
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if match(argv):
            pids.append(int(pid))
    return pids


def qemu_pids(uuid):
    """Pids of the QEMU processes running domain ``uuid`` (any host)."""
    return _pids_with(lambda argv: argv and b'qemu-system' in argv[0]
                      and uuid.encode() in argv)


def guardian_pids(clone_name):
    """Pids of the engine's guardian processes (guardian.py) of a clone."""
    return _pids_with(lambda argv: b'--clone' in argv and clone_name.encode() in argv
                      and any(b'engine import guardian' in a for a in argv))


def _session(user, project):
    return ks_session.Session(auth=v3.Password(
        auth_url=KEYSTONE, username=user, password=PASSWORD, project_name=project,
        user_domain_name='Default', project_domain_name='Default'))


class Cloud:
    def __init__(self):
        self.demo_session = _session('demo', 'demo')
        self.admin_session = _session('admin', 'admin')
        self.compute = adapter.Adapter(self.demo_session, service_type='compute',
                                       default_microversion=MICROVERSION,
                                       raise_exc=False)
        self.admin = adapter.Adapter(self.admin_session, service_type='compute',
                                     default_microversion=MICROVERSION, raise_exc=False)
        self.alt = adapter.Adapter(_session('alt', 'alt'), service_type='compute',
                                   default_microversion=MICROVERSION, raise_exc=False)
        self.image = adapter.Adapter(self.demo_session, service_type='image',
                                     raise_exc=False)
        self.placement = adapter.Adapter(self.admin_session, service_type='placement',
                                         default_microversion='1.28', raise_exc=False)
        self.network = adapter.Adapter(self.admin_session, service_type='network',
                                       raise_exc=False)

    # -- helpers -----------------------------------------------------------

    def ok(self, response, *codes):
        assert response.status_code in (codes or (200,)), (
            '%s %s: %s %s' % (response.request.method, response.request.url,
                              response.status_code, response.text[:2000]))
        return response.json() if response.content else None

    def server(self, server_id, admin=False):
        api = self.admin if admin else self.compute
        response = api.get('/servers/%s' % server_id)
        if response.status_code == 404:
            return None
        return self.ok(response)['server']

    def host_of(self, server_id):
        """The ComputeHost a server runs on."""
        return HOSTS[self.server(server_id, admin=True)['OS-EXT-SRV-ATTR:host']]

    def wait_status(self, server_ids, status='ACTIVE', timeout=600):
        deadline = time.monotonic() + timeout
        pending = list(server_ids)
        while pending:
            for server_id in list(pending):
                server = self.server(server_id)
                if server['status'] == status:
                    pending.remove(server_id)
                elif server['status'] == 'ERROR':
                    pytest.fail('server %s went to ERROR: %s' % (
                        server_id, json.dumps(server.get('fault'), indent=1)))
            if pending and time.monotonic() > deadline:
                pytest.fail('servers %s not %s within %d s' % (pending, status, timeout))
            if pending:
                time.sleep(1)

    def wait_gone(self, server_id, timeout=300):
        deadline = time.monotonic() + timeout
        while self.server(server_id) is not None:
            assert time.monotonic() < deadline, 'server %s not deleted' % server_id
            time.sleep(1)

    def console(self, server_id):
        response = self.compute.post('/servers/%s/action' % server_id,
                                     json={'os-getConsoleOutput': {}})
        return self.ok(response)['output']

    def ticks(self, server_id):
        return [(int(m), int(r)) for m, r in TICK.findall(self.console(server_id))]

    def wait_ticks(self, server_id, count, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            ticks = self.ticks(server_id)
            if len(ticks) >= count:
                return ticks
            assert time.monotonic() < deadline, (
                'no %d ticks on the console of %s within %d s:\n%s'
                % (count, server_id, timeout, self.console(server_id)[-3000:]))
            time.sleep(1)

    def image_id(self):
        images = self.ok(self.image.get('/v2/images?limit=100'))['images']
        ours = [i for i in images if i.get('pwnetizer_testguest') == '1'
                and i['status'] == 'active']
        assert ours, 'the test guest image is not in Glance'
        return ours[0]['id']

    def flavor_id(self):
        flavors = self.ok(self.compute.get('/flavors'))['flavors']
        return next(f['id'] for f in flavors if f['name'] == FLAVOR)

    def tenant_network_id(self):
        """The demo project's network (tools/cloud/bootstrap.py)."""
        found = self.ok(self.network.get('/v2.0/networks?name=%s&project_id=%s' % (
            NETWORK, self.demo_session.get_project_id())))['networks']
        assert found, 'the tenant network %s is missing' % NETWORK
        return found[0]['id']

    def ports_of(self, server_id):
        return self.ok(self.network.get('/v2.0/ports?device_id=%s' % server_id))['ports']

    def boot(self, name, servers, network=False, security_group=None):
        """A running test guest of the tenant, ticking; its server dict.
        With ``network``, on the tenant network (a port, in
        ``security_group`` if given), else without NIC."""
        body = {'server': {'name': name, 'imageRef': self.image_id(),
                           'flavorRef': self.flavor_id(),
                           'networks': [{'uuid': self.tenant_network_id()}]
                           if network else 'none'}}
        if security_group:
            body['server']['security_groups'] = [{'name': security_group}]
        server = self.ok(self.compute.post('/servers', json=body), 202)['server']
        servers.append(server['id'])
        self.wait_status([server['id']])
        return self.server(server['id'])

    def clone(self, source_id, **request):
        """POST the clone action as the tenant; the new servers' ids."""
        body = {'clone': dict({'count': 1, 'placement': 'spread'}, **request)}
        reply = self.ok(self.compute.post('/servers/%s/action' % source_id, json=body), 202)
        return [s['id'] for s in reply['clone']['servers']]

    def allocations(self, consumer):
        return self.ok(self.placement.get('/allocations/%s' % consumer))['allocations']

    def clones_of(self, source_id):
        found = self.ok(self.compute.get('/servers/detail'))['servers']
        return sorted((s for s in found
                       if (s.get('metadata') or {}).get('pwnetizer_source') == source_id),
                      key=lambda s: s['name'])


class ServiceLog:
    """What a cloud service logs from now on (its file in LOG_DIR)."""

    def __init__(self, service):
        self.path = os.path.join(LOG_DIR, service + '.log')
        self.offset = os.path.getsize(self.path)

    def new_lines(self):
        with open(self.path, errors='replace') as f:
            f.seek(self.offset)
            return f.read().splitlines()


def compute_log(host):
    """The log of the compute service of ``host`` ('pwn-host1': nova-compute-1)."""
    return ServiceLog('nova-compute-' + host.rpartition('host')[2])


def pause_window(clone):
    """(paused at, resumed at), epoch seconds, of the server that ``clone``
    (a server dict) was made from, as the clone's metadata records it."""
    meta = clone['metadata']
    paused_at = float(meta['pwnetizer_paused_at'])
    return paused_at, paused_at + float(meta['pwnetizer_pause_ms']) / 1000


class TenantNetwork:
    """The tenant's view of Neutron, and the host's way into the network."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.api = adapter.Adapter(cloud.demo_session, service_type='network',
                                   raise_exc=False)
        found = cloud.ok(self.api.get('/v2.0/networks?name=%s' % NETWORK))['networks']
        assert found, 'the tenant network %s is missing (tools/cloud/bootstrap.py)' % NETWORK
        self.id = found[0]['id']
        self.netns = 'qdhcp-' + self.id

    def ports(self, server_id, admin=False):
        if admin:
            return self.cloud.ports_of(server_id)
        return self.cloud.ok(self.api.get('/v2.0/ports?device_id=%s' % server_id))['ports']

    def port(self, server_id, admin=False):
        ports = self.ports(server_id, admin)
        assert len(ports) == 1, ports
        return ports[0]

    def security_group(self, name):
        made = self.cloud.ok(self.api.post('/v2.0/security-groups', json={
            'security_group': {'name': name}}), 201)['security_group']
        # only the default egress rules: nothing may come in
        return made['id']

    def allow(self, group_id, protocol, port=None):
        rule = {'security_group_id': group_id, 'direction': 'ingress',
                'ethertype': 'IPv4', 'protocol': protocol}
        if port:
            rule.update(port_range_min=port, port_range_max=port)
        self.cloud.ok(self.api.post('/v2.0/security-group-rules',
                                    json={'security_group_rule': rule}), 201)

    def delete_security_group(self, group_id):
        self.api.delete('/v2.0/security-groups/%s' % group_id)

    def run(self, *argv, timeout=30):
        """A command in the DHCP namespace (on the tenant network)."""
        return subprocess.run(['ip', 'netns', 'exec', self.netns] + list(argv),
                              capture_output=True, text=True, timeout=timeout)

    def answers_ping(self, ip, count=3):
        done = self.run('ping', '-n', '-c', str(count), '-i', '0.3', '-W', '1', ip)
        return done.returncode == 0

    def wait_ping(self, ip, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.answers_ping(ip, count=1):
            assert time.monotonic() < deadline, '%s does not answer pings' % ip
            time.sleep(1)

    def http(self, ip):
        done = self.run('curl', '-s', '-m', '5', 'http://%s/' % ip)
        return done.stdout if done.returncode == 0 else None


def openstack(*args, cloud='pwn-demo', check=True):
    """The ``openstack`` CLI (with the project's plugin) as a tenant."""
    cli = shutil.which('openstack', path=os.path.join(TOP, '.venv', 'bin'))
    assert cli, 'openstack is not installed in .venv'
    env = dict(os.environ, OS_CLOUD=cloud,
               OS_CLIENT_CONFIG_FILE=os.path.join(ETC, 'clouds.yaml'))
    done = subprocess.run([cli] + list(args), env=env, capture_output=True, text=True,
                          timeout=900)
    print('openstack %s: rc %d\n%s%s' % (' '.join(args), done.returncode, done.stdout,
                                         done.stderr[-3000:]))
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


# -- what a clone may leave behind ----------------------------------------

def source_leftovers(host, uuid):
    """What a clone job left on the running source ``uuid`` on ``host``."""
    found = []
    state = host.state(uuid)
    if state != 'running':
        found.append('source %s is %s on %s, not running' % (uuid, state, host))
    jobs = host.qmp(uuid, 'query-block-jobs')
    if jobs:
        found.append('block jobs on the source: %s' % [
            (j['device'], j.get('status')) for j in jobs])
    nodes = [n['node-name'] for n in host.qmp(uuid, 'query-named-block-nodes', flat=True)
             if n.get('drv') == 'nbd' or (n.get('node-name') or '').startswith('pwn-')]
    if nodes:
        found.append('NBD block nodes on the source: %s' % nodes)
    exports = host.qmp(uuid, 'query-block-exports')
    if exports:
        found.append('block exports on the source: %s' % [e['id'] for e in exports])
    status = host.qmp(uuid, 'query-migrate').get('status')
    if status not in (None, 'completed', 'failed', 'cancelled'):
        found.append('migration of the source is %s' % status)
    caps = {c['capability']: c['state']
            for c in host.qmp(uuid, 'query-migrate-capabilities')}
    if caps.get('pause-before-switchover'):
        found.append('pause-before-switchover left on in the source')
    return found


def leaks(cloud, sources=(), clones=(), allocations=True):
    """Everything the clones (server ids) left behind, and what their runs
    left on the running ``sources`` (server ids); [] when nothing.

    Checks both hosts: a domain or a file of a clone, a QEMU process or a
    guardian of one; on each source: paused, a block job, an NBD node or
    export, a migration, the engine's capability; a QEMU holding a TCP
    socket (a stream or NBD server); a failed or deleted clone's Neutron
    ports; and with ``allocations`` the clones' Placement allocations.
    Call it once the clones are ACTIVE, ERROR or deleted.
    """
    found = []
    for host in HOSTS.values():
        uuids = host.domain_uuids()
        for clone in clones:
            if clone in uuids and (cloud.server(clone, admin=True) or {}).get(
                    'OS-EXT-SRV-ATTR:host') != host.name:
                found.append('domain of clone %s on %s' % (clone, host))
            files = host.files_of(clone)
            if files and (cloud.server(clone, admin=True) or {}).get(
                    'status') != 'ACTIVE':
                found.append('files of clone %s on %s: %s' % (clone, host, files))
        sockets = host.tcp_sockets([pid for uuid in list(sources) + list(clones)
                                    for pid in qemu_pids(uuid)])
        if sockets:
            found.append('TCP sockets of their QEMUs on %s: %s' % (host, sockets))
    for clone in clones:
        server = cloud.server(clone, admin=True)
        if server is None or server['status'] != 'ACTIVE':
            if qemu_pids(clone):
                found.append('QEMU of clone %s still runs: pids %s' % (clone, qemu_pids(clone)))
            if allocations and cloud.allocations(clone):
                found.append('Placement allocation of clone %s: %s'
                             % (clone, cloud.allocations(clone)))
            ports = cloud.ports_of(clone)
            if ports:
                found.append('Neutron ports of clone %s: %s' % (
                    clone, [(p['id'], p['status']) for p in ports]))
        if server is not None and server.get('OS-EXT-SRV-ATTR:instance_name'):
            pids = guardian_pids(server['OS-EXT-SRV-ATTR:instance_name'])
            if pids:
                found.append('guardian of clone %s still runs: pids %s' % (clone, pids))
    for source in sources:
        found += source_leftovers(cloud.host_of(source), source)
    return found


def assert_no_leaks(cloud, sources=(), clones=(), allocations=True, timeout=0):
    """Fail with the list of leftovers; wait up to ``timeout`` s for them to go."""
    deadline = time.monotonic() + timeout
    while True:
        found = leaks(cloud, sources, clones, allocations)
        if not found or time.monotonic() >= deadline:
            break
        time.sleep(2)
    assert not found, 'left behind:\n  ' + '\n  '.join(found)


def wait_copy_under_way(host, source_id, clone_id, timeout=300, moved=4 << 20):
    """Wait until the clone's QEMU runs and the source's memory copy into it
    has sent ``moved`` bytes; return the migration status."""
    deadline = time.monotonic() + timeout
    seen_active = False
    while True:
        status = host.qmp(source_id, 'query-migrate')
        sent = (status.get('ram') or {}).get('transferred', 0)
        if status.get('status') == 'active':
            seen_active = True
            if sent >= moved and qemu_pids(clone_id):
                return status
        assert not (seen_active and status.get('status') != 'active'), (
            'the memory copy ended before the fault could be injected: %s' % status)
        assert time.monotonic() < deadline, (
            'the copy into clone %s did not get under way within %d s' % (clone_id, timeout))
        time.sleep(0.05)


@contextlib.contextmanager
def slow_link(host, rate='16mbit'):
    """Shape what ``host`` (the source's) sends over the link (the memory and
    disk copies) to ``rate``, so that a clone's copy lasts long enough for a
    fault to hit it in the middle (a 256 MiB guest: about 45 s at 16 Mbit/s,
    under a second unshaped)."""
    host.ns('tc', 'qdisc', 'replace', 'dev', host.link, 'root', 'tbf', 'rate', rate,
            'burst', '64kbit', 'latency', '400ms')
    try:
        yield
    finally:
        unshape_link()


def unshape_link():
    for host in HOSTS.values():
        host.ns('tc', 'qdisc', 'del', 'dev', host.link, 'root', check=False)


def set_link(up):
    """Take the link between the hosts down (host1's end) or up (both ends)."""
    for host in (HOST1, HOST2) if up else (HOST1,):
        host.ns('ip', 'link', 'set', host.link, 'up' if up else 'down')


ERROR_TIMEOUT_S = 180   # fault -> clone in ERROR, at most


def boot_ticking_source(cloud, servers, name):
    """A ticking source on the tenant network (so its clones get ports,
    which a failed clone must not keep); its id, host and first ticks."""
    source = cloud.boot(name, servers, network=True)
    return source['id'], cloud.host_of(source['id']), cloud.wait_ticks(source['id'], 5)


def wait_error(cloud, clone_id, timeout=ERROR_TIMEOUT_S, while_waiting=None):
    """Wait until the clone is in ERROR; return its server dict."""
    deadline = time.monotonic() + timeout
    while True:
        if while_waiting is not None:
            while_waiting()
        server = cloud.server(clone_id)
        assert server['status'] != 'ACTIVE', 'the clone became ACTIVE despite the fault'
        if server['status'] == 'ERROR':
            return server
        assert time.monotonic() < deadline, (
            'clone %s not in ERROR within %d s of the fault: %s'
            % (clone_id, timeout, server['status']))
        time.sleep(0.5)


def clone_again(cloud, source_id, host, label):
    """The source's lease was released: the next clone of it works."""
    start = time.monotonic()
    clone_id = cloud.clone(source_id)[0]
    cloud.wait_status([clone_id], timeout=300)
    FIGURES['%s: next clone ACTIVE (s)' % label] = round(time.monotonic() - start, 1)
    assert cloud.host_of(clone_id) is other_host(host)
    cloud.wait_ticks(clone_id, 3)
    assert 'PWN BOOT' not in cloud.console(clone_id)
    assert_no_leaks(cloud, sources=[source_id], clones=[clone_id])


def service_pid(name):
    with open('/run/pwnetizer-cloud/%s.pid' % name) as f:
        return int(f.read())


#: how long a source may stay paused at a switch-over its target left:
#: 2 * [pwnetizer] switchover_timeout + the source watchdog's grace
SWITCHOVER_BOUND_S = 2 * 10 + 5


def wait_switchover_pause(host, source_id, timeout=120):
    """Wait until the source waits, paused, at its switch-over (QEMU's
    pre-switchover); return when (monotonic)."""
    deadline = time.monotonic() + timeout
    while host.state(source_id) != 'paused':
        assert time.monotonic() < deadline, 'the source never reached the switch-over'
        time.sleep(0.1)
    paused = time.monotonic()
    assert host.qmp(source_id, 'query-migrate').get('status') == 'pre-switchover'
    return paused


def wait_resumed(host, source_id, paused):
    """Wait until the source paused since ``paused`` runs again, within the
    watchdog's bound (and some slack); return how long it was paused (s)."""
    while host.state(source_id) == 'paused':
        assert time.monotonic() - paused < SWITCHOVER_BOUND_S + 15, (
            'the source is still paused %d s after the switch-over began'
            % (time.monotonic() - paused))
        time.sleep(0.1)
    return round(time.monotonic() - paused, 1)


def cloud_image(cloud, prop, value):
    """The active Glance image with ``prop`` = ``value``."""
    images = cloud.ok(cloud.image.get('/v2/images?limit=100'))['images']
    found = [i for i in images if i.get(prop) == value and i['status'] == 'active']
    assert found, 'no image with %s=%s in Glance' % (prop, value)
    return found[0]


def agent(domain, command, **arguments):
    """One QEMU guest agent command on a libvirt ``domain``; its return."""
    request = {'execute': command}
    if arguments:
        request['arguments'] = arguments
    return json.loads(libvirt_qemu.qemuAgentCommand(domain, json.dumps(request), 30, 0))['return']


def agent_exec(domain, *argv):
    """Run ``argv`` in the guest through QEMU's guest agent; its stdout."""
    pid = agent(domain, 'guest-exec', path=argv[0], arg=list(argv[1:]),
                **{'capture-output': True})['pid']
    deadline = time.monotonic() + 60
    while True:
        status = agent(domain, 'guest-exec-status', pid=pid)
        if status['exited']:
            assert status['exitcode'] == 0, (argv, status)
            return base64.b64decode(status.get('out-data', '')).decode()
        assert time.monotonic() < deadline, ('%s did not end' % (argv,))
        time.sleep(0.5)


def wait_http(net, ip, timeout, every=3):
    """The JSON of the first HTTP answer of ``ip`` within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        body = net.http(ip)
        if body:
            return json.loads(body)
        assert time.monotonic() < deadline, '%s: no HTTP answer within %d s' % (ip, timeout)
        time.sleep(every)


def action(api, server_id, body, cloud):
    """POST a server action as ``api`` (the tenant's or admin's)."""
    cloud.ok(api.post('/servers/%s/action' % server_id, json=body), 202, 204)


def wait_moved(cloud, server_id, from_host, status='ACTIVE', timeout=600):
    """Wait until the server has left ``from_host`` and is in ``status``;
    fail at once if its migration failed."""
    deadline = time.monotonic() + timeout
    while True:
        server = cloud.server(server_id, admin=True)
        moved = server['OS-EXT-SRV-ATTR:host'] != from_host
        if moved and server['status'] == status and not server['OS-EXT-STS:task_state']:
            return server
        if server['status'] == 'ERROR':
            pytest.fail('server %s went to ERROR: %s' % (server_id, server.get('fault')))
        migrations = cloud.ok(cloud.admin.get(
            '/os-migrations?instance_uuid=%s' % server_id,
            headers={'OpenStack-API-Version': 'compute 2.59'}))['migrations']
        failed = [m for m in migrations if m['status'] in ('error', 'failed')]
        assert not failed, 'migration of %s failed: %s' % (server_id, failed)
        assert time.monotonic() < deadline, (
            'server %s did not move from %s within %d s: %s, task %s' % (
                server_id, from_host, timeout, server['status'],
                server['OS-EXT-STS:task_state']))
        time.sleep(1)


def live_migrate(cloud, server_id):
    """Live-migrate (block migration: no shared storage) to the other host;
    (seconds taken, new host)."""
    before = cloud.host_of(server_id).name
    start = time.monotonic()
    action(cloud.admin, server_id, {'os-migrateLive': {
        'host': None, 'block_migration': 'auto'}}, cloud)
    server = wait_moved(cloud, server_id, before)
    return time.monotonic() - start, server['OS-EXT-SRV-ATTR:host']


DEBIAN_FLAVOR = 'pwn.debian'
DEBIAN_BOOT_TIMEOUT_S = 600    # TCG: cloud-init's Python alone takes a minute or two


def boot_debian(cloud, net, servers, name, group):
    """A server of the Debian 12 cloud image with a config drive, on the
    tenant network in security group ``group``, its HTTP service up; its
    id, address and first HTTP answer."""
    flavors = cloud.ok(cloud.compute.get('/flavors'))['flavors']
    body = {'server': {
        'name': name, 'config_drive': True,
        'imageRef': cloud_image(cloud, 'pwnetizer_cloudimage', 'debian12')['id'],
        'flavorRef': next(f['id'] for f in flavors if f['name'] == DEBIAN_FLAVOR),
        'networks': [{'uuid': net.id}], 'security_groups': [{'name': group}]}}
    server = cloud.ok(cloud.compute.post('/servers', json=body), 202)['server']
    servers.append(server['id'])
    cloud.wait_status([server['id']])
    ip = net.port(server['id'])['fixed_ips'][0]['ip_address']
    return server['id'], ip, wait_http(net, ip, DEBIAN_BOOT_TIMEOUT_S)


def delete_servers(cloud, server_ids):
    """Delete ``server_ids`` and every clone made of them (also one the API
    made but did not return), and wait until they are gone."""
    for server_id in list(server_ids):
        server_ids += [c['id'] for c in cloud.clones_of(server_id) if c['id'] not in server_ids]
    for server_id in server_ids:
        cloud.compute.delete('/servers/%s' % server_id)
    for server_id in server_ids:
        cloud.wait_gone(server_id, timeout=180)
