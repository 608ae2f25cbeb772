"""nova_pwnetizer.client: the body, the action over HTTP (requests-mock and
a plain keystoneauth adapter), Nova's faults, and waiting with a fake clock."""

import itertools
import json

from keystoneauth1 import adapter
from keystoneauth1 import session
from keystoneauth1 import token_endpoint
import pytest
import requests
import requests_mock

from nova_pwnetizer import client

ENDPOINT = 'http://nova.example.test/v2.1'
SOURCE = '6f1e9a37-3c55-4d5e-9b0a-3d1f2e6c7a01'
ACTION = '%s/servers/%s/action' % (ENDPOINT, SOURCE)
CLONES = ['c10e0000-0000-4000-8000-000000000001', 'c10e0000-0000-4000-8000-000000000002']


@pytest.fixture
def http():
    with requests_mock.Mocker() as mocker:
        yield mocker


@pytest.fixture
def compute():
    sess = session.Session(auth=token_endpoint.Token(ENDPOINT, 'a-token'))
    return adapter.Adapter(sess, service_type='compute')


def accepted(servers=CLONES):
    return {'clone': {'reservation_id': 'r-1',
                      'servers': [{'id': s, 'name': 'web-1-clone-%d' % (i + 1)}
                                  for i, s in enumerate(servers)]}}


# --- body -------------------------------------------------------------------------

def test_body_leaves_out_what_is_not_given():
    assert client.clone_body() == {'clone': {}}
    body = client.clone_body(name='web-2', count=3, randomize=False, placement='pack',
                             metadata={'role': 'replica'})
    assert body == {'clone': {'name': 'web-2', 'count': 3, 'randomize': False,
                              'placement': 'pack', 'metadata': {'role': 'replica'}}}


@pytest.mark.parametrize('kwargs, field, fragment', [
    ({'count': 0}, 'count', '0 is less than the minimum of 1'),
    ({'name': '   ', 'count': 2}, 'name', 'clone/name'),
    ({'name': 'n' * 256}, 'name', 'is too long'),
    ({'placement': 'elsewhere'}, 'placement', "is not one of ['spread', 'pack', 'any']"),
    ({'randomize': 'yes'}, 'randomize', "is not of type 'boolean'"),
    ({'metadata': {'pwnetizer_family': 'x'}, 'count': 1}, 'metadata',
     "invalid metadata key(s) 'pwnetizer_family'"),
    ({'metadata': {'role': 'v' * 256}}, 'metadata', 'is too long'),
])
def test_body_refused_by_the_api_schema(kwargs, field, fragment):
    with pytest.raises(client.CloneFailed) as error:
        client.clone_body(**kwargs)
    assert error.value.code == 0
    assert error.value.field == field
    assert fragment in error.value.message
    assert str(error.value) == error.value.message    # no "(HTTP 0)"


# --- the action ---------------------------------------------------------------------

def test_clone_server_posts_the_action_and_reads_the_202(http, compute):
    http.post(ACTION, status_code=202, json=accepted())
    reservation = client.clone_server(compute, SOURCE, name='web-1-clone', count=2,
                                      randomize=True, placement='spread',
                                      metadata={'role': 'replica'})
    assert reservation == client.Reservation('r-1', [
        {'id': CLONES[0], 'name': 'web-1-clone-1'}, {'id': CLONES[1], 'name': 'web-1-clone-2'}])
    assert reservation.server_ids == CLONES
    (request,) = http.request_history
    assert request.method == 'POST' and request.url == ACTION
    assert request.headers['X-Auth-Token'] == 'a-token'
    assert json.loads(request.body) == {'clone': {
        'name': 'web-1-clone', 'count': 2, 'randomize': True, 'placement': 'spread',
        'metadata': {'role': 'replica'}}}


def test_clone_server_refused_locally_sends_nothing(http, compute):
    with pytest.raises(client.CloneFailed) as error:
        client.clone_server(compute, SOURCE, count=0)
    assert (error.value.code, error.value.field) == (0, 'count')
    assert http.request_history == []


@pytest.mark.parametrize('code, fault_name, message', [
    (400, 'badRequest', 'Invalid input for field/attribute clone/count: 9 is more than '
                        'the 8 clones one request may ask for.'),
    (403, 'forbidden', 'Policy doesn\'t allow os_compute_api:servers:clone to be '
                       'performed.'),
    (404, 'itemNotFound', 'Instance %s could not be found.' % SOURCE),
    (409, 'conflictingRequest', 'Server %s is locked.' % SOURCE),
])
def test_faults_of_nova(http, compute, code, fault_name, message):
    http.post(ACTION, status_code=code, json={fault_name: {'code': code, 'message': message}})
    with pytest.raises(client.CloneFailed) as error:
        client.clone_server(compute, SOURCE)
    assert (error.value.code, error.value.message, error.value.field) == (code, message, None)
    assert str(error.value) == '%s (HTTP %d)' % (message, code)


