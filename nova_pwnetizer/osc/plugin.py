"""The openstackclient plugin module (entry point ``openstack.cli.extension``
``pwnetizer``).

openstackclient loads the commands of the entry point group
``openstack.<API_NAME>.v<major API version>``, here ``openstack.pwnetizer.v1``,
and gives each command ``client_manager.pwnetizer``, made by
:func:`make_client` on first use.  The clone action is a server action of
the compute API, so the client is the compute client openstackclient
already holds (an openstacksdk proxy, a keystoneauth adapter), on which
:mod:`nova_pwnetizer.client` posts.
"""

import logging

from osc_lib import utils

LOG = logging.getLogger(__name__)

API_NAME = 'pwnetizer'
API_VERSION_OPTION = 'os_pwnetizer_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = ('1',)


def make_client(instance):
    """The client of the ``pwnetizer`` commands: the compute client."""
    compute = instance.compute
    LOG.debug('pwnetizer commands use the compute client %s', compute)
    return compute


def build_option_parser(parser):
    """The global option of the plugin: its command set's version."""
    parser.add_argument(
        '--os-pwnetizer-api-version',
        metavar='<pwnetizer-api-version>',
        default=utils.env('OS_PWNETIZER_API_VERSION'),
        help='nova-pwnetizer command set version, default=%s '
             '(Env: OS_PWNETIZER_API_VERSION)' % DEFAULT_API_VERSION,
    )
    return parser
