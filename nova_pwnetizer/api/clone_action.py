"""The ``clone`` server action, as a paste filter of nova-api.

    POST /v2.1/servers/{server_id}/action
    {"clone": {"name": "web-clone", "count": 2, "placement": "spread",
               "randomize": false, "metadata": {"role": "web"}}}

    202 {"clone": {"reservation_id": "r-...",
                   "servers": [{"id": "...", "name": "web-clone-1"}, ...]}}

The filter creates ``count`` new servers of the source's project with the
source's flavor, image, key, user data, networks (one NIC per source port,
in the guest's order) and security groups, marked with the metadata
``pwnetizer_source`` and ``pwnetizer_family`` (read-only to tenants: the
reserved-key guard), each with its own signed clone contract in its system
metadata (:mod:`nova_pwnetizer.objects.clone_contract`; with ``randomize``
it carries the device models chosen here for that clone,
:mod:`nova_pwnetizer.virt.image_models`), and asks the
scheduler for them with the signed clone placement as the one scheduler
hint; the pwnetizer compute driver of the chosen host then live-clones the
source instead of booting the image.  Every other request goes to Nova
untouched.

api-paste.ini::

    [filter:pwnetizer_clone]
    paste.filter_factory = nova_pwnetizer.api.clone_action:filter_factory

    [composite:openstack_compute_api_v21]
    keystone = ... authtoken keystonecontext pwnetizer_clone osapi_compute_app_v21

(likewise in ``openstack_compute_api_v21_legacy_v2_compatible`` and in a
``noauth2`` pipeline, after ``noauth2``).
"""

import json
import re
import time

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging
import webob.dec

from nova.compute import vm_states
from nova import exception
from nova.network import neutron
from nova import objects
from nova.objects import network_request
from nova import policy as nova_policy

from nova_pwnetizer.api import contracting_compute
from nova_pwnetizer.api import create_checks
from nova_pwnetizer.api import faults
from nova_pwnetizer.api import policies
from nova_pwnetizer.api import reserved_keys_middleware
from nova_pwnetizer.api import schema
from nova_pwnetizer import clone_secret
from nova_pwnetizer import clonerequest
import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer.objects import clone_placement
from nova_pwnetizer import port_settings
from nova_pwnetizer.virt.engine import exception as engine_exception
from nova_pwnetizer.virt import image_models
from nova_pwnetizer.virt.randomize import planner

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

ACTION = 'pwnetizer_clone'   # instance action recorded on the source
META_SOURCE = clonerequest.SOURCE_KEY
META_FAMILY = clonerequest.FAMILY_KEY

# After paste's urlmap: /servers/{id}/action or /{project_id}/servers/{id}/action
# (with the version prefix when the filter runs outside the urlmap).
_ACTION_PATH = re.compile(
    r'^(?:/v2(?:\.1)?)?(?:/(?P<project_id>[^/]+))?/servers/(?P<server_id>[^/]+)/action/?$')


