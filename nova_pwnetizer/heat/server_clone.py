"""``OS::Pwnetizer::ServerClone``: live clones of a running Nova server.

Loaded by heat-engine from ``plugin_dirs`` (see ``doc/heat.md``).  The clone
action is posted with :func:`nova_pwnetizer.client.clone_server`; the clones
are then ordinary Nova servers, polled and deleted through Heat's nova
client plugin.

The resource id is the reservation id of the clone request; the clones' ids
are stored in the resource data at once, and delete falls back to listing
the servers of the reservation should that data be missing.
"""

from keystoneauth1 import adapter
from novaclient import exceptions as nova_exceptions
from oslo_serialization import jsonutils

from heat.common import exception
from heat.common.i18n import _
from heat.engine import attributes
from heat.engine.clients.os import nova
from heat.engine import constraints
from heat.engine import properties
from heat.engine import resource
from heat.engine import support

from nova_pwnetizer.api import schema
from nova_pwnetizer import client
from nova_pwnetizer import clonerequest

MAX_COUNT = schema.COUNT_MAX_DEFAULT

#: metadata of a clone that hold its figures, once it is ACTIVE
FIGURES_METADATA = {'pause_ms': 'pwnetizer_pause_ms', 'ready_s': 'pwnetizer_ready_s'}


def compute_adapter(nova_plugin):
    """A keystoneauth Adapter of the compute API, as :mod:`nova_pwnetizer.client`
    takes it: the session (the stack's credentials), interface and region of
    the novaclient that Heat's nova client plugin made."""
    legacy = nova_plugin.client().client    # novaclient's SessionClient
    return adapter.Adapter(session=legacy.session, auth=legacy.auth,
                           service_type=legacy.service_type,
                           service_name=legacy.service_name,
                           interface=legacy.interface,
                           region_name=legacy.region_name,
                           endpoint_override=legacy.endpoint_override,
                           connect_retries=legacy.connect_retries)


def find_server(nova_plugin, name_or_id):
    """The server of that ID or else of exactly that name (EntityNotFound,
    PhysicalResourceNameAmbiguity)."""
    try:
        return nova_plugin.get_server(name_or_id)
    except exception.EntityNotFound:
        pass
    try:
        return nova_plugin.client().servers.find(name=name_or_id)
    except nova_exceptions.NotFound:
        raise exception.EntityNotFound(entity='Server', name=name_or_id)
    except nova_exceptions.NoUniqueMatch:
        raise exception.PhysicalResourceNameAmbiguity(name=name_or_id)


class SourceServerConstraint(nova.NovaBaseConstraint):
    """A server the caller sees, by ID or by unique name (Heat's own
    ``nova.server`` only accepts IDs)."""

    expected_exceptions = (exception.EntityNotFound,
                           exception.PhysicalResourceNameAmbiguity)

    def validate_with_client(self, client, value):
        find_server(client.client_plugin(nova.CLIENT_NAME), value)


