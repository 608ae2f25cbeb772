"""The reserved-key guard: which requests it refuses, which it passes, and
the reserved metadata it keeps across a replace of all metadata."""

import json

import pytest

from nova_pwnetizer.api import reserved_keys

SERVER = '11111111-2222-4333-8444-555555555555'


def body(data):
    return json.dumps(data).encode()


@pytest.mark.parametrize('method,path,data', [
    ('POST', '/servers', {'server': {'name': 'x', 'metadata': {'pwnetizer_family': 'v'}}}),
    ('POST', '/v2.1/proj/servers', {'server': {'metadata': {' PWNETIZER_source': 'v'}}}),
    ('POST', '/servers', {'server': {}, 'os:scheduler_hints': {'pwnetizer_clone': '1'}}),
    ('POST', '/servers', {'server': {},
                          'OS-SCH-HNT:scheduler_hints': {'Pwnetizer_request': ['x']}}),
    ('PUT', '/servers/%s/metadata' % SERVER, {'metadata': {'pwnetizer_family': 'v'}}),
    ('POST', '/proj/servers/%s/metadata' % SERVER, {'metadata': {'pwnetizer_x': 'v'}}),
    ('PUT', '/servers/%s/metadata/pwnetizer_family' % SERVER,
     {'meta': {'pwnetizer_family': 'v'}}),
    ('PUT', '/servers/%s/metadata/role' % SERVER, {'meta': {'pwnetizer_source': 'v'}}),
    ('DELETE', '/servers/%s/metadata/pwnetizer_source' % SERVER, None),
    ('POST', '/servers/%s/action' % SERVER,
     {'rebuild': {'imageRef': 'i', 'metadata': {'pwnetizer_contract': 'x'}}}),
])
def test_refuses_every_write_of_a_reserved_key(method, path, data):
    assert reserved_keys.watches(method, path)
    verdict = reserved_keys.inspect(method, path, body(data) if data else b'')
    assert verdict.refusal and 'reserved' in verdict.refusal
    assert 'pwnetizer_' in verdict.refusal


@pytest.mark.parametrize('method,path,data', [
    ('POST', '/servers', {'server': {'metadata': {'role': 'web', 'pwnetizerx': '1'}},
                          'os:scheduler_hints': {'group': 'g'}}),
    ('POST', '/servers/%s/metadata' % SERVER, {'metadata': {'role': 'web'}}),
    ('PUT', '/servers/%s/metadata/role' % SERVER, {'meta': {'role': 'db'}}),
    ('DELETE', '/servers/%s/metadata/role' % SERVER, None),
    ('POST', '/servers/%s/action' % SERVER, {'reboot': {'type': 'SOFT'}}),
    ('POST', '/servers/%s/action' % SERVER, {'rebuild': {'imageRef': 'i'}}),
    ('POST', '/servers', None),
])
def test_passes_other_requests(method, path, data):
    verdict = reserved_keys.inspect(method, path, body(data) if data else b'')
    assert verdict.refusal is None
    assert verdict.keep_reserved_of is None


def test_a_body_that_is_not_json_is_left_to_nova():
    assert reserved_keys.inspect('POST', '/servers', b'{not json') == reserved_keys.PASS
    assert reserved_keys.inspect('POST', '/servers', b'\xff\xfe') == reserved_keys.PASS
    assert reserved_keys.inspect('POST', '/servers', b'[1, 2]') == reserved_keys.PASS


def test_watches_only_paths_that_write_metadata_or_hints():
    assert not reserved_keys.watches('GET', '/servers/%s/metadata' % SERVER)
    assert not reserved_keys.watches('DELETE', '/servers/%s' % SERVER)
    assert not reserved_keys.watches('PUT', '/servers/%s' % SERVER)
    assert not reserved_keys.watches('POST', '/flavors')
    assert reserved_keys.watches('POST', '/servers/')


@pytest.mark.parametrize('method,path,data,where', [
    ('PUT', '/servers/%s/metadata' % SERVER, {'metadata': {'role': 'db'}}, ('metadata',)),
    ('POST', '/servers/%s/action' % SERVER,
     {'rebuild': {'imageRef': 'i', 'metadata': {}}}, ('rebuild', 'metadata')),
])
def test_a_replace_of_all_metadata_keeps_the_reserved_keys(method, path, data, where):
    verdict = reserved_keys.inspect(method, path, body(data))
    assert verdict.refusal is None
    assert verdict.keep_reserved_of == SERVER
    assert verdict.metadata_path == where
    kept = reserved_keys.reserved_items({'pwnetizer_family': 'f', 'role': 'web'})
    assert kept == {'pwnetizer_family': 'f'}
    rewritten = json.loads(reserved_keys.with_reserved(body(data), where, kept))
    target = rewritten
    for name in where:
        target = target[name]
    assert target['pwnetizer_family'] == 'f'
    assert rewritten.get('rebuild', {}).get('imageRef', 'i') == 'i'


def test_with_reserved_leaves_a_malformed_body_to_nova():
    raw = body({'metadata': 'not a dict'})
    assert reserved_keys.with_reserved(raw, ('metadata',), {'pwnetizer_family': 'f'}) == raw


def test_reserved_in_ignores_keys_that_are_not_strings():
    assert reserved_keys.reserved_in(['pwnetizer_b', 1, None, 'a', 'PWNETIZER_a']) == [
        'PWNETIZER_a', 'pwnetizer_b']
