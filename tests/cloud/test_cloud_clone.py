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
import time

from tests.cloud.helpers import assert_no_leaks
from tests.cloud.helpers import compute_log
from tests.cloud.helpers import FIGURES
from tests.cloud.helpers import openstack


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
    source_log = compute_log(source_host)
    start = time.monotonic()
    done = openstack('server', 'clone', source['id'], '--count', '2',
                     '--placement', 'spread', '--wait', '-f', 'json')
    FIGURES['API call -> 2 clones ACTIVE (s)'] = round(time.monotonic() - start, 1)
    listed = json.loads(done.stdout)
    assert [row['Status'] for row in listed] == ['ACTIVE', 'ACTIVE'], listed
    clones = cloud.clones_of(source['id'])
    clone_ids = [c['id'] for c in clones]
    assert sorted(clone_ids) == sorted(row['ID'] for row in listed)
    servers.extend(clone_ids)

    # The source keeps running, and keeps its state.
    assert cloud.server(source['id'])['status'] == 'ACTIVE'
    # Its pause at the switch-over was the clone's: the source host's compute
    # manager was not told of it (no power-state sync, no "paused
    # unexpectedly" warning while the source is paused).
    noticed = [line for line in source_log.new_lines() if source['id'] in line
               and ('VM Paused' in line or 'paused unexpectedly' in line)]
    assert not noticed, noticed
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

    # Nothing of the clone jobs is left on either host or on the source.
    assert_no_leaks(cloud, sources=[source['id']], clones=clone_ids)

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
    assert_no_leaks(cloud, clones=clone_ids[:1])     # the deleted clone: all gone

    print('\nCloud clone figures: %s' % json.dumps(FIGURES, indent=1))
