"""``OS::Pwnetizer::ServerClone`` on Heat's own test base, with only the
compute API faked (requests-mock behind Heat's real nova client plugin,
novaclient and keystoneauth session)."""

import copy
import os
import subprocess
import sys
from unittest import mock
import uuid

import pytest

pytest.importorskip('heat')

from heat.common import context  # noqa: E402
from heat.common import exception  # noqa: E402
from heat.common import template_format  # noqa: E402
from heat.engine.clients.os import glance  # noqa: E402
from heat.engine.clients.os import nova  # noqa: E402
from heat.engine import environment  # noqa: E402
from heat.engine import resource  # noqa: E402
from heat.engine import resources  # noqa: E402
from heat.engine import rsrc_defn  # noqa: E402
from heat.engine import scheduler  # noqa: E402
from heat.tests import common  # noqa: E402
from heat.tests import utils  # noqa: E402
from keystoneauth1 import token_endpoint  # noqa: E402
from oslo_config import cfg  # noqa: E402
import requests_mock  # noqa: E402
from requests_mock.contrib import fixture as rm_fixture  # noqa: E402

import nova_pwnetizer.heat  # noqa: E402
from nova_pwnetizer.heat import server_clone  # noqa: E402


def _initialise_heat():
    """Heat's global environment, from the environment files of the
    installed Heat: HeatTestCase looks for them in a source checkout (etc/heat
    next to the heat package) and only the first use reads them."""
    for etc in (os.path.join(sys.prefix, 'etc', 'heat'), '/etc/heat'):
        if os.path.isdir(os.path.join(etc, 'environment.d')):
            cfg.CONF.set_default('environment_dir', os.path.join(etc, 'environment.d'))
            cfg.CONF.set_default('template_dir', os.path.join(etc, 'templates'))
            break
    resources.initialise()


_initialise_heat()

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
EXAMPLE = os.path.join(ROOT, 'doc', 'examples', 'heat-clone.yaml')

COMPUTE = 'http://nova.test/v2.1'
SOURCE_ID = '5d6f2c2e-0b1a-4c55-9d8e-2f4a1c3b7e01'
RESERVATION = 'r-8x2kq0ab'

TEMPLATE = '''
heat_template_version: 2018-08-31
resources:
  clone:
    type: OS::Pwnetizer::ServerClone
    properties:
      source: web-1
      name: web-1b
      count: 2
      randomize: true
      placement: pack
      metadata: {role: replica, weight: 3}
'''


def fault(code, message):
    name = {400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound',
            409: 'conflictingRequest'}[code]
    return {name: {'code': code, 'message': message}}


