"""The clone server action (paste filter of nova-api): what it passes on,
what it refuses, and the create() it asks Nova for.

Nova's compute API, Neutron, the BDM lookup and the instance action record are
faked; policy is Nova's real enforcer with the rule's default.
"""

import json
import time
from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_policy import policy as oslo_policy
import pytest
import webob
import webob.dec

from nova.compute import api as compute_api
from nova import context as nova_context
from nova import exception
from nova.network import model as network_model
from nova.network import neutron
from nova import objects
from nova import policy as nova_policy

from nova_pwnetizer.api import clone_action
from nova_pwnetizer.api import contracting_compute
from nova_pwnetizer.api import policies
from nova_pwnetizer.api import schema
from nova_pwnetizer import clonerequest
from nova_pwnetizer.objects import clone_placement

objects.register_all()
CONF = cfg.CONF

SECRET = 'unit-test-secret-0123456789abcdef'
PROJECT = 'b6a1c0c4d4e84f2c9d1f3f0e6a0b1c2d'
OTHER_PROJECT = '0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f'
USER = 'user-1'
SOURCE = '11111111-2222-4333-8444-555555555555'
MEMBER = '66666666-7777-4888-9999-000000000000'
IMAGE = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'
PORT_A, PORT_B, PORT_C = ('0000000a-0000-4000-8000-00000000000a',
                          '0000000b-0000-4000-8000-00000000000b',
                          '0000000c-0000-4000-8000-00000000000c')
ACTION_PATH = '/servers/%s/action' % SOURCE


@pytest.fixture(autouse=True)
def conf():
    fixture = config_fixture.Config(CONF)
    fixture.setUp()
    CONF([], project='nova', default_config_files=[], default_config_dirs=[])
    fixture.config(clone_secret=SECRET, group='pwnetizer')
    nova_policy.reset()
    nova_policy.init()
    # Today's defaults, whatever an earlier test (Nova's harness) left set.
    fixture.config(enforce_new_defaults=True, group='oslo_policy')
    nova_policy.reset()
    nova_policy.init()
    yield fixture
    nova_policy.reset()
    fixture.cleanUp()


def make_context(roles=('member',), project_id=PROJECT, user_id=USER):
    return nova_context.RequestContext(user_id=user_id, project_id=project_id,
                                       roles=list(roles))


def make_instance(**fields):
    values = dict(
        uuid=SOURCE, project_id=PROJECT, user_id=USER, vm_state='active',
        task_state=None, host='compute1', image_ref=IMAGE, display_name='web',
        display_description='the web server', key_name='key1',
        key_data='ssh-ed25519 AAAA test', user_data='IyEvYmluL3NoCg==',
        availability_zone='az1', locked=False, metadata={}, numa_topology=None,
        config_drive='',
        pci_requests=None,
        flavor=objects.Flavor(flavorid='1', name='m1.small', memory_mb=512, vcpus=1,
                              root_gb=1, ephemeral_gb=0, swap=0, extra_specs={}),
        info_cache=objects.InstanceInfoCache(network_info=network_model.NetworkInfo(
            [network_model.VIF(id=PORT_B), network_model.VIF(id=PORT_A),
             network_model.VIF(id=PORT_C)])))
    values.update(fields)
    return objects.Instance(**values)


def port(port_id, network_id, groups=(), project_id=PROJECT, device_owner='compute:az1'):
    return {'id': port_id, 'network_id': network_id, 'device_id': SOURCE,
            'security_groups': list(groups), 'project_id': project_id,
            'device_owner': device_owner}