class Fault(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _exceptions(*names):
    """The classes of nova.exception named (those this Nova has)."""
    return tuple(filter(None, (getattr(exception, name, None) for name in names)))


# How compute API create() failures reach the user; as Nova's own
# POST /servers (nova.api.openstack.compute.servers), except that a missing
# flavor, image, network or security group is the source's, gone since: 409.
_CREATE_GONE = _exceptions(
    'FlavorNotFound', 'ImageNotFound', 'NetworkNotFound', 'SecurityGroupNotFound',
    'KeypairNotFound', 'InstanceGroupNotFound')
_CREATE_FORBIDDEN = _exceptions(
    'OverQuota', 'BootFromVolumeRequiredForZeroDiskFlavor',
    'ExternalNetworkAttachForbidden')
_CREATE_CONFLICT = _exceptions(
    'PortInUse', 'InstanceExists', 'NetworkAmbiguous', 'NoUniqueMatch',
    'MixedInstanceNotSupportByComputeService')
_CREATE_INVALID = _exceptions(
    'Invalid', 'ImageNotActive', 'ImageBadRequest', 'ImageNotAuthorized',
    'InstanceUserDataMalformed', 'CertificateValidationFailed', 'DeviceProfileError',
    'ForbiddenPortsWithAccelerator', 'ForbiddenWithRemoteManagedPorts',
    'ExtendedResourceRequestOldCompute', 'MultiattachNotSupportedOldMicroversion',
    'CreateWithPortResourceRequestOldVersion', 'ComputeHostNotFound',
    'VolumeNotFound', 'SnapshotNotFound', 'VolumeTypeNotFound', 'PortNotFound',
    'FixedIpNotFoundForAddress', 'UnableToAutoAllocateNetwork')


class CloneActionMiddleware:
    """Serves ``POST /servers/{id}/action {"clone": ...}``; passes the rest on."""

    def __init__(self, application, compute=None, network=None):
        self.application = application
        self._compute = compute
        self._network = network
        objects.register_all()

    @property
    def compute(self):
        if self._compute is None:
            self._compute = contracting_compute.ContractingAPI()
        return self._compute

    @property
    def network(self):
        if self._network is None:
            self._network = neutron.API()
        return self._network

    @webob.dec.wsgify
    def __call__(self, req):
        match = _ACTION_PATH.match(req.path_info) if req.method == 'POST' else None
        if match is None:
            return req.get_response(self.application)
        # webob keeps the body readable for the application below
        raw = req.body
        try:
            body = json.loads(raw)
        except ValueError:    # also UnicodeDecodeError
            if b'clone' not in raw:
                return req.get_response(self.application)   # Nova's own 400
            return faults.fault_response(400, 'Malformed request body')
        if not isinstance(body, dict) or 'clone' not in body:
            return req.get_response(self.application)
        try:
            return self._clone(req, match.group('project_id'), match.group('server_id'),
                               body)
        except Fault as fault:
            LOG.info('Clone of server %s refused (%d): %s', match.group('server_id'),
                     fault.code, fault.message)
            return faults.fault_response(fault.code, fault.message)

    def _clone(self, req, url_project_id, server_id, body):
        error = schema.validate(body)
        if error:
            raise Fault(400, error)
        args = schema.with_defaults(body['clone'])
        count = args['count']
        limit = CONF.pwnetizer.max_clones_per_request
        if count > limit:
            raise Fault(400, 'Invalid input for field/attribute clone/count: %d is more '
                             'than the %d clones one request may ask for.' % (count, limit))
        context = req.environ.get('nova.context')
        if context is None:
            LOG.error('No nova.context in the request: the pwnetizer_clone filter must '
                      'come after keystonecontext (or noauth2) in the api-paste.ini '
                      'pipelines')
            return faults.fault_response(500, 'The clone action is misconfigured in this cloud.')
        if url_project_id and url_project_id != context.project_id:
            raise Fault(400, "Malformed request URL: URL's project_id '%s' doesn't "
                             "match Context's project_id '%s'"
                        % (url_project_id, context.project_id))
        LOG.info('Clone of server %(uuid)s requested: count %(count)d, placement '
                 '%(placement)s, randomize %(randomize)s',
                 {'uuid': server_id, 'count': count, 'placement': args['placement'],
                  'randomize': args['randomize']})

        try:
            instance = self.compute.get(context, server_id,
                                        expected_attrs=['metadata', 'flavor',
                                                        'system_metadata', 'numa_topology',
                                                        'pci_requests'])
        except exception.InstanceNotFound as error:
            raise Fault(404, error.format_message())
        self._authorize(context, instance)
        self._check_source(context, instance)
        self._check_in_flight(context, instance, count)

        family = clonerequest.family_of(instance.metadata) or instance.uuid
        family_servers = self._family_servers(context, instance, family)
        members = [server.uuid for server in family_servers]
        expires_at = int(time.time()) + CONF.pwnetizer.contract_ttl
        secret = CONF.pwnetizer.clone_secret
        template = clone_contract.CloneContract(
            project_id=instance.project_id, source_uuid=instance.uuid,
            source_host=instance.host, family=family, members=members,
            placement=args['placement'], randomize=args['randomize'],
            address_pairs=args['address_pairs'], expires_at=expires_at)
        hints = clone_placement.ClonePlacement(
            project_id=instance.project_id, source_uuid=instance.uuid, family=family,
            members=members, placement=args['placement'],
            expires_at=expires_at).to_hints(secret)
        requested_networks, security_groups = self._networks(context, instance)
        flavor = self._checked_create(context, instance, requested_networks)
        device_models = (self._device_models(instance, family_servers, flavor, count)
                         if args['randomize'] else [])

        metadata = dict(args['metadata'])
        metadata.update({META_SOURCE: instance.uuid, META_FAMILY: family})
        name = args['name'] or (instance.display_name or instance.uuid)[:249] + '-clone'
        kwargs = {}
        if instance.availability_zone:
            kwargs['availability_zone'] = instance.availability_zone
        instances, reservation_id = self._create(
            context, template, secret, device_models, flavor, instance.image_ref,
            min_count=count, max_count=count,
            display_name=name,
            display_description=instance.display_description,
            key_name=instance.key_name if instance.key_data else None,
            key_data=instance.key_data,
            user_data=instance.user_data,
            # a config drive as the source's (each clone's host builds the
            # clone's own): the clone has the source's devices
            config_drive=instance.config_drive or None,
            metadata=metadata,
            security_groups=security_groups or None,
            requested_networks=requested_networks,
            scheduler_hints=hints,
            check_server_group_quota=True,
            supports_port_resource_request=True,
            **kwargs)
        self._recheck_in_flight(context, instance, instances)

        objects.InstanceAction.action_start(context, instance.uuid, ACTION,
                                            want_result=False)
        servers = [{'id': clone.uuid, 'name': clone.display_name} for clone in instances]
        LOG.info('Clone of server %(uuid)s: %(count)d new server(s) %(ids)s, '
                 'reservation %(resv)s, family %(family)s',
                 {'uuid': instance.uuid, 'count': len(servers),
                  'ids': ', '.join(s['id'] for s in servers), 'resv': reservation_id,
                  'family': family})
        return faults.json_response(202, {'clone': {'reservation_id': reservation_id,
                                                    'servers': servers}})

    @staticmethod
    def _authorize(context, instance):
        nova_policy.init()
        policies.register(nova_policy._ENFORCER)
        try:
            context.can(policies.CLONE, target={'project_id': instance.project_id,
                                                'user_id': instance.user_id})
        except exception.PolicyNotAuthorized as error:
            raise Fault(403, error.format_message())

    def _check_source(self, context, instance):
        weak = clone_secret.problem(CONF.pwnetizer.clone_secret)
        if weak:
            LOG.error('Clone actions are refused: [pwnetizer] clone_secret cannot sign '
                      'clone contracts: %s (set a random one of at least %d '
                      'characters on nova-api, nova-scheduler and the compute hosts)',
                      weak, clone_secret.MIN_LENGTH)
            raise Fault(409, 'Cloning is not enabled in this cloud.')
        if instance.project_id != context.project_id:
            # Nova creates servers in the caller's project; the compute host
            # refuses a clone in another project than its source's.
            raise Fault(409, 'Server %s is of another project: clone it with a token '
                             'of project %s.' % (instance.uuid, instance.project_id))
        if instance.vm_state != vm_states.ACTIVE:
            raise Fault(409, 'Cannot clone server %s while it is in vm_state %s: only '
                             'an active server can be cloned.'
                        % (instance.uuid, instance.vm_state))
        if instance.task_state is not None:
            raise Fault(409, 'Cannot clone server %s while it is in task_state %s.' % (
                instance.uuid, instance.task_state))
        if instance.locked and not context.is_admin:
            raise Fault(409, 'Server %s is locked.' % instance.uuid)
        if not instance.host:
            raise Fault(409, 'Server %s has no host.' % instance.uuid)
        host_bound = _host_bound(instance)
        if host_bound:
            raise Fault(409, 'Server %s has %s, which its host gave it: a live clone '
                             'cannot claim its own on another host.' % (instance.uuid,
                                                                        host_bound))
        if not instance.image_ref:
            raise Fault(409, 'Server %s boots from a volume; servers with volumes '
                             'cannot be cloned.' % instance.uuid)
        bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(context, instance.uuid)
        if any(bdm.is_volume for bdm in bdms):
            raise Fault(409, 'Server %s has volumes attached; servers with volumes '
                             'cannot be cloned.' % instance.uuid)

    def _check_in_flight(self, context, instance, count, made=()):
        """409 when ``count`` more clones would pass the clones building
        of the source or of its project (each waits for its source in a
        build slot of its host); ``made``: clones of this request, counted
        whether Nova lists them yet or not."""
        building = self.compute.get_all(
            context, search_opts={'deleted': False, 'project_id': instance.project_id,
                                  'vm_state': vm_states.BUILDING},
            expected_attrs=['metadata'])
        found = {s.uuid: s for s in building}
        found.update({s.uuid: s for s in made})
        clones = [s for s in found.values() if s.vm_state == vm_states.BUILDING
                  and clonerequest.SOURCE_KEY in (s.metadata or {})]
        of_source = [s for s in clones if s.metadata[clonerequest.SOURCE_KEY] == instance.uuid]
        for found, limit, whose in (
                (of_source, CONF.pwnetizer.max_clones_in_flight_per_server,
                 'server %s' % instance.uuid),
                (clones, CONF.pwnetizer.max_clones_in_flight_per_project, 'this project')):
            if len(found) + count > limit:
                raise Fault(409, '%d clone(s) of %s are building and %d more were asked '
                                 'for: at most %d may be building at once. Try again '
                                 'when some are done.' % (len(found), whose, count, limit))

    def _recheck_in_flight(self, context, instance, made):
        """As Nova rechecks quota: count again with the clones ``made``,
        which requests sent at the same time could not see, and delete
        them (409) when the caps are passed."""
        try:
            self._check_in_flight(context, instance, 0, made)
        except Fault:
            for clone in made:
                try:
                    self.compute.delete(context, clone)
                except Exception as e:   # (Nova's own cleanup: the build fails)
                    LOG.warning('Could not delete clone %s past the caps: %s',
                                clone.uuid, e)
            raise

    @staticmethod
    def _checked_create(context, instance, requested_networks):
        """The flavor of the clones, once the checks of Nova's own
        ``POST /servers`` pass (:mod:`.create_checks`)."""
        try:
            create_checks.authorize_create(context, instance, requested_networks)
        except exception.PolicyNotAuthorized as error:
            raise Fault(403, error.format_message())
        try:
            return create_checks.current_flavor(context, instance)
        except exception.FlavorNotFound:
            raise Fault(409, 'The flavor of server %s is gone or not available to '
                             'this project: its clones cannot be created.' % instance.uuid)
        except create_checks.FlavorChanged as error:
            raise Fault(409, str(error))

    def _family_servers(self, context, instance, family):
        """The servers of the clone family: the source first, then the other
        servers of the project marked with ``family``, oldest first."""
        search = {'deleted': False, 'project_id': instance.project_id,
                  'metadata': [{META_FAMILY: family}]}
        found = self.compute.get_all(context, search_opts=search,
                                     expected_attrs=['metadata', 'system_metadata'],
                                     sort_keys=['created_at'], sort_dirs=['asc'])
        return [instance] + [s for s in clonerequest.marked_with(found, family)
                             if s.uuid != instance.uuid]

    @staticmethod
    def _device_models(instance, family_servers, flavor, count):
        """The device models of each clone (:mod:`.image_models`), chosen
        here once, so that the clones of one request differ too."""
        try:
            return image_models.for_clones(
                count, _system_metadata(instance),
                [_system_metadata(s) for s in family_servers],
                planner.policy_from_conf(CONF),
                extra_specs=flavor.extra_specs if flavor.obj_attr_is_set('extra_specs')
                else {})
        except planner.NoCandidates as error:
            raise Fault(409, 'The clones of server %s cannot get other device models: '
                             '%s' % (instance.uuid, error))
        except engine_exception.PwnetizerError as error:
            LOG.error('Device models cannot be chosen: %s (see [randomize] '
                      'allowed_models and denied_models)', error)
            raise Fault(500, 'Device randomization is misconfigured in this cloud.')

    def _networks(self, context, instance):
        """NetworkRequestList of the clones (one NIC per source port, in the
        guest's order) and the security groups of all the source's ports
        (Nova's create takes one list for all of a server's ports: the
        target host then gives each clone port its own source port's,
        :mod:`nova_pwnetizer.port_settings`)."""
        ports = port_settings.nics_of(
            instance, self.network.list_ports(context, device_id=instance.uuid)['ports'])
        if not ports:
            return objects.NetworkRequestList(objects=[objects.NetworkRequest(
                network_id=network_request.NETWORK_ID_NONE)]), []
        requests = [objects.NetworkRequest(network_id=port['network_id'])
                    for port in ports]
        groups = []
        for port in ports:
            for group in port.get('security_groups') or []:
                if group not in groups:
                    groups.append(group)
        return objects.NetworkRequestList(objects=requests), _group_names(context, groups)

    def _create(self, context, template, secret, device_models, *args, **kwargs):
        try:
            return self.compute.create_clones(context, template, secret, *args,
                                              device_models=device_models, **kwargs)
        except _CREATE_FORBIDDEN as error:
            raise Fault(403, error.format_message())
        except _CREATE_GONE as error:
            raise Fault(409, 'The source server\'s flavor, image, network or security '
                             'group is gone: %s' % error.format_message())
        except _CREATE_CONFLICT as error:
            raise Fault(409, error.format_message())
        except _CREATE_INVALID as error:
            raise Fault(400, error.format_message())
        except messaging.RemoteError as error:
            raise Fault(400, '%s: %s' % (error.exc_type, error.value))


def _host_bound(instance) -> str:
    """What of ``instance`` its host claimed for it alone (none: empty):
    a NUMA topology (dedicated CPUs, NUMA nodes, huge pages) or PCI
    devices.  Nova's live migration claims them anew on the target; the
    clone path does not yet, so such a source is refused."""
    if instance.numa_topology is not None:
        return ('a NUMA topology (its flavor or image asks for dedicated CPUs, NUMA '
                'nodes or huge pages)')
    if instance.pci_requests is not None and instance.pci_requests.requests:
        return 'PCI devices'
    specs = instance.flavor.extra_specs or {}
    if any(key.startswith('resources') and key.endswith(':VGPU') for key in specs) \
            or specs.get('accel:device_profile'):
        return 'virtual GPUs or accelerators'
    return ''


def _system_metadata(instance) -> dict:
    return instance.system_metadata if instance.obj_attr_is_set('system_metadata') else {}


def filter_factory(global_conf, **local_conf):
    """paste.deploy filter factory (``paste.filter_factory``)."""
    def _filter(application):
        return reserved_keys_middleware.ReservedKeysMiddleware(
            CloneActionMiddleware(application))
    return _filter


def _group_names(context, ids):
    """Security groups as Nova's own API passes them: by name where the name
    is unique among the groups the project sees (Nova treats ``default``
    specially), else by id."""
    if not ids:
        return ids
    listed = neutron.get_client(context).list_security_groups().get('security_groups', [])
    names = {g['id']: g.get('name') for g in listed}
    counts = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return [names[i] if names.get(i) and counts[names[i]] == 1 else i for i in ids]
