"""Hostile tenants against the clone path, in the real test cloud.

The demo tenant owns a source and a clone of it (the victim: its
``pwnetizer_*`` metadata is what the clone path reads); the alt tenant is
another project.  Each attack is tried through Nova's own API and must be
refused, with the victim untouched:

- every write of a reserved key: create (metadata, both spellings of the
  scheduler hints), metadata set, update, replace and delete, rebuild,
  also through the method override of Nova's router (``?_method=``) --
  by the tenant, by another tenant and by the admin;
- a replay of what a tenant can read of a clone request (its scheduler
  hint) into a plain ``POST /servers``: no server is made, no quota used;
- reading the clone's contract: neither its metadata nor its scheduler
  hints (microversion 2.100 shows them) hold the contract, a host name or
  the secret.

About 2 minutes (one boot, one clone).
"""

import json
import os

import pytest

from nova_pwnetizer import clone_secret
from tests.cloud import helpers

SECRET_FILE = '/var/lib/pwnetizer-cloud/clone_secret'
HOST_NAMES = ('pwn-host1', 'pwn-host2')


@pytest.fixture(scope='module')
def victim(cloud):
    """(source, clone) of the demo tenant, the clone ACTIVE; deleted after."""
    made = []
    source = cloud.boot('trust-source', made)
    clone_id = cloud.clone(source['id'])[0]
    made.append(clone_id)
    hints = None
    while cloud.server(clone_id)['status'] == 'BUILD' and hints is None:
        hints = _hints(cloud, clone_id)   # what a tenant reads while it builds
    cloud.wait_status([clone_id])
    clone = cloud.server(clone_id)
    assert 'pwnetizer_pause_ms' in clone['metadata'], 'not cloned live: booted?'
    yield source, clone, hints or _hints(cloud, clone_id)
    for server_id in made:
        cloud.compute.delete('/servers/%s' % server_id)
    for server_id in made:
        cloud.wait_gone(server_id, timeout=180)


def _hints(cloud, server_id):
    server = cloud.ok(cloud.compute.get('/servers/%s' % server_id,
                                        microversion='latest'))['server']
    assert 'scheduler_hints' in server, 'this Nova shows no scheduler hints'
    return server['scheduler_hints'] or None


def _boot_body(cloud, **extra):
    body = {'server': {'name': 'trust-attempt', 'imageRef': cloud.image_id(),
                       'flavorRef': cloud.flavor_id(), 'networks': 'none'}}
    for key, value in extra.items():
        if key == 'metadata':
            body['server']['metadata'] = value
        else:
            body[key] = value
    return body


def _project_state(cloud, api):
    """What a refused request must leave as it was: the project's servers
    and its quota usage."""
    servers = sorted(s['id'] for s in cloud.ok(api.get('/servers'))['servers'])
    usage = cloud.ok(api.get('/limits'))['limits']['absolute']
    return servers, {k: usage[k] for k in ('totalInstancesUsed', 'totalCoresUsed',
                                           'totalRAMUsed')}


def _attempts(cloud, target, family):
    """(method, path, body) of every write of a reserved key."""
    image = cloud.image_id()
    return [
        ('POST', '/servers', _boot_body(cloud, metadata={'pwnetizer_family': family})),
        ('POST', '/servers', _boot_body(cloud, metadata={' PWNETIZER_source': target})),
        ('POST', '/servers', _boot_body(cloud, **{
            'os:scheduler_hints': {'pwnetizer_clone': 'forged'}})),
        ('POST', '/servers', _boot_body(cloud, **{
            'OS-SCH-HNT:scheduler_hints': {'pwnetizer_request': '{"source_uuid": "%s"}'
                                           % target}})),
        ('PUT', '/servers/%s/metadata' % target, {'metadata': {'pwnetizer_family': 'x'}}),
        ('POST', '/servers/%s/metadata' % target, {'metadata': {'pwnetizer_source': 'x'}}),
        ('PUT', '/servers/%s/metadata/pwnetizer_family' % target,
         {'meta': {'pwnetizer_family': 'x'}}),
        ('DELETE', '/servers/%s/metadata/pwnetizer_family' % target, None),
        ('DELETE', '/servers/%s/metadata/pwnetizer_source' % target, None),
        ('POST', '/servers/%s/action' % target,
         {'rebuild': {'imageRef': image, 'metadata': {'pwnetizer_family': 'x'}}}),
        # the method override of Nova's router (routes: ?_method=)
        ('POST', '/servers/%s/metadata/pwnetizer_source?_method=PUT' % target,
         {'meta': {'pwnetizer_source': 'x'}}),
        ('POST', '/servers/%s/metadata/pwnetizer_family?_method=DELETE' % target, None),
        ('PUT', '/servers?_method=POST',
         _boot_body(cloud, metadata={'pwnetizer_family': family})),
        ('PUT', '/servers/%s/action?_method=POST' % target,
         {'rebuild': {'imageRef': image, 'metadata': {'pwnetizer_family': 'x'}}}),
    ]


def _send(api, method, path, body):
    if body is None:
        return api.request(path, method)
    return api.request(path, method, json=body)