class Cloud:
    """The fakes a test shapes: the source, its ports, BDMs and family."""

    def __init__(self):
        self.instance = make_instance()
        # Neutron's order differs from the guest's (B, A)
        self.ports = [port(PORT_A, 'net-a', ['sg-1', 'sg-2']),
                      port(PORT_B, 'net-b', ['sg-2']),
                      port(PORT_C, 'net-a', ['sg-3']),
                      # ports that only name the source as their device:
                      # another project's, and one Nova did not bind
                      port('5b00f000-0000-4000-8000-000000000001', 'net-x', ['sg-4'],
                           project_id='another'),
                      port('5b00f000-0000-4000-8000-000000000002', 'net-x', ['sg-4'],
                           device_owner='')]
        self.bdms = [objects.BlockDeviceMapping(source_type='image',
                                                destination_type='local')]
        self.family = []
        self.building = []    # the project's servers building
        self.racing = []      # clones another request makes during create()
        self.deleted = []
        self.groups = [{'id': 'sg-1', 'name': 'default'}, {'id': 'sg-2', 'name': 'web'},
                       {'id': 'sg-3', 'name': 'dup'}, {'id': 'sg-4', 'name': 'dup'}]
        self.create_error = None
        self.downstream = []
        self.contract = None   # (template, secret) create() was given
        self.current_flavor = None   # the flavor's lookup now (None: the embedded one)

    def delete(self, context, instance):
        self.deleted.append(instance.uuid)

    def get_all(self, context, search_opts=None, **kwargs):
        if (search_opts or {}).get('vm_state') == 'building':
            return list(self.building)
        return list(self.family)

    def flavor_by_id(self, context, flavorid, read_deleted=None):
        assert read_deleted == 'no' and flavorid == self.instance.flavor.flavorid
        if isinstance(self.current_flavor, Exception):
            raise self.current_flavor
        return self.current_flavor or self.instance.flavor

    def get(self, context, server_id, expected_attrs=None):
        if server_id != self.instance.uuid:
            raise exception.InstanceNotFound(instance_id=server_id)
        return self.instance

    def create(self, context, flavor, image_href, **kwargs):
        if self.create_error:
            raise self.create_error
        self.contract = contracting_compute._CONTRACT.get()
        count = kwargs['max_count']
        names = [kwargs['display_name']] if count == 1 else [
            '%s-%d' % (kwargs['display_name'], i + 1) for i in range(count)]
        made = [objects.Instance(uuid='9999999%d-0000-4000-8000-000000000000' % i,
                                 display_name=name, vm_state='building',
                                 metadata=dict(kwargs.get('metadata') or {}))
                for i, name in enumerate(names)]
        self.building.extend(self.racing)    # what other requests made meanwhile
        return made, 'r-clones1'

    @webob.dec.wsgify
    def app(self, req):
        self.downstream.append((req.method, req.path_info, req.body))
        return webob.Response(status=200, json_body={'downstream': True})


@pytest.fixture
def cloud():
    cloud = Cloud()
    with mock.patch.object(compute_api.API, '__init__', return_value=None), \
            mock.patch.object(compute_api.API, 'get',
                              side_effect=cloud.get) as get, \
            mock.patch.object(compute_api.API, 'get_all',
                              side_effect=cloud.get_all) as get_all, \
            mock.patch.object(compute_api.API, 'create',
                              side_effect=cloud.create) as create, \
            mock.patch.object(compute_api.API, 'delete', side_effect=cloud.delete), \
            mock.patch.object(neutron.API, 'list_ports',
                              side_effect=lambda *a, **k: {'ports': cloud.ports}) as ports, \
            mock.patch.object(objects.BlockDeviceMappingList, 'get_by_instance_uuid',
                              side_effect=lambda *a: cloud.bdms) as bdms, \
            mock.patch.object(neutron, 'get_client') as client, \
            mock.patch.object(objects.Flavor, 'get_by_flavor_id',
                              side_effect=cloud.flavor_by_id), \
            mock.patch.object(objects.InstanceAction, 'action_start') as action:
        client.return_value.list_security_groups.side_effect = lambda: {
            'security_groups': cloud.groups}
        cloud.mocks = mock.Mock(get=get, get_all=get_all, create=create,
                                list_ports=ports, bdms=bdms, action_start=action)
        cloud.middleware = clone_action.filter_factory({})(cloud.app)
        yield cloud


def call(cloud, body, context=None, path='/v2.1' + ACTION_PATH, method='POST'):
    req = webob.Request.blank(path)
    req.method = method
    if body is not None:
        req.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        req.content_type = 'application/json'
    req.environ['nova.context'] = context or make_context()
    return req.get_response(cloud.middleware)