class ServerClone(resource.Resource):
    """Live clones of a running Nova server (nova-pwnetizer).

    The clones continue from the source's memory, CPU and disk state; each is
    an ordinary Nova server with its own ports, name and UUID.  The source
    must be ACTIVE, unlocked, without volumes, in a cloud with the
    nova-pwnetizer clone action.  Any change of a property replaces the
    clones.
    """

    support_status = support.SupportStatus(
        version='27.0.0',
        message=_('Provided by the nova-pwnetizer plugin.'))

    default_client_name = nova.CLIENT_NAME

    PROPERTIES = (
        SOURCE, NAME, COUNT, RANDOMIZE, PLACEMENT, METADATA,
    ) = (
        'source', 'name', 'count', 'randomize', 'placement', 'metadata',
    )

    ATTRIBUTES = (
        SERVERS, ADDRESSES, FIGURES,
    ) = (
        'servers', 'addresses', 'figures',
    )

    #: resource data key of the clones' ids (JSON list)
    SERVER_IDS = 'server_ids'

    properties_schema = {
        SOURCE: properties.Schema(
            properties.Schema.STRING,
            _('Name or ID of the running server to clone.'),
            required=True,
            constraints=[constraints.CustomConstraint('pwnetizer.server')],
        ),
        NAME: properties.Schema(
            properties.Schema.STRING,
            _('Name of the clones (Nova appends -1, -2, ... when count is '
              'more than 1). Defaults to a name made from the stack and '
              'resource names.'),
        ),
        COUNT: properties.Schema(
            properties.Schema.INTEGER,
            _('How many clones. The cloud refuses more than its '
              '[pwnetizer] max_clones_per_request (8 by default).'),
            default=1,
            constraints=[constraints.Range(min=1, max=MAX_COUNT)],
        ),
        RANDOMIZE: properties.Schema(
            properties.Schema.BOOLEAN,
            _('Give each clone other emulated device models (NIC, disk bus, '
              'video) than the rest of its family, among those the image '
              'declares.'),
            default=False,
        ),
        PLACEMENT: properties.Schema(
            properties.Schema.STRING,
            _('Where the clones go: "spread" away from the source and its '
              'family while other hosts qualify, "pack" close to them, "any" '
              'wherever the scheduler likes.'),
            default='spread',
            constraints=[constraints.AllowedValues(clonerequest.PLACEMENTS)],
        ),
        METADATA: properties.Schema(
            properties.Schema.MAP,
            _('Metadata of the clones (keys starting with "pwnetizer_" are '
              'reserved). Non-string values are JSON-serialized.'),
        ),
    }

    attributes_schema = {
        SERVERS: attributes.Schema(
            _('IDs of the clones, in creation order.'),
            type=attributes.Schema.LIST,
        ),
        ADDRESSES: attributes.Schema(
            _('Network addresses of each clone: a map of clone ID to the '
              'server\'s "addresses" as Nova shows them.'),
            type=attributes.Schema.MAP,
        ),
        FIGURES: attributes.Schema(
            _('Figures of each clone: a map of clone ID to {"pause_ms": the '
              'source\'s pause in ms, "ready_s": seconds until the clone '
              'ran}; null values until the clone has reported them.'),
            type=attributes.Schema.MAP,
        ),
    }

    def _clone_args(self):
        metadata = self.properties[self.METADATA]
        return {
            'name': self.properties[self.NAME] or self.physical_resource_name(),
            'count': self.properties[self.COUNT],
            'randomize': self.properties[self.RANDOMIZE],
            'placement': self.properties[self.PLACEMENT],
            'metadata': (self.client_plugin().meta_serialize(metadata)
                         if metadata else None),
        }

    def validate(self):
        super(ServerClone, self).validate()
        # The API's own schema: blank names, reserved or invalid metadata keys.
        try:
            client.clone_body(**self._clone_args())
        except client.CloneFailed as error:
            raise exception.StackValidationFailed(message=error.message,
                                                  resource=self)

    def handle_create(self):
        source = find_server(self.client_plugin(), self.properties[self.SOURCE])
        try:
            reservation = client.clone_server(compute_adapter(self.client_plugin()),
                                              source.id, **self._clone_args())
        except client.CloneFailed as error:
            raise exception.Error(
                _('Nova refused to clone server %(source)s: %(error)s')
                % {'source': source.id, 'error': error})
        server_ids = reservation.server_ids
        self.resource_id_set(reservation.reservation_id or
                             (server_ids[0] if server_ids else None))
        self.data_set(self.SERVER_IDS, jsonutils.dumps(server_ids))
        return list(server_ids)

    def check_create_complete(self, pending):
        for server_id in list(pending):
            try:
                active = self.client_plugin()._check_active(server_id, 'Clone')
            except exception.ResourceInError as error:
                raise exception.ResourceInError(
                    resource_status=error.kwargs.get('resource_status', 'ERROR'),
                    status_reason=_('clone %(id)s: %(reason)s') % {
                        'id': server_id,
                        'reason': error.kwargs.get('status_reason')})
            if active:
                pending.remove(server_id)
        return not pending

    def _server_ids(self):
        stored = self.data().get(self.SERVER_IDS)
        if stored:
            return jsonutils.loads(stored)
        if self.resource_id is None:
            return []
        if self.resource_id.startswith('r-'):
            servers = self.client().servers.list(
                search_opts={'reservation_id': self.resource_id})
            return [server.id for server in servers]
        return [self.resource_id]

    def handle_delete(self):
        server_ids = self._server_ids()
        for server_id in server_ids:
            with self.client_plugin().ignore_not_found:
                self.client().servers.delete(server_id)
        return list(server_ids)

    def check_delete_complete(self, pending):
        for server_id in list(pending or ()):
            if self.client_plugin().check_delete_server_complete(server_id):
                pending.remove(server_id)
        if pending:
            return False
        # all gone: a retried create (action_retry_limit) starts afresh
        self.data_delete(self.SERVER_IDS)
        if self.resource_id is not None:
            self.resource_id_set(None)
        return True

    def handle_check(self):
        checks = []
        for server_id in self._server_ids():
            server = self.client().servers.get(server_id)
            checks.append({'attr': 'status of clone %s' % server_id,
                           'expected': 'ACTIVE',
                           'current': self.client_plugin().get_status(server)})
        self._verify_check_conditions(checks)

    def _servers(self):
        """The clones still there, in order."""
        servers = []
        for server_id in self._server_ids():
            try:
                servers.append(self.client().servers.get(server_id))
            except Exception as error:
                self.client_plugin().ignore_not_found(error)
        return servers

    @staticmethod
    def _figures(server):
        metadata = getattr(server, 'metadata', None) or {}
        figures = {}
        for name, key in FIGURES_METADATA.items():
            try:
                figures[name] = float(metadata[key])
            except (KeyError, TypeError, ValueError):
                figures[name] = None
        return figures

    def _resolve_attribute(self, name):
        if name == self.SERVERS:
            return self._server_ids()
        if name == self.ADDRESSES:
            return {server.id: getattr(server, 'addresses', {})
                    for server in self._servers()}
        if name == self.FIGURES:
            return {server.id: self._figures(server) for server in self._servers()}

    def _show_resource(self):
        return {'reservation_id': self.resource_id,
                'servers': [server.to_dict() for server in self._servers()]}


def resource_mapping():
    return {'OS::Pwnetizer::ServerClone': ServerClone}


def constraint_mapping():
    return {'pwnetizer.server': SourceServerConstraint}