class FakeNova(object):
    """The compute API, as far as the plugin and Heat's nova client use it."""

    def __init__(self, mocker):
        self.servers = {}          # id -> server body
        self.statuses = {}         # id -> statuses a clone goes through
        self.clone_statuses = [['BUILD', 'ACTIVE']]   # per clone; the last for the rest
        self.clone_faults = {}     # clone index -> fault
        self.plans = []            # (clone_statuses, clone_faults) of the next actions
        self.refusal = None        # (code, message) of the clone action
        self.actions = []          # (server id, body) of each action posted
        self.deletes = []          # ids of each DELETE
        self.gets = []             # ids of each GET /servers/{id}
        mocker.get(requests_mock.ANY, json=self._get)
        mocker.post(requests_mock.ANY, json=self._post)
        mocker.delete(requests_mock.ANY, json=self._delete)

    def add(self, server_id, name, status='ACTIVE', **fields):
        body = {'id': server_id, 'name': name, 'status': status,
                'addresses': {}, 'metadata': {}, 'links': [],
                'OS-EXT-STS:task_state': None}
        body.update(fields)
        self.servers[server_id] = body
        return body

    def _parts(self, request):
        path = request.path
        assert path.startswith('/v2.1/servers'), request.url
        return path[len('/v2.1/servers'):].strip('/').split('/')

    def _get(self, request, ctx):
        if request.path.rstrip('/') == '/v2.1':        # Heat's microversion discovery
            return {'version': {'id': 'v2.1', 'status': 'CURRENT', 'version': '2.96',
                                'min_version': '2.1', 'links': []}}
        parts = self._parts(request)
        if parts == ['']:                           # GET /servers?name=...
            name = request.qs['name'][0]
            return {'servers': [{'id': s['id'], 'name': s['name'], 'links': []}
                                for s in self.servers.values() if s['name'] == name]}
        if parts == ['detail']:                     # GET /servers/detail?reservation_id=
            reservation = request.qs['reservation_id'][0]
            return {'servers': [copy.deepcopy(s) for s in self.servers.values()
                                if s.get('reservation_id') == reservation]}
        (server_id,) = parts
        self.gets.append(server_id)
        server = self.servers.get(server_id)
        if server is None:
            ctx.status_code = 404
            return fault(404, 'Instance %s could not be found.' % server_id)
        body = copy.deepcopy(server)
        pending = self.statuses.get(server_id)
        if pending:
            server['status'] = body['status'] = pending.pop(0)
        if server['OS-EXT-STS:task_state'] == 'deleting':
            del self.servers[server_id]             # gone at the next look
        return {'server': body}

    def _post(self, request, ctx):
        server_id, action = self._parts(request)
        assert action == 'action', request.url
        body = request.json()
        self.actions.append((server_id, body))
        if self.refusal:
            ctx.status_code = self.refusal[0]
            return fault(*self.refusal)
        if self.plans:
            self.clone_statuses, self.clone_faults = self.plans.pop(0)
        args = body['clone']
        count = args.get('count', 1)
        name = args.get('name') or self.servers[server_id]['name'] + '-clone'
        created = []
        for index in range(count):
            clone_id = str(uuid.uuid4())
            clone_name = name if count == 1 else '%s-%d' % (name, index + 1)
            metadata = dict(args.get('metadata', {}), pwnetizer_source=server_id,
                            pwnetizer_family=server_id)
            self.add(clone_id, clone_name, status='BUILD', metadata=metadata,
                     reservation_id=RESERVATION)
            if index in self.clone_faults:
                self.servers[clone_id]['fault'] = self.clone_faults[index]
            self.statuses[clone_id] = list(
                self.clone_statuses[min(index, len(self.clone_statuses) - 1)])
            created.append({'id': clone_id, 'name': clone_name})
        ctx.status_code = 202
        return {'clone': {'reservation_id': RESERVATION, 'servers': created}}

    def _delete(self, request, ctx):
        (server_id,) = self._parts(request)
        self.deletes.append(server_id)
        if server_id not in self.servers:
            ctx.status_code = 404
            return fault(404, 'Instance %s could not be found.' % server_id)
        self.servers[server_id]['OS-EXT-STS:task_state'] = 'deleting'
        ctx.status_code = 204
        return None

    def clone_ids(self):
        return [s['id'] for s in self.servers.values() if s['id'] != SOURCE_ID]