def fault(response, code, name):
    assert response.status_int == code, response.text
    assert response.content_type == 'application/json'
    body = response.json_body
    assert list(body) == [name] and body[name]['code'] == code
    return body[name]['message']


def create_kwargs(cloud):
    cloud.mocks.create.assert_called_once()
    call_args = cloud.mocks.create.call_args
    return call_args.args, call_args.kwargs


# --- what goes to Nova untouched ---------------------------------------------

@pytest.mark.parametrize('method,path,body', [
    ('POST', '/v2.1' + ACTION_PATH, b'{"reboot": {"type": "SOFT"}}'),
    ('POST', '/v2.1' + ACTION_PATH, b'{"os-stop": null}'),
    ('POST', '/v2.1' + ACTION_PATH, b'not json at all'),
    ('POST', '/v2.1' + ACTION_PATH, b'["clone"]'),
    ('POST', '/v2.1/servers', b'{"server": {"name": "x", "clone": {}}}'),
    ('POST', '/v2.1/servers/%s/metadata' % SOURCE, b'{"metadata": {"clone": "1"}}'),
    ('PUT', '/v2.1' + ACTION_PATH, b'{"clone": {}}'),
    ('GET', '/v2.1/servers/detail', b''),
])
def test_other_requests_reach_nova_with_their_body(cloud, method, path, body):
    response = call(cloud, body, path=path, method=method)
    assert response.status_int == 200 and response.json_body == {'downstream': True}
    assert cloud.downstream == [(method, path, body)]
    cloud.mocks.get.assert_not_called()
    cloud.mocks.create.assert_not_called()


def test_action_paths_with_and_without_version_and_project_id(cloud):
    for path in (ACTION_PATH, '/v2.1' + ACTION_PATH, '/%s%s' % (PROJECT, ACTION_PATH),
                 '/v2/%s%s' % (PROJECT, ACTION_PATH)):
        assert call(cloud, {'clone': {}}, path=path).status_int == 202, path
    assert cloud.mocks.create.call_count == 4
    assert cloud.downstream == []


def test_project_id_in_the_url_must_be_the_tokens(cloud):
    message = fault(call(cloud, {'clone': {}}, path='/%s%s' % (OTHER_PROJECT, ACTION_PATH)),
                    400, 'badRequest')
    assert "doesn't match Context's project_id" in message
    cloud.mocks.get.assert_not_called()


# --- 400 ---------------------------------------------------------------------

def test_malformed_clone_body_is_400(cloud):
    message = fault(call(cloud, b'{"clone": {"count": 2,'), 400, 'badRequest')
    assert message == 'Malformed request body'
    assert cloud.downstream == []


@pytest.mark.parametrize('clone,words', [
    ({'bogus': 1}, "'bogus' was unexpected"),
    ({'count': 0}, 'clone/count'),
    ({'count': '2'}, 'clone/count'),
    ({'count': True}, 'clone/count'),
    ({'placement': 'nearby'}, "'nearby' is not one of ['spread', 'pack', 'any']"),
    ({'randomize': 'yes'}, 'clone/randomize'),
    ({'name': ''}, 'clone/name'),
    ({'name': 'x' * 256}, 'clone/name'),
    ({'metadata': {'pwnetizer_family': 'mine'}}, "'pwnetizer_family'"),
    ({'metadata': {'role': 1}}, 'clone/metadata/role'),
    ({'metadata': {'role': 'x' * 256}}, 'clone/metadata/role'),
    ({'metadata': {'': 'x'}}, 'clone/metadata'),
    ([], 'clone'),
])
def test_schema_violations_are_400(cloud, clone, words):
    message = fault(call(cloud, {'clone': clone}), 400, 'badRequest')
    assert words in message
    cloud.mocks.get.assert_not_called()


def test_unknown_top_level_key_is_400(cloud):
    message = fault(call(cloud, {'clone': {}, 'server': {}}), 400, 'badRequest')
    assert "'server' was unexpected" in message


def test_count_over_the_configured_largest_is_400(cloud, conf):
    conf.config(max_clones_per_request=3, group='pwnetizer')
    message = fault(call(cloud, {'clone': {'count': 4}}), 400, 'badRequest')
    assert 'more than the 3 clones' in message
    assert call(cloud, {'clone': {'count': 3}}).status_int == 202