def test_fault_that_is_not_json(http, compute):
    http.post(ACTION, status_code=502, text='<html>Bad Gateway</html>\n', reason='Bad Gateway')
    with pytest.raises(client.CloneFailed) as error:
        client.clone_server(compute, SOURCE)
    assert (error.value.code, error.value.message) == (502, '<html>Bad Gateway</html>')
    http.post(ACTION, status_code=503, text='', reason='Service Unavailable')
    with pytest.raises(client.CloneFailed) as error:
        client.clone_server(compute, SOURCE)
    assert error.value.message == 'Service Unavailable'


def test_an_action_nova_does_not_know(http, compute):
    # a cloud without the pwnetizer_clone filter: Nova's own 400
    http.post(ACTION, status_code=400, json={'badRequest': {
        'code': 400, 'message': 'There is no such action: clone'}})
    with pytest.raises(client.CloneFailed, match='There is no such action: clone'):
        client.clone_server(compute, SOURCE)


# --- waiting ------------------------------------------------------------------------

class Clock:
    """A fake monotonic clock that sleep() moves on."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def server_states(http, server_id, *states):
    """``GET /servers/{id}`` answers ``states`` in turn (the last one stays):
    a status, (status, fault message), or 404."""
    responses = []
    for state in states:
        if state == 404:
            responses.append({'status_code': 404, 'json': {'itemNotFound': {
                'code': 404, 'message': 'Instance %s could not be found.' % server_id}}})
            continue
        status, fault = state if isinstance(state, tuple) else (state, None)
        server = {'id': server_id, 'name': 'n-' + server_id[-1], 'status': status}
        if fault:
            server['fault'] = {'code': 500, 'message': fault}
        responses.append({'json': {'server': server}})
    http.get('%s/servers/%s' % (ENDPOINT, server_id), responses)


def test_wait_until_every_server_is_final(http, compute):
    clock = Clock()
    server_states(http, CLONES[0], 'BUILD', 'BUILD', 'ACTIVE')
    server_states(http, CLONES[1], 'BUILD', ('ERROR', 'No valid host was found.'))
    seen = []
    servers = client.wait_for_servers(
        compute, CLONES, timeout=60, interval=5, clock=clock, sleep=clock.sleep,
        on_progress=lambda servers: seen.append([s['status'] for s in servers]))
    assert [s['status'] for s in servers] == ['ACTIVE', 'ERROR']
    assert servers[1]['fault']['message'] == 'No valid host was found.'
    assert seen == [['BUILD', 'BUILD'], ['BUILD', 'ERROR'], ['ACTIVE', 'ERROR']]
    assert clock.sleeps == [5, 5]
    # a final server is not asked again
    gets = [r.url.rsplit('/', 1)[1] for r in http.request_history]
    assert gets.count(CLONES[0]) == 3 and gets.count(CLONES[1]) == 2


def test_wait_a_deleted_server_is_final(http, compute):
    clock = Clock()
    server_states(http, CLONES[0], 'BUILD', 404)
    (server,) = client.wait_for_servers(compute, CLONES[:1], interval=1, clock=clock,
                                        sleep=clock.sleep)
    assert server == {'id': CLONES[0], 'status': 'DELETED'}


def test_wait_times_out(http, compute):
    clock = Clock()
    server_states(http, CLONES[0], 'ACTIVE')
    server_states(http, CLONES[1], 'BUILD')
    with pytest.raises(client.WaitTimeout) as error:
        client.wait_for_servers(compute, CLONES, timeout=10, interval=4, clock=clock,
                                sleep=clock.sleep)
    assert str(error.value) == 'servers still building after 10 s: %s' % CLONES[1]
    assert clock.sleeps == [4, 4, 4]
    assert clock.now == 1012.0


def test_wait_fails_on_an_error_of_the_api(http, compute):
    http.get('%s/servers/%s' % (ENDPOINT, CLONES[0]), status_code=500, text='boom')
    clock = itertools.count()
    with pytest.raises(requests.HTTPError):
        client.wait_for_servers(compute, CLONES[:1], clock=lambda: next(clock),
                                sleep=lambda seconds: None)