class ServerCloneTest(common.HeatTestCase):

    def setUp(self):
        super().setUp()
        resource._register_class('OS::Pwnetizer::ServerClone', server_clone.ServerClone)
        resources.global_env().register_constraint(
            'pwnetizer.server', server_clone.SourceServerConstraint)
        # The stack's keystone session reaches the fake compute API only.
        self.patchobject(context.RequestContext, '_create_auth_plugin',
                         return_value=token_endpoint.Token(COMPUTE, 'token'))
        self.nova = FakeNova(self.useFixture(rm_fixture.Fixture(case_sensitive=True)))
        self.nova.add(SOURCE_ID, 'web-1', addresses={'private': [{'addr': '10.0.0.5'}]})

    def stack(self, template=TEMPLATE, **props):
        tmpl = template_format.parse(template)
        tmpl['resources']['clone']['properties'].update(props)
        for key in [key for key, value in props.items() if value is None]:
            del tmpl['resources']['clone']['properties'][key]
        self.stk = utils.parse_stack(tmpl)     # resources only hold a weak reference
        return self.stk

    def create(self, **props):
        rsrc = self.stack(**props)['clone']
        scheduler.TaskRunner(rsrc.create)()
        self.assertEqual((rsrc.CREATE, rsrc.COMPLETE), rsrc.state)
        return rsrc

    def assertInvalid(self, message, **props):
        stack = self.stack(**props)
        error = self.assertRaises(exception.StackValidationFailed, stack.validate)
        self.assertIn(message, str(error))
        self.assertEqual([], self.nova.actions)
        return error

    # create

    def test_create(self):
        rsrc = self.create()
        ((server_id, body),) = self.nova.actions
        self.assertEqual(SOURCE_ID, server_id)     # the name resolved to the id
        self.assertEqual({'clone': {'name': 'web-1b', 'count': 2, 'randomize': True,
                                    'placement': 'pack',
                                    'metadata': {'role': 'replica', 'weight': '3'}}},
                         body)
        clone_ids = self.nova.clone_ids()
        self.assertEqual(2, len(clone_ids))
        self.assertEqual(RESERVATION, rsrc.resource_id)
        self.assertEqual(RESERVATION, rsrc.FnGetRefId())
        self.assertEqual(clone_ids, rsrc.FnGetAtt('servers'))
        for clone_id in clone_ids:
            self.assertEqual('ACTIVE', self.nova.servers[clone_id]['status'])
            self.assertEqual(2, self.nova.gets.count(clone_id))   # BUILD, ACTIVE

    def test_create_defaults(self):
        rsrc = self.create(source=SOURCE_ID, name=None, count=None, randomize=None,
                           placement=None, metadata=None)
        ((server_id, body),) = self.nova.actions
        self.assertEqual(SOURCE_ID, server_id)
        self.assertEqual({'clone': {'name': rsrc.physical_resource_name(), 'count': 1,
                                    'randomize': False, 'placement': 'spread'}},
                         body)
        self.assertEqual(1, len(rsrc.FnGetAtt('servers')))

    def test_attributes(self):
        rsrc = self.create()
        first, second = self.nova.clone_ids()
        self.nova.servers[first]['addresses'] = {
            'private': [{'addr': '10.0.0.7', 'version': 4}]}
        self.nova.servers[first]['metadata'].update(
            pwnetizer_pause_ms='18.98', pwnetizer_ready_s='1.63')
        self.assertEqual({first: {'private': [{'addr': '10.0.0.7', 'version': 4}]},
                          second: {}},
                         rsrc.FnGetAtt('addresses'))
        self.assertEqual({first: {'pause_ms': 18.98, 'ready_s': 1.63},
                          second: {'pause_ms': None, 'ready_s': None}},
                         rsrc.FnGetAtt('figures'))
        show = rsrc.FnGetAtt('show')
        self.assertEqual(RESERVATION, show['reservation_id'])
        self.assertEqual(['web-1b-1', 'web-1b-2'], [s['name'] for s in show['servers']])
        self.assertEqual('replica', show['servers'][0]['metadata']['role'])

    def test_create_clone_in_error(self):
        self.nova.clone_statuses = [['BUILD', 'ACTIVE'], ['BUILD', 'ERROR']]
        self.nova.clone_faults = {
            1: {'code': 500, 'message': 'Clone failed in phase migrate: QEMU died'}}
        cfg.CONF.set_override('action_retry_limit', 0)
        rsrc = self.stack()['clone']
        error = self.assertRaises(exception.ResourceFailure,
                                  scheduler.TaskRunner(rsrc.create))
        second = self.nova.clone_ids()[1]
        self.assertIn('ResourceInError', str(error))
        self.assertIn('clone %s' % second, str(error))
        self.assertIn('Clone failed in phase migrate: QEMU died', str(error))
        self.assertIn('Code: 500', str(error))
        self.assertEqual((rsrc.CREATE, rsrc.FAILED), rsrc.state)
        # both clones are known, so that delete removes them
        self.assertEqual(self.nova.clone_ids(), rsrc.FnGetAtt('servers'))

    def test_create_retried(self):
        # Heat retries a create that went to ERROR (action_retry_limit): the
        # failed clones are deleted first.
        cfg.CONF.set_override('action_retry_limit', 1)
        qemu_died = {'code': 500, 'message': 'QEMU died'}
        self.nova.plans = [([['BUILD', 'ERROR']], {0: qemu_died, 1: qemu_died}),
                           ([['BUILD', 'ACTIVE']], {})]
        rsrc = self.create()
        self.assertEqual(2, len(self.nova.actions))
        clone_ids = self.nova.clone_ids()
        self.assertEqual(2, len(clone_ids))
        self.assertEqual(2, len(self.nova.deletes))
        self.assertFalse(set(self.nova.deletes) & set(clone_ids))
        self.assertEqual(clone_ids, rsrc.FnGetAtt('servers'))
        self.assertEqual(RESERVATION, rsrc.resource_id)

    def test_create_refused(self):
        for code, message in ((409, 'Cannot clone server %s: it is locked.' % SOURCE_ID),
                              (404, 'Instance %s could not be found.' % SOURCE_ID),
                              (403, 'Quota exceeded for instances: Requested 2, '
                                    'but already used 9 of 10 instances')):
            self.nova.refusal = (code, message)
            rsrc = self.stack()['clone']
            error = self.assertRaises(exception.ResourceFailure,
                                      scheduler.TaskRunner(rsrc.create))
            self.assertIn('Nova refused to clone server %s: %s (HTTP %d)'
                          % (SOURCE_ID, message, code), str(error))
            self.assertEqual((rsrc.CREATE, rsrc.FAILED), rsrc.state)
            self.assertIsNone(rsrc.resource_id)
            self.assertEqual([], rsrc.FnGetAtt('servers'))
            # nothing to delete
            scheduler.TaskRunner(rsrc.delete)()
            self.assertEqual((rsrc.DELETE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual([], self.nova.deletes)
        self.assertEqual([], self.nova.clone_ids())

    # delete

    def test_delete(self):
        rsrc = self.create()
        first, second = self.nova.clone_ids()
        del self.nova.servers[first]                # deleted behind Heat's back
        scheduler.TaskRunner(rsrc.delete)()
        self.assertEqual((rsrc.DELETE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual([first, second], self.nova.deletes)
        self.assertEqual([SOURCE_ID], list(self.nova.servers))
        self.assertIsNone(rsrc.resource_id)
        self.assertEqual({}, rsrc.data())

    def test_delete_without_stored_ids(self):
        rsrc = self.create()
        rsrc.data_delete(server_clone.ServerClone.SERVER_IDS)
        clone_ids = self.nova.clone_ids()
        scheduler.TaskRunner(rsrc.delete)()
        self.assertEqual((rsrc.DELETE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual(clone_ids, self.nova.deletes)   # found by reservation id
        self.assertEqual([SOURCE_ID], list(self.nova.servers))

    def test_delete_all_gone(self):
        rsrc = self.create()
        clone_ids = self.nova.clone_ids()
        for clone_id in clone_ids:
            del self.nova.servers[clone_id]
        scheduler.TaskRunner(rsrc.delete)()
        self.assertEqual((rsrc.DELETE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual(clone_ids, self.nova.deletes)

    # update, check

    def test_update_replaces(self):
        rsrc = self.create()
        props = copy.deepcopy(rsrc.properties.data)
        props['count'] = 3
        new = rsrc_defn.ResourceDefinition(rsrc.name, rsrc.type(), props)
        self.assertRaises(resource.UpdateReplace, scheduler.TaskRunner(rsrc.update, new))

    def test_check(self):
        rsrc = self.create()
        scheduler.TaskRunner(rsrc.check)()
        self.assertEqual((rsrc.CHECK, rsrc.COMPLETE), rsrc.state)
        second = self.nova.clone_ids()[1]
        self.nova.servers[second]['status'] = 'ERROR'
        error = self.assertRaises(exception.ResourceFailure, scheduler.TaskRunner(rsrc.check))
        self.assertIn('status of clone %s' % second, str(error))

    def test_compute_adapter(self):
        cfg.CONF.set_override('endpoint_type', 'internalURL', group='clients_nova')
        cfg.CONF.set_override('region_name_for_services', 'RegionTwo')
        rsrc = self.stack()['clone']
        compute = server_clone.compute_adapter(rsrc.client_plugin())
        self.assertIs(self.stk.context.keystone_session, compute.session)
        self.assertEqual(('compute', 'internalURL', 'RegionTwo'),
                         (compute.service_type, compute.interface, compute.region_name))

    # validation

    def test_validate(self):
        self.assertIsNone(self.stack().validate())
        self.assertIsNone(self.stack(source=SOURCE_ID, count=8, placement='any').validate())

    def test_validate_count(self):
        self.assertInvalid('clone.properties.count: 0 is out of range (min: 1, max: 8)',
                           count=0)
        self.assertInvalid('clone.properties.count: 9 is out of range (min: 1, max: 8)',
                           count=9)

    def test_validate_placement(self):
        self.assertInvalid('clone.properties.placement: "random" is not an allowed value',
                           placement='random')

    def test_validate_name(self):
        self.assertInvalid('Invalid input for field/attribute clone/name', name='   ')

    def test_validate_metadata(self):
        self.assertInvalid("invalid metadata key(s) 'pwnetizer_family'",
                           metadata={'pwnetizer_family': 'x'})

    def test_validate_unknown_source(self):
        self.assertInvalid("Error validating value 'web-9': The Server (web-9) could "
                           "not be found.", source='web-9')

    def test_validate_ambiguous_source(self):
        self.nova.add(str(uuid.uuid4()), 'web-1')
        self.assertInvalid("Error validating value 'web-1': Multiple physical "
                           "resources were found with name (web-1).")

    def test_source_from_another_resource(self):
        # unresolved at validate time: no constraint check, no false failure
        template = TEMPLATE + '''
  web:
    type: OS::Heat::Value
    properties: {value: %s}
''' % SOURCE_ID
        stack = self.stack(template, source={'get_attr': ['web', 'value']})
        self.assertIsNone(stack.validate())


def test_plugin_imports_no_nova():
    """heat-engine hosts have no Nova, and Heat and Nova cannot share a
    process: the plugin must not import Nova (nor the Nova-side parts of
    nova_pwnetizer)."""
    code = ('import sys; import nova_pwnetizer.heat.server_clone; '
            'print(sorted(m for m in sys.modules if m == "nova" or m.startswith("nova.") '
            'or m.startswith(("nova_pwnetizer.virt", "nova_pwnetizer.api.clone_action")) '
            'or m == "libvirt"))')
    child = subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True,
                           stdout=subprocess.PIPE, text=True)
    assert child.stdout.strip() == '[]', child.stdout


class PluginLoadingTest(common.HeatTestCase):
    """heat-engine with ``plugin_dirs`` pointing at nova_pwnetizer/heat."""

    def setUp(self):
        super().setUp()
        self.patchobject(context.RequestContext, '_create_auth_plugin',
                         return_value=token_endpoint.Token(COMPUTE, 'token'))
        self.nova = FakeNova(self.useFixture(rm_fixture.Fixture(case_sensitive=True)))
        cfg.CONF.set_override('plugin_dirs', os.path.dirname(nova_pwnetizer.heat.__file__))
        self.env = environment.Environment({}, user_env=False)
        resources._load_global_environment(self.env)

    def test_loaded(self):
        rsrc_class = self.env.get_class('OS::Pwnetizer::ServerClone')
        self.assertEqual('ServerClone', rsrc_class.__name__)
        self.assertEqual('heat.engine.plugins.server_clone', rsrc_class.__module__)
        self.assertEqual('SourceServerConstraint',
                         self.env.get_constraint('pwnetizer.server').__name__)

    def test_example_template(self):
        self.patchobject(resources, '_environment', new=self.env)
        # OS::Nova::Server's own look-ups (image, flavor, network) are not ours
        self.stub_ImageConstraint_validate()
        self.stub_FlavorConstraint_validate()
        self.stub_NetworkConstraint_validate()
        self.patchobject(glance.GlanceClientPlugin, 'get_image', return_value=mock.Mock(
            status='active', min_ram=0, min_disk=0))
        self.patchobject(nova.NovaClientPlugin, 'get_flavor', return_value=mock.Mock(
            ram=512, disk=1))
        with open(EXAMPLE) as example:
            tmpl = template_format.parse(example.read())
        self.stk = stack = utils.parse_stack(
            tmpl, params={'image': 'debian-12', 'flavor': 'm1.small', 'network': 'private'})
        self.assertIsNone(stack.validate())
        self.assertEqual('heat.engine.plugins.server_clone',
                         type(stack['replicas']).__module__)
        self.assertEqual({'clone_ids', 'clone_addresses', 'clone_figures'},
                         set(stack.outputs))