# --- 404 / 403 -----------------------------------------------------------------

def test_unknown_server_is_404(cloud):
    path = '/v2.1/servers/%s/action' % MEMBER
    message = fault(call(cloud, {'clone': {}}, path=path), 404, 'itemNotFound')
    assert MEMBER in message
    cloud.mocks.create.assert_not_called()


@pytest.mark.parametrize('roles,project_id', [
    (['reader'], PROJECT),
    (['member'], OTHER_PROJECT),
    (['reader', 'member'], OTHER_PROJECT),
    ([], PROJECT),
])
def test_policy_refuses_readers_and_other_projects(cloud, roles, project_id):
    context = make_context(roles=roles, project_id=project_id)
    message = fault(call(cloud, {'clone': {}}, context=context), 403, 'forbidden')
    assert policies.CLONE in message
    cloud.mocks.create.assert_not_called()
    cloud.mocks.action_start.assert_not_called()


@pytest.mark.parametrize('roles', [['member'], ['reader', 'member'], ['admin']])
def test_policy_lets_members_and_admins_of_the_project_clone(cloud, roles):
    response = call(cloud, {'clone': {}}, context=make_context(roles=roles))
    assert response.status_int == 202, response.text


def test_admin_of_another_project_passes_policy_but_cannot_clone_there(cloud):
    context = make_context(roles=['admin'], project_id=OTHER_PROJECT)
    message = fault(call(cloud, {'clone': {}}, context=context), 409, 'conflictingRequest')
    assert 'of another project' in message and PROJECT in message


def test_rule_registered_again_on_a_new_enforcer(cloud):
    assert call(cloud, {'clone': {}}).status_int == 202
    nova_policy.reset()     # as Nova's test fixtures do between tests
    nova_policy.init()
    assert policies.CLONE not in nova_policy._ENFORCER.registered_rules
    assert call(cloud, {'clone': {}}).status_int == 202
    assert policies.CLONE in nova_policy._ENFORCER.registered_rules


def test_operator_rule_wins_over_the_default(cloud):
    nova_policy.set_rules(oslo_policy.Rules.from_dict({policies.CLONE: '!'}),
                          overwrite=False)
    fault(call(cloud, {'clone': {}}, context=make_context(roles=['admin'])),
          403, 'forbidden')


# --- 409 -----------------------------------------------------------------------

@pytest.mark.parametrize('secret,why', [(None, 'unset'), ('sekrit', 'shorter than 32'),
                                        ('changeme', 'well-known default')])
def test_cloning_disabled_without_a_strong_secret_is_409(cloud, conf, caplog, secret, why):
    conf.config(clone_secret=secret, group='pwnetizer')
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert message == 'Cloning is not enabled in this cloud.'   # no detail to tenants
    assert why in caplog.text and 'clone_secret' in caplog.text
    cloud.mocks.create.assert_not_called()


@pytest.mark.parametrize('fields,words', [
    ({'vm_state': 'stopped'}, 'vm_state stopped'),
    ({'vm_state': 'paused'}, 'vm_state paused'),
    ({'task_state': 'rebooting'}, 'task_state rebooting'),
    ({'host': None}, 'has no host'),
    ({'image_ref': ''}, 'boots from a volume'),
    ({'locked': True}, 'locked'),
])
def test_source_state_conflicts_are_409(cloud, fields, words):
    cloud.instance = make_instance(**fields)
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert words in message
    cloud.mocks.create.assert_not_called()
    cloud.mocks.action_start.assert_not_called()


def test_attached_volume_is_409(cloud):
    cloud.bdms.append(objects.BlockDeviceMapping(source_type='volume',
                                                 destination_type='volume'))
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert 'volumes attached' in message
    cloud.mocks.bdms.assert_called_once_with(mock.ANY, SOURCE)


