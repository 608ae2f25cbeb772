"""The reserved-key middleware in front of nova-api: refused requests never
reach Nova, and a replace of all metadata keeps the server's reserved keys."""

import json

import pytest
import webob
import webob.dec

from nova import context as nova_context
from nova import exception
from nova import objects

from nova_pwnetizer.api import clone_action
from nova_pwnetizer.api import reserved_keys_middleware
from tests.unit import fakes

objects.register_all()
SERVER = '11111111-2222-4333-8444-555555555555'


conf = pytest.fixture(autouse=True, name='conf')(fakes.nova_config)


class Compute:
    def __init__(self, metadata):
        self.metadata = metadata

    def get(self, context, server_id, expected_attrs=None):
        if server_id != SERVER:
            raise exception.InstanceNotFound(instance_id=server_id)
        return objects.Instance(uuid=SERVER, metadata=dict(self.metadata))


class Nova:
    def __init__(self):
        self.seen = []

    @webob.dec.wsgify
    def __call__(self, req):
        self.seen.append((req.method, req.path_info, req.body))
        return webob.Response(status=200, body=b'{}')


def call(app, method, path, data=None):
    req = webob.Request.blank(path, method=method)
    req.environ['nova.context'] = nova_context.RequestContext(user_id='u', project_id='p')
    if data is not None:
        req.body = json.dumps(data).encode()
        req.content_type = 'application/json'
    return req.get_response(app)


def guard(metadata=None):
    nova = Nova()
    return reserved_keys_middleware.ReservedKeysMiddleware(
        nova, compute=Compute(metadata or {})), nova


def test_a_refused_request_never_reaches_nova():
    app, nova = guard()
    response = call(app, 'PUT', '/servers/%s/metadata/pwnetizer_family' % SERVER,
                    {'meta': {'pwnetizer_family': 'victim'}})
    assert response.status_int == 400
    assert 'reserved' in response.json['badRequest']['message']
    assert nova.seen == []


def test_a_replace_of_all_metadata_keeps_the_servers_reserved_keys():
    app, nova = guard({'pwnetizer_family': 'fam', 'pwnetizer_source': 'src',
                       'role': 'old'})
    response = call(app, 'PUT', '/servers/%s/metadata' % SERVER, {'metadata': {'a': '1'}})
    assert response.status_int == 200
    sent = json.loads(nova.seen[0][2])
    assert sent == {'metadata': {'a': '1', 'pwnetizer_family': 'fam',
                                 'pwnetizer_source': 'src'}}


def test_an_unknown_server_is_left_to_nova():
    app, nova = guard({'pwnetizer_family': 'fam'})
    other = '22222222-2222-4333-8444-555555555555'
    call(app, 'PUT', '/servers/%s/metadata' % other, {'metadata': {'a': '1'}})
    assert json.loads(nova.seen[0][2]) == {'metadata': {'a': '1'}}


def test_other_requests_pass_untouched():
    app, nova = guard()
    call(app, 'GET', '/servers/%s/metadata' % SERVER)
    call(app, 'POST', '/servers', {'server': {'name': 'x', 'metadata': {'role': 'a'}}})
    assert [s[0] for s in nova.seen] == ['GET', 'POST']


def test_the_paste_filter_puts_the_guard_in_front_of_the_clone_action():
    app = clone_action.filter_factory({})(Nova())
    assert isinstance(app, reserved_keys_middleware.ReservedKeysMiddleware)
    assert isinstance(app.application, clone_action.CloneActionMiddleware)


def test_the_method_override_of_nova_s_router_does_not_get_past_the_guard():
    # routes, in front of Nova's controllers, acts on ?_method= (also one
    # that webob cannot decode): every write it may route to is checked
    attempts = [
        ('POST', '/servers/%s/metadata/pwnetizer_source?_method=PUT' % SERVER,
         {'meta': {'pwnetizer_source': 'forged'}}),
        ('POST', '/servers/%s/metadata/pwnetizer_source?_method=DELETE' % SERVER, None),
        ('PUT', '/servers?_method=POST',
         {'server': {'name': 'x', 'metadata': {'pwnetizer_family': 'x'}}}),
        ('PUT', '/servers?_method=PO%ffST', {'server': {}, 'os:scheduler_hints': {
            'pwnetizer_clone': 'replayed'}}),
        ('PUT', '/servers/%s/action?_method=POST' % SERVER,
         {'rebuild': {'imageRef': 'i', 'metadata': {'pwnetizer_family': 'x'}}}),
    ]
    for method, path, data in attempts:
        app, nova = guard()
        response = call(app, method, path, data)
        assert response.status_int == 400, (method, path)
        assert nova.seen == [], (method, path)


def test_a_replace_of_all_metadata_by_method_override_keeps_the_reserved_keys():
    app, nova = guard({'pwnetizer_family': 'fam', 'role': 'old'})
    response = call(app, 'POST', '/servers/%s/metadata?_method=PUT' % SERVER,
                    {'metadata': {}})
    assert response.status_int == 200
    assert json.loads(nova.seen[0][2]) == {'metadata': {'pwnetizer_family': 'fam'}}