def test_reserved_keys_are_refused_on_every_path(cloud, victim):
    source, clone, _ = victim
    target = clone['id']
    reserved = {k: v for k, v in clone['metadata'].items() if k.startswith('pwnetizer_')}
    assert reserved['pwnetizer_source'] == source['id']
    before = {name: _project_state(cloud, api)
              for name, api in (('demo', cloud.compute), ('alt', cloud.alt))}
    refused = 0
    for name, api in (('demo', cloud.compute), ('alt', cloud.alt), ('admin', cloud.admin)):
        for method, path, body in _attempts(cloud, target, reserved['pwnetizer_family']):
            response = _send(api, method, path, body)
            assert response.status_code == 400, (name, method, path, response.text)
            assert 'reserved' in response.text, response.text
            refused += 1
    helpers.FIGURES['reserved-key writes refused'] = refused
    # The victim: its metadata as it was, still ACTIVE (no rebuild began).
    after = cloud.server(target)
    assert {k: v for k, v in after['metadata'].items()
            if k.startswith('pwnetizer_')} == reserved
    assert (after['status'], after['OS-EXT-STS:task_state']) == ('ACTIVE', None)
    # No server made, no quota used, in either project.
    assert {name: _project_state(cloud, api)
            for name, api in (('demo', cloud.compute), ('alt', cloud.alt))} == before


def test_a_replace_of_all_metadata_keeps_the_reserved_keys(cloud, victim):
    _, clone, _ = victim
    reserved = {k: v for k, v in clone['metadata'].items() if k.startswith('pwnetizer_')}
    reply = cloud.ok(cloud.compute.put('/servers/%s/metadata' % clone['id'],
                                       json={'metadata': {'role': 'web'}}))
    assert reply['metadata'] == dict(reserved, role='web')
    assert cloud.server(clone['id'])['metadata'] == dict(reserved, role='web')
    # the tenant's own keys stay the tenant's to change
    cloud.ok(cloud.compute.delete('/servers/%s/metadata/role' % clone['id']), 204)
    assert cloud.server(clone['id'])['metadata'] == reserved
    # also through the router's method override
    cloud.ok(cloud.compute.post('/servers/%s/metadata?_method=PUT' % clone['id'],
                                json={'metadata': {}}))
    assert cloud.server(clone['id'])['metadata'] == reserved


def test_what_a_tenant_reads_of_a_clone_holds_no_contract_host_or_secret(cloud, victim):
    source, clone, hints = victim
    with open(SECRET_FILE) as f:
        secret = f.read().strip()
    seen = json.dumps({'metadata': cloud.server(clone['id'])['metadata'],
                       'hints': hints, 'source': cloud.server(source['id'])['metadata']})
    assert 'pwnetizer_contract' not in seen and 'pwnetizer_request' not in seen
    assert secret not in seen
    for host in HOST_NAMES:
        assert host not in seen, host
    # the hint, if Nova still shows it, is the signed placement alone
    assert not hints or list(hints) == ['pwnetizer_clone'], hints


def test_a_replayed_clone_hint_makes_no_server(cloud, victim):
    _, clone, hints = victim
    assert hints, 'no scheduler hint of the clone was readable while it built'
    before = _project_state(cloud, cloud.compute)
    replay = _boot_body(cloud, **{'os:scheduler_hints': {
        k: v[0] if isinstance(v, list) else v for k, v in hints.items()}})
    response = cloud.compute.post('/servers', json=replay)
    assert response.status_code == 400, response.text
    assert 'reserved' in response.text
    assert _project_state(cloud, cloud.compute) == before


def test_the_secret_is_strong_in_the_test_cloud():
    # what the API's own check requires (a weak one disables cloning)
    with open(SECRET_FILE) as f:
        assert clone_secret.problem(f.read().strip()) is None
    assert os.stat(SECRET_FILE).st_mode & 0o077 == 0, 'the secret is readable by others'


def test_a_clone_passes_nova_s_flavor_access_check_as_it_is_now(cloud):
    # The tenant booted a server of a private flavor shared with its
    # project; the admin then stopped sharing it.  A POST /servers with it
    # is refused now, and so is a clone: the source embeds its old copy.
    tiny = cloud.ok(cloud.admin.get('/flavors/%s' % cloud.flavor_id()))['flavor']
    flavor = cloud.ok(cloud.admin.post('/flavors', json={'flavor': {
        'name': 'pwn.trust-private', 'ram': tiny['ram'], 'vcpus': tiny['vcpus'],
        'disk': tiny['disk'], 'os-flavor-access:is_public': False}}))['flavor']
    made = []
    try:
        cloud.ok(cloud.admin.post('/flavors/%s/action' % flavor['id'], json={
            'addTenantAccess': {'tenant': cloud.demo_session.get_project_id()}}))
        body = {'server': {'name': 'trust-private', 'imageRef': cloud.image_id(),
                           'flavorRef': flavor['id'], 'networks': 'none'}}
        server = cloud.ok(cloud.compute.post('/servers', json=body), 202)['server']
        made.append(server['id'])
        cloud.wait_status([server['id']])
        cloud.ok(cloud.admin.post('/flavors/%s/action' % flavor['id'], json={
            'removeTenantAccess': {'tenant': cloud.demo_session.get_project_id()}}))
        assert cloud.compute.post('/servers', json=body).status_code == 400
        before = _project_state(cloud, cloud.compute)
        response = cloud.compute.post('/servers/%s/action' % server['id'],
                                      json={'clone': {}})
        assert response.status_code == 409, response.text
        assert 'not available to this project' in response.text
        assert _project_state(cloud, cloud.compute) == before
        assert cloud.server(server['id'])['status'] == 'ACTIVE'
    finally:
        for server_id in made:
            cloud.compute.delete('/servers/%s' % server_id)
        for server_id in made:
            cloud.wait_gone(server_id, timeout=180)
        cloud.admin.delete('/flavors/%s' % flavor['id'])