@pytest.mark.parametrize('field,value,words', [
    ('numa_topology', objects.InstanceNUMATopology(cells=[objects.InstanceNUMACell(
        id=0, cpuset=set(), pcpuset={0}, memory=512, cpu_pinning={0: 1})]),
     'NUMA topology'),
    ('pci_requests', objects.InstancePCIRequests(requests=[objects.InstancePCIRequest(
        count=1, spec=[{'vendor_id': '8086'}])]), 'PCI devices'),
])
def test_a_source_with_host_claimed_resources_is_409(cloud, field, value, words):
    setattr(cloud.instance, field, value)
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert words in message and 'another host' in message
    assert cloud.contract is None      # nothing created


@pytest.mark.parametrize('spec', [{'resources:VGPU': '1'}, {'resources1:VGPU': '1'},
                                  {'accel:device_profile': 'fpga'}])
def test_a_source_with_a_virtual_gpu_or_accelerator_is_409(cloud, spec):
    cloud.instance.flavor.extra_specs = spec
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert 'virtual GPUs or accelerators' in message
    assert cloud.contract is None


def test_a_source_with_an_empty_pci_request_list_clones(cloud):
    cloud.instance.pci_requests = objects.InstancePCIRequests(requests=[])
    assert call(cloud, {'clone': {}}).status_int == 202


def _building(source, count):
    return [make_instance(uuid='b0000000-0000-4000-8000-00000000000%d' % i,
                          vm_state='building', metadata={'pwnetizer_source': source})
            for i in range(count)]


@pytest.mark.parametrize('of_source,others,count,limits,refused', [
    (7, 0, 1, (8, 16), None),
    (7, 0, 2, (8, 16), 'server ' + SOURCE),
    (0, 15, 2, (8, 16), 'this project'),
    (2, 2, 4, (8, 8), None),
])
def test_clones_in_flight_are_capped_per_server_and_project(cloud, of_source, others, count,
                                                            limits, refused):
    CONF.set_override('max_clones_in_flight_per_server', limits[0], group='pwnetizer')
    CONF.set_override('max_clones_in_flight_per_project', limits[1], group='pwnetizer')
    # (a building server that is no clone does not count)
    cloud.building = (_building(SOURCE, of_source) + _building(MEMBER, others)
                      + [make_instance(vm_state='building', metadata={})])
    try:
        response = call(cloud, {'clone': {'count': count}})
    finally:
        CONF.clear_override('max_clones_in_flight_per_server', group='pwnetizer')
        CONF.clear_override('max_clones_in_flight_per_project', group='pwnetizer')
    if refused is None:
        assert response.status_int == 202
    else:
        message = fault(response, 409, 'conflictingRequest')
        assert refused in message and 'at most' in message
        assert cloud.contract is None


def test_clones_made_past_the_caps_by_requests_at_the_same_time_are_deleted(cloud):
    # another request's 7 clones were not building yet when this one counted
    cloud.racing = _building(SOURCE, 7)
    message = fault(call(cloud, {'clone': {'count': 2}}), 409, 'conflictingRequest')
    assert 'at most 8' in message
    assert cloud.deleted == ['99999990-0000-4000-8000-000000000000',
                             '99999991-0000-4000-8000-000000000000']
    cloud.mocks.action_start.assert_not_called()


def test_a_request_within_the_caps_keeps_its_clones(cloud):
    cloud.racing = _building(SOURCE, 6)
    assert call(cloud, {'clone': {'count': 2}}).status_int == 202
    assert cloud.deleted == []


# --- create() failures ---------------------------------------------------------

@pytest.mark.parametrize('error,code,name,words', [
    (exception.TooManyInstances(overs='instances', req=2, used=9, allowed=10),
     403, 'forbidden', 'Quota exceeded for instances'),
    (exception.MetadataLimitExceeded(allowed=128), 403, 'forbidden', '128'),
    (exception.ImageNotFound(image_id=IMAGE), 409, 'conflictingRequest', 'is gone'),
    (exception.FlavorNotFound(flavor_id='1'), 409, 'conflictingRequest', 'is gone'),
    (exception.NetworkNotFound(network_id='net-a'), 409, 'conflictingRequest', 'net-a'),
    (exception.PortInUse(port_id=PORT_A), 409, 'conflictingRequest', PORT_A),
    (exception.InvalidMetadata(reason='bad'), 400, 'badRequest', 'bad'),
    (exception.ImageNotActive(image_id=IMAGE), 400, 'badRequest', IMAGE),
])
def test_create_failures_map_like_nova(cloud, error, code, name, words):
    cloud.create_error = error
    message = fault(call(cloud, {'clone': {'count': 2}}), code, name)
    assert words in message
    cloud.mocks.action_start.assert_not_called()


