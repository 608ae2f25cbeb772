"""``openstack server clone``: live-clone a running server (the ``clone``
server action of nova-pwnetizer, through :mod:`nova_pwnetizer.client`)."""

import logging
import time

from cliff import columns
from osc_lib.cli import parseractions
from osc_lib.command import command
from osc_lib import exceptions
from osc_lib import utils
import requests

from nova_pwnetizer.api import schema
from nova_pwnetizer import client
from nova_pwnetizer import clonerequest

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600

_MEMBERS = schema.clone['properties']['clone']['properties']
_NAME_MAX = _MEMBERS['name']['maxLength']
_VALUE_MAX = next(iter(_MEMBERS['metadata']['patternProperties'].values()))['maxLength']


class NetworksColumn(columns.FormattableColumn):
    """A server's addresses as ``openstack server list`` shows them:
    ``net1=10.0.0.5, fd00::5; net2=...``, and ``{"net1": ["10.0.0.5", ...]}``
    in JSON and YAML."""

    def _addresses(self):
        return {network: [address['addr'] for address in addresses if 'addr' in address]
                for network, addresses in (self._value or {}).items()}

    def human_readable(self):
        return utils.format_dict_of_list(self._addresses()) or ''

    def machine_readable(self):
        return self._addresses()


class CloneServer(command.Lister):
    """Clone a running server live

    Each clone is a new server of your project that goes on from the
    server's memory, CPU and disk state, with its own ports, addresses and
    disks, and the server's flavor, image, key pair, networks and security
    groups. The server keeps running; it pauses for tens of milliseconds.
    Only an active server without volumes can be cloned.
    """

    #: seconds between two looks at the clones with --wait
    poll_interval = 2.0
    _clock = staticmethod(time.monotonic)
    _sleep = staticmethod(time.sleep)
    _failure = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'server',
            metavar='<server>',
            help='Server to clone (name or ID)',
        )
        parser.add_argument(
            '--name',
            metavar='<name>',
            help="Name of the new server (default: the server's name followed "
                 "by '-clone'); with --count above 1 the clones are named "
                 "<name>-1, <name>-2, ...",
        )
        parser.add_argument(
            '--count',
            metavar='<count>',
            type=int,
            help='Number of clones to create (default=1; the cloud limits how '
                 'many one request may ask for)',
        )
        randomize_group = parser.add_mutually_exclusive_group()
        randomize_group.add_argument(
            '--randomize',
            action='store_true',
            default=None,
            dest='randomize',
            help='Give each clone other emulated device models (NIC, disk bus, '
                 'video) than the rest of its family, among those the '
                 "server's image declares",
        )
        randomize_group.add_argument(
            '--no-randomize',
            action='store_false',
            default=None,
            dest='randomize',
            help="Give the clones the server's device models (default)",
        )
        parser.add_argument(
            '--address-pairs',
            action='store_true',
            default=None,
            dest='address_pairs',
            help="Give each clone port its source port's allowed address pairs "
                 "(they let the clone claim the server's virtual IPs; by "
                 "default a clone port has none)",
        )
        parser.add_argument(
            '--placement',
            choices=clonerequest.PLACEMENTS,
            help="Where the clones run: 'spread' on other hosts than the server "
                 "and its family while there are some (default), 'pack' on "
                 "the same hosts, 'any' wherever the scheduler chooses",
        )
        parser.add_argument(
            '--property',
            metavar='<key=value>',
            action=parseractions.KeyValueAction,
            dest='properties',
            help='Set a property on the new server '
                 '(repeat option to set multiple values)',
        )
        parser.add_argument(
            '--wait',
            action='store_true',
            help='Wait for the clones to be built; fail if one of them is '
                 'in error',
        )
        parser.add_argument(
            '--timeout',
            metavar='<seconds>',
            type=int,
            help='With --wait, give up waiting after this many seconds '
                 '(default=%d)' % DEFAULT_TIMEOUT,
        )
        return parser

    def take_action(self, parsed_args):
        self._failure = None
        if parsed_args.timeout is not None:
            if not parsed_args.wait:
                raise exceptions.CommandError('--timeout requires --wait')
            if parsed_args.timeout < 1:
                raise exceptions.CommandError('--timeout must be 1 second or more')
        kwargs = {
            'name': parsed_args.name,
            'count': parsed_args.count,
            'randomize': parsed_args.randomize,
            'placement': parsed_args.placement,
            'metadata': parsed_args.properties,
            'address_pairs': parsed_args.address_pairs,
        }
        try:
            client.clone_body(**kwargs)
        except client.CloneFailed as error:
            LOG.debug('Clone body refused by the API schema: %s', error.message)
            raise exceptions.CommandError(_invalid_option(error, parsed_args))

        server = self.app.client_manager.compute.find_server(
            parsed_args.server, ignore_missing=False)
        try:
            reservation = client.clone_server(
                self.app.client_manager.pwnetizer, server.id, **kwargs)
        except client.CloneFailed as error:
            raise exceptions.CommandError(
                'Cannot clone server %s: %s (HTTP %d)'
                % (parsed_args.server, error.message, error.code))
        LOG.info('Clones of server %s: %s (reservation %s)', server.id,
                 ', '.join(reservation.server_ids), reservation.reservation_id)

        if not parsed_args.wait:
            return (('ID', 'Name', 'Status'),
                    [(clone['id'], clone['name'], 'BUILD')
                     for clone in reservation.servers])
        return self._wait(parsed_args, reservation)

    def _wait(self, parsed_args, reservation):
        names = {clone['id']: clone['name'] for clone in reservation.servers}
        timeout = parsed_args.timeout or DEFAULT_TIMEOUT
        try:
            servers = client.wait_for_servers(
                self.app.client_manager.pwnetizer, reservation.server_ids,
                timeout=timeout, interval=self.poll_interval,
                on_progress=self._progress(names),
                clock=self._clock, sleep=self._sleep)
        except client.WaitTimeout:
            raise exceptions.CommandError(
                'Clones of server %s still building after %d s; see them with '
                "'openstack server list --reservation-id %s'"
                % (parsed_args.server, timeout, reservation.reservation_id))
        except requests.RequestException as error:
            raise exceptions.CommandError(
                'Error while waiting for the clones of server %s: %s'
                % (parsed_args.server, error))

        rows = [(server['id'], server.get('name') or names[server['id']],
                 server['status'], NetworksColumn(server.get('addresses') or {}))
                for server in servers]
        failed = [server for server in servers if server['status'] != 'ACTIVE']
        if failed:
            # the table is printed first (run() raises it after)
            self._failure = exceptions.CommandError(
                '%d of %d clones of server %s failed: %s' % (
                    len(failed), len(servers), parsed_args.server,
                    '; '.join('%s (%s): %s' % (server.get('name') or names[server['id']],
                                               server['id'], _reason(server))
                              for server in failed)))
        return ('ID', 'Name', 'Status', 'Networks'), rows

    def _progress(self, names):
        """A progress callback: one line on stderr per change of status."""
        seen = {}

        def report(servers):
            for server in servers:
                status = server.get('status')
                if seen.get(server['id']) == status:
                    continue
                seen[server['id']] = status
                line = '%s (%s): %s' % (server.get('name') or names[server['id']],
                                        server['id'], status)
                if status in ('ERROR', 'DELETED'):
                    line += ' (%s)' % _reason(server)
                self.app.stderr.write(line + '\n')
            flush = getattr(self.app.stderr, 'flush', None)
            if flush:
                flush()
        return report

    def run(self, parsed_args):
        result = super().run(parsed_args)
        if self._failure is not None:
            raise self._failure
        return result


def _reason(server):
    """Why a clone is not ACTIVE."""
    if server.get('status') == 'DELETED':
        return 'deleted while building'
    return (server.get('fault') or {}).get('message') or 'no fault recorded'


def _invalid_option(error, parsed_args):
    """The message of an option the API schema refuses (``error``)."""
    if error.field == 'name':
        return ('Invalid --name %r: a server name is 1 to %d characters, not all '
                'blanks' % (parsed_args.name, _NAME_MAX))
    if error.field == 'count':
        return 'Invalid --count %d: at least 1 clone' % parsed_args.count
    if error.field == 'metadata':
        for key, value in (parsed_args.properties or {}).items():
            try:
                client.clone_body(metadata={key: value})
            except client.CloneFailed:
                return ("Invalid --property %s=%s: keys are 1 to 255 letters, digits, "
                        "spaces and '-_:.', keys starting with '%s' are reserved, "
                        "values are at most %d characters"
                        % (key, value, schema.RESERVED_METADATA_PREFIX, _VALUE_MAX))
    return error.message
