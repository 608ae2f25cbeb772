"""A fake Nova compute API on requests-mock, as openstacksdk and
:mod:`nova_pwnetizer.client` see it: version discovery, ``GET /servers/{id}``,
``GET /servers/detail?name=``, and the clone action."""

import json
import re
from urllib import parse

from keystoneauth1 import session
from keystoneauth1 import token_endpoint
import openstack.connection

ENDPOINT = 'http://nova.example.test/v2.1'
TOKEN = 'a-token'
SOURCE_ID = '6f1e9a37-3c55-4d5e-9b0a-3d1f2e6c7a01'
SOURCE_NAME = 'web-1'
RESERVATION_ID = 'r-3fhpjulh'

VERSION = {'version': {'id': 'v2.1', 'status': 'CURRENT', 'version': '2.96',
                       'min_version': '2.1',
                       'links': [{'rel': 'self', 'href': ENDPOINT + '/'}]}}

FAULT_NAMES = {400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound',
               409: 'conflictingRequest'}

_SERVERS_PATH = parse.urlparse(ENDPOINT).path + '/servers'


def clone_id(index):
    return 'c10e0000-0000-4000-8000-%012d' % (index + 1)


def compute_proxy():
    """openstacksdk's compute proxy for the fake cloud (as openstackclient's
    ``client_manager.compute``); requests-mock must already be running."""
    sess = session.Session(auth=token_endpoint.Token(ENDPOINT, TOKEN))
    return openstack.connection.Connection(session=sess,
                                           compute_endpoint_override=ENDPOINT).compute


def fault(code, message):
    return {FAULT_NAMES.get(code, 'computeFault'): {'code': code, 'message': message}}


class FakeNova:
    """Servers by id and by name; the clone action answers 202 with the new
    servers (named as Nova names them) unless :attr:`refusal` is set; each
    new server then goes through its :meth:`plan` of statuses, one per
    ``GET`` (the last one stays)."""

    def __init__(self, mocker):
        self.mocker = mocker
        self.servers = {}
        self.posted = []          # (server id, body) of every clone action
        self.refusal = None       # (HTTP status, fault message)
        self._plans = []
        self._states = {}
        mocker.get(ENDPOINT, json=VERSION)
        mocker.get(ENDPOINT + '/', json=VERSION)
        mocker.get(re.compile(re.escape(ENDPOINT) + r'/servers/[^/]+$'), json=self._get)
        mocker.post(re.compile(re.escape(ENDPOINT) + r'/servers/[^/]+/action$'),
                    json=self._post)
        self.add_server(SOURCE_NAME, SOURCE_ID)

    def add_server(self, name, server_id, status='ACTIVE'):
        self.servers[server_id] = {'id': server_id, 'name': name, 'status': status}
        return self.servers[server_id]

    def plan(self, *plans):
        """The statuses of the 1st, 2nd, ... clone: ``['BUILD', 'ACTIVE']``,
        ``['BUILD', ('ERROR', 'fault message')]`` or ``['BUILD', 'GONE']``
        (deleted: 404); default ``['ACTIVE']``."""
        self._plans = [list(plan) for plan in plans]

    def requests(self, method=None):
        return [r for r in self.mocker.request_history
                if method is None or r.method == method]

    def _get(self, request, context):
        path = parse.urlparse(request.url).path
        server_id = path[len(_SERVERS_PATH) + 1:]
        if server_id == 'detail':
            names = parse.parse_qs(parse.urlparse(request.url).query).get('name', [])
            return {'servers': [s for s in self.servers.values() if s['name'] in names]}
        if server_id in self._states:
            server = self._next_state(server_id)
            if server is not None:
                return {'server': server}
        elif server_id in self.servers:
            return {'server': self.servers[server_id]}
        context.status_code = 404
        return fault(404, 'Instance %s could not be found.' % server_id)

    def _next_state(self, server_id):
        plan = self._states[server_id]
        step = plan.pop(0) if len(plan) > 1 else plan[0]
        status, message = step if isinstance(step, tuple) else (step, None)
        if status == 'GONE':        # deleted while building: 404
            return None
        server = dict(self.servers[server_id], status=status)
        if status == 'ACTIVE':
            number = int(server_id[-3:])
            server['addresses'] = {'private': [
                {'addr': '10.0.0.%d' % (10 + number), 'version': 4},
                {'addr': 'fd00::%d' % (10 + number), 'version': 6}]}
        if status == 'ERROR':
            server['fault'] = {'code': 500, 'message': message or 'Unknown'}
        return server

    def _post(self, request, context):
        server_id = parse.urlparse(request.url).path.split('/')[-2]
        body = json.loads(request.body)
        self.posted.append((server_id, body))
        if self.refusal:
            code, message = self.refusal
            context.status_code = code
            return fault(code, message)
        if server_id not in self.servers:
            context.status_code = 404
            return fault(404, 'Instance %s could not be found.' % server_id)
        args = body['clone']
        count = args.get('count', 1)
        name = args.get('name') or self.servers[server_id]['name'] + '-clone'
        names = [name] if count == 1 else ['%s-%d' % (name, i + 1) for i in range(count)]
        clones = []
        for index, clone_name in enumerate(names):
            clone = self.add_server(clone_name, clone_id(index), status='BUILD')
            self._states[clone['id']] = list(
                self._plans[index] if index < len(self._plans) else ['ACTIVE'])
            clones.append({'id': clone['id'], 'name': clone_name})
        context.status_code = 202
        return {'clone': {'reservation_id': RESERVATION_ID, 'servers': clones}}