# --- 202 -----------------------------------------------------------------------

def test_clone_creates_marked_servers_with_signed_hints(cloud):
    cloud.instance = make_instance(metadata={'pwnetizer_family': 'fam-1', 'app': 'web'})
    cloud.family = [
        make_instance(metadata={'pwnetizer_family': 'fam-1'}),                 # the source
        make_instance(uuid=MEMBER, metadata={'pwnetizer_family': 'fam-1'}),
        # the DB filter matches key and value apart: not of the family
        make_instance(uuid='12121212-0000-4000-8000-000000000000',
                      metadata={'pwnetizer_family': 'fam-2', 'x': 'fam-1'}),
    ]
    context = make_context()
    body = {'clone': {'name': 'web2', 'count': 2, 'randomize': True,
                      'placement': 'pack', 'metadata': {'role': 'frontend'}}}

    response = call(cloud, body, context=context)

    assert response.status_int == 202, response.text
    assert response.content_type == 'application/json'
    assert response.json_body == {'clone': {
        'reservation_id': 'r-clones1',
        'servers': [{'id': '99999990-0000-4000-8000-000000000000', 'name': 'web2-1'},
                    {'id': '99999991-0000-4000-8000-000000000000', 'name': 'web2-2'}]}}
    assert cloud.downstream == []

    args, kwargs = create_kwargs(cloud)
    assert args[0] is context
    assert args[1] is cloud.instance.flavor and args[2] == IMAGE
    assert kwargs['min_count'] == kwargs['max_count'] == 2
    assert kwargs['display_name'] == 'web2'
    assert kwargs['display_description'] == 'the web server'
    assert (kwargs['key_name'], kwargs['key_data'], kwargs['user_data']) == (
        'key1', 'ssh-ed25519 AAAA test', 'IyEvYmluL3NoCg==')
    assert kwargs['availability_zone'] == 'az1'
    assert kwargs['supports_port_resource_request'] is True

    # one NIC per source port, in the guest's order; the ports' groups
    assert [(r.network_id, r.port_id) for r in kwargs['requested_networks']] == [
        ('net-b', None), ('net-a', None), ('net-a', None)]
    # by name where unique (as Nova's API passes them), else by id
    assert kwargs['security_groups'] == ['web', 'default', 'sg-3']
    cloud.mocks.list_ports.assert_called_once_with(context, device_id=SOURCE)

    # the one hint: the signed placement, no host name
    assert list(kwargs['scheduler_hints']) == [clonerequest.HINT_KEY]
    assert 'compute1' not in kwargs['scheduler_hints'][clonerequest.HINT_KEY]
    placement = clone_placement.ClonePlacement.from_hints(
        kwargs['scheduler_hints'], [SECRET], PROJECT)
    assert (placement.source_uuid, placement.family, placement.members,
            placement.placement) == (SOURCE, 'fam-1', [SOURCE, MEMBER], 'pack')
    # the contract each new instance gets in its system metadata
    template, secret, device_models = cloud.contract
    assert secret == SECRET
    assert device_models == [{}, {}]   # the image declares no device models
    assert (template.source_uuid, template.source_host, template.project_id) == (
        SOURCE, 'compute1', PROJECT)
    assert (template.family, template.members) == ('fam-1', [SOURCE, MEMBER])
    assert (template.placement, template.randomize) == ('pack', True)
    assert not template.obj_attr_is_set('clone_uuid')
    assert 0 < template.expires_at - time.time() <= CONF.pwnetizer.contract_ttl
    (family_call,) = [c for c in cloud.mocks.get_all.call_args_list
                      if 'metadata' in c.kwargs['search_opts']]
    search = family_call.kwargs['search_opts']
    assert 'system_metadata' in family_call.kwargs['expected_attrs']
    assert search['project_id'] == PROJECT and search['deleted'] is False
    assert search['metadata'] == [{'pwnetizer_family': 'fam-1'}]

    metadata = kwargs['metadata']
    assert metadata['role'] == 'frontend' and 'app' not in metadata
    assert metadata['pwnetizer_source'] == SOURCE
    assert metadata['pwnetizer_family'] == 'fam-1'
    assert sorted(k for k in metadata if clonerequest.is_reserved(k)) == [
        'pwnetizer_family', 'pwnetizer_source']   # nothing else for tenants to read

    cloud.mocks.action_start.assert_called_once_with(context, SOURCE, 'pwnetizer_clone',
                                                     want_result=False)


