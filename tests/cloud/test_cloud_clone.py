"""End to end through a real OpenStack cloud: a tenant clones a running
server live across two compute hosts.

The cloud is the all-in-one test cloud of tools/cloud/ (Keystone,
Placement, Glance, Nova with the pwnetizer driver on two compute hosts,
each with its own libvirtd and network namespace, guests under TCG).  The
fixture brings it up with tools/cloud/up.sh (minutes the first time: it
installs the services into /opt/pwnetizer-cloud/venv) and, unless
PWN_CLOUD_KEEP=1, takes it down at the end.

Needs root and the host of tools/setup-host.sh (tools/run-tests.sh runs
it with the rest; about 3 minutes, more the first time):

    .venv/bin/python -m pytest -s tests/cloud

The clones are asked for as a tenant does, with ``openstack server clone
--count 2 --wait`` (the project's openstackclient plugin).
"""

import json
import os
import re
import shutil
import subprocess
import time

from keystoneauth1 import adapter
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ETC = os.environ.get('PWN_CLOUD_ETC', '/etc/pwnetizer-cloud')
KEYSTONE = 'http://127.0.0.1:5000/v3'
PASSWORD = os.environ.get('PWN_CLOUD_PASSWORD', 'pwnetizer')
MICROVERSION = '2.84'      # events for non-admins, networks "none"
FLAVOR = 'pwn.tiny'
TICK = re.compile(r'TICK mem=(\d+) rec=(\d+)')

FIGURES = {}


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


@pytest.fixture(scope='module')
def cloud():
    start = time.monotonic()
    subprocess.run([os.path.join(TOP, 'tools', 'cloud', 'up.sh')], check=True)
    FIGURES['cloud up (s)'] = round(time.monotonic() - start, 1)
    yield Cloud()
    if os.environ.get('PWN_CLOUD_KEEP') != '1':
        subprocess.run([os.path.join(TOP, 'tools', 'cloud', 'down.sh')], check=False)


@pytest.fixture
def servers(cloud):
    """Server ids to delete at the end (and every clone of them)."""
    made = []
    yield made
    for server_id in made:
        cloud.compute.delete('/servers/%s' % server_id)
    for server_id in made:
        try:
            cloud.wait_gone(server_id, timeout=180)
        except AssertionError:
            pass


def _clones_of(cloud, source_id):
    found = cloud.ok(cloud.compute.get('/servers/detail'))['servers']
    return sorted((s for s in found
                   if (s.get('metadata') or {}).get('pwnetizer_source') == source_id),
                  key=lambda s: s['name'])


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


def test_clone_across_hosts(cloud, servers):
    # A tenant's server, running the test guest.
    body = {'server': {'name': 'pwn-e2e-src', 'imageRef': cloud.image_id(),
                       'flavorRef': cloud.flavor_id(), 'networks': 'none'}}
    source = cloud.ok(cloud.compute.post('/servers', json=body), 202)['server']
    servers.append(source['id'])
    cloud.wait_status([source['id']])
    source = cloud.server(source['id'])
    before = cloud.wait_ticks(source['id'], 10)
    source_host = cloud.server(source['id'], admin=True)['OS-EXT-SRV-ATTR:host']

    # Another project's user cannot see the server, so cannot clone it.
    refused = openstack('server', 'clone', source['id'], cloud='pwn-alt', check=False)
    assert refused.returncode != 0 and 'No Server found' in refused.stderr, refused.stderr
    response = cloud.alt.post('/servers/%s/action' % source['id'], json={'clone': {}})
    assert response.status_code == 404, response.text

    # Two live clones, spread, as the tenant: openstack server clone --wait
    start = time.monotonic()
    done = openstack('server', 'clone', source['id'], '--count', '2',
                     '--placement', 'spread', '--wait', '-f', 'json')
    FIGURES['API call -> 2 clones ACTIVE (s)'] = round(time.monotonic() - start, 1)
    listed = json.loads(done.stdout)
    assert [row['Status'] for row in listed] == ['ACTIVE', 'ACTIVE'], listed
    clones = _clones_of(cloud, source['id'])
    clone_ids = [c['id'] for c in clones]
    assert sorted(clone_ids) == sorted(row['ID'] for row in listed)
    servers.extend(clone_ids)

    # The source keeps running, and keeps its state.
    assert cloud.server(source['id'])['status'] == 'ACTIVE'
    after = cloud.wait_ticks(source['id'], len(before) + 5)
    assert after[-1][0] > before[-1][0]

    for clone_id in clone_ids:
        clone = cloud.server(clone_id)
        clone_admin = cloud.server(clone_id, admin=True)
        # spread: the other host (the tenant sees a different hostId)
        assert clone_admin['OS-EXT-SRV-ATTR:host'] != source_host
        assert clone['hostId'] != source['hostId']
        meta = clone['metadata']
        assert meta['pwnetizer_source'] == source['id']
        assert meta['pwnetizer_family'] == source['id']
        assert 'pwnetizer_request' not in meta   # consumed by the compute host
        pause_ms = float(meta['pwnetizer_pause_ms'])
        assert 0 < pause_ms < 5000
        FIGURES.setdefault('source pause (ms, pwnetizer_pause_ms)', []).append(pause_ms)
        FIGURES.setdefault('clone ready (s, pwnetizer_ready_s)', []).append(
            float(meta['pwnetizer_ready_s']))
        # The clone continues the source's memory: its counter goes on from
        # where the source was, without a boot.
        ticks = cloud.wait_ticks(clone_id, 3)
        console = cloud.console(clone_id)
        assert 'PWN BOOT' not in console, console[-2000:]
        assert ticks[0][0] >= before[-1][0], (ticks[:3], before[-1])

    # The doubling tree: one clone was made from the other, so the source
    # paused once.
    parents = [c['metadata'].get('pwnetizer_parent') for c in clones]
    assert parents.count(None) == 1, parents
    assert [p for p in parents if p] == [c['id'] for c, p in zip(clones, parents) if not p]

    # The clone actions on the source: one event per clone.
    actions = cloud.ok(cloud.compute.get(
        '/servers/%s/os-instance-actions' % source['id']))['instanceActions']
    clone_actions = [a for a in actions if a['action'] == 'pwnetizer_clone']
    assert clone_actions, actions
    detail = cloud.ok(cloud.compute.get('/servers/%s/os-instance-actions/%s' % (
        source['id'], clone_actions[0]['request_id'])))['instanceAction']
    events = {e['event']: e for e in detail['events']}
    for clone_id in clone_ids:
        event = events.get('pwnetizer_clone_to_%s' % clone_id)
        assert event and event['result'] == 'Success', detail

    # Deleting a clone frees its allocation.
    alloc = cloud.ok(cloud.placement.get('/allocations/%s' % clone_ids[0]))
    assert alloc['allocations'], alloc
    cloud.ok(cloud.compute.delete('/servers/%s' % clone_ids[0]), 204)
    cloud.wait_gone(clone_ids[0])
    alloc = cloud.ok(cloud.placement.get('/allocations/%s' % clone_ids[0]))
    assert alloc['allocations'] == {}, alloc

    # Deleting the source leaves the other clone running.
    cloud.ok(cloud.compute.delete('/servers/%s' % source['id']), 204)
    cloud.wait_gone(source['id'])
    survivor = clone_ids[1]
    assert cloud.server(survivor)['status'] == 'ACTIVE'
    ticking = len(cloud.ticks(survivor))
    cloud.wait_ticks(survivor, ticking + 3)

    print('\nCloud clone figures: %s' % json.dumps(FIGURES, indent=1))