def test_clone_defaults(cloud):
    cloud.instance = make_instance(availability_zone=None, key_name=None, key_data=None)
    cloud.ports = []
    response = call(cloud, {'clone': {}})
    assert response.status_int == 202, response.text
    assert response.json_body['clone']['servers'] == [
        {'id': '99999990-0000-4000-8000-000000000000', 'name': 'web-clone'}]

    _, kwargs = create_kwargs(cloud)
    assert kwargs['min_count'] == kwargs['max_count'] == 1
    assert kwargs['display_name'] == 'web-clone'
    assert 'availability_zone' not in kwargs
    assert kwargs['key_name'] is None and kwargs['key_data'] is None
    assert kwargs['config_drive'] is None    # none, as the source
    # a source without ports: clones without networks, not auto-allocated ones
    assert [r.network_id for r in kwargs['requested_networks']] == ['none']
    assert kwargs['security_groups'] is None
    placement = clone_placement.ClonePlacement.from_hints(
        kwargs['scheduler_hints'], [SECRET], PROJECT)
    assert placement.family == SOURCE and placement.members == [SOURCE]
    assert placement.placement == 'spread' and cloud.contract[0].randomize is False
    assert kwargs['metadata']['pwnetizer_family'] == SOURCE
    assert kwargs['metadata']['pwnetizer_source'] == SOURCE


def test_clones_of_a_server_with_a_config_drive_get_one(cloud):
    # each one its own: the clone's host builds it from the clone
    cloud.instance = make_instance(config_drive='True')
    assert call(cloud, {'clone': {}}).status_int == 202
    assert create_kwargs(cloud)[1]['config_drive'] == 'True'


def _declaring(uuid=SOURCE, model='virtio', **fields):
    return make_instance(uuid=uuid, metadata={'pwnetizer_family': SOURCE},
                         system_metadata={'image_hw_vif_model': model,
                                          'image_pwnetizer_hw_vif_models':
                                              'virtio,e1000,rtl8139'}, **fields)


def test_randomized_clones_get_device_models_least_used_first(cloud):
    cloud.instance = _declaring()
    cloud.family = [cloud.instance, _declaring(uuid=MEMBER, model='e1000')]
    response = call(cloud, {'clone': {'count': 2, 'randomize': True}})
    assert response.status_int == 202, response.text
    first, second = cloud.contract.device_models
    # the family has virtio and e1000; then each model once
    assert first == {'nic': 'rtl8139'}
    assert second['nic'] in ('virtio', 'e1000', 'rtl8139')
    # only a randomized request gets models
    call(cloud, {'clone': {'count': 2}})
    assert cloud.contract.device_models == []


def test_the_operators_lists_decide_the_models_of_the_clones(cloud, conf):
    cloud.instance = _declaring()
    conf.config(denied_models={'nic': 'rtl8139|virtio'}, group='randomize')
    assert call(cloud, {'clone': {'count': 3, 'randomize': True}}).status_int == 202
    assert cloud.contract.device_models == [{'nic': 'e1000'}] * 3
    conf.config(denied_models={'nic': 'rtl8139|virtio|e1000'}, group='randomize')
    message = fault(call(cloud, {'clone': {'randomize': True}}), 409, 'conflictingRequest')
    assert 'cannot get other device models: no nic model is left' in message
    conf.config(denied_models={'nic': 'tulip'}, group='randomize')
    message = fault(call(cloud, {'clone': {'randomize': True}}), 500, 'computeFault')
    assert message == 'Device randomization is misconfigured in this cloud.'


def test_long_source_name_is_cut_to_nova_length(cloud):
    cloud.instance = make_instance(display_name='n' * 255)
    assert call(cloud, {'clone': {}}).status_int == 202
    name = create_kwargs(cloud)[1]['display_name']
    assert len(name) == 255 and name.endswith('-clone')


# --- pieces ----------------------------------------------------------------------

def test_schema_accepts_a_full_body_and_fills_defaults():
    body = {'clone': {'name': 'a', 'count': 64, 'randomize': False, 'placement': 'any',
                      'metadata': {'k:e.y-_ 1': '', 'pwnetizer': 'not the prefix'}}}
    assert schema.validate(body) is None
    assert schema.validate({'clone': {}}) is None
    assert schema.with_defaults({}) == {'count': 1, 'randomize': False,
                                        'placement': 'spread', 'metadata': {},
                                        'name': None, 'address_pairs': False}
    assert schema.validate({'clone': {'address_pairs': True}}) is None
    assert 'address_pairs' in schema.validate({'clone': {'address_pairs': 'yes'}})
    assert schema.clone['properties']['clone']['properties']['placement']['enum'] == list(
        clonerequest.PLACEMENTS)


def test_list_rules_is_what_the_sample_generator_lists():
    rules = policies.list_rules()
    assert [r.name for r in rules] == ['os_compute_api:servers:clone']
    rule = rules[0]
    assert isinstance(rule, oslo_policy.DocumentedRuleDefault)
    assert rule.check_str == 'rule:project_member_or_admin'
    assert rule.scope_types == ['project']
    assert rule.operations == [{'method': 'POST',
                                'path': '/servers/{server_id}/action (clone)'}]
    assert rule.description


def test_register_is_idempotent():
    enforcer = nova_policy._ENFORCER
    policies.register(enforcer)
    policies.register(enforcer)
    assert policies.CLONE in enforcer.registered_rules
    assert str(enforcer.rules[policies.CLONE]) == str(policies.list_rules()[0].check)


# --- the checks of Nova's own POST /servers -------------------------------------


@pytest.mark.parametrize('rule', ['os_compute_api:servers:create',
                                  'os_compute_api:servers:create:attach_network'])
def test_a_clone_needs_the_create_policies_of_nova(cloud, rule):
    nova_policy.set_rules(oslo_policy.Rules.from_dict({rule: '!'}), overwrite=False)
    message = fault(call(cloud, {'clone': {}}), 403, 'forbidden')
    assert rule in message
    cloud.mocks.create.assert_not_called()


def test_attach_network_is_not_asked_of_a_clone_without_networks(cloud):
    nova_policy.set_rules(oslo_policy.Rules.from_dict(
        {'os_compute_api:servers:create:attach_network': '!'}), overwrite=False)
    cloud.ports = []
    assert call(cloud, {'clone': {}}).status_int == 202


def test_a_flavor_gone_or_no_longer_shared_is_409(cloud):
    cloud.current_flavor = exception.FlavorNotFound(flavor_id='1')
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert 'not available to this project' in message
    cloud.mocks.create.assert_not_called()


def test_a_flavor_of_other_sizes_under_the_same_id_is_409(cloud):
    cloud.current_flavor = objects.Flavor(flavorid='1', name='m1.small', memory_mb=4096,
                                          vcpus=1, root_gb=1, ephemeral_gb=0, swap=0,
                                          extra_specs={})
    message = fault(call(cloud, {'clone': {}}), 409, 'conflictingRequest')
    assert 'memory_mb changed' in message
    cloud.mocks.create.assert_not_called()


def test_the_clones_get_the_flavor_as_it_is_now(cloud):
    now = objects.Flavor(flavorid='1', name='m1.small', memory_mb=512, vcpus=1, root_gb=1,
                         ephemeral_gb=0, swap=0, extra_specs={'hw:cpu_policy': 'shared'})
    cloud.current_flavor = now
    assert call(cloud, {'clone': {}}).status_int == 202
    assert create_kwargs(cloud)[0][1] is now
