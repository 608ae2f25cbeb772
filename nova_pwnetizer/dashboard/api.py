"""The clone action for Horizon, through :mod:`nova_pwnetizer.client` with
the logged-in user's token, as ``openstack_dashboard.api.nova`` reaches Nova."""

from django.conf import settings
from keystoneauth1 import adapter
from keystoneauth1 import session
from keystoneauth1 import token_endpoint
from openstack_auth import utils as auth_utils

from openstack_dashboard.api import base
from openstack_dashboard.contrib.developer.profiler import api as profiler

from nova_pwnetizer import client


def compute_adapter(request):
    """A keystoneauth Adapter of the compute endpoint of the user's service
    catalog, authenticated with the user's token (as Horizon's
    ``api.nova.computeclient``)."""
    cacert = settings.OPENSTACK_SSL_CACERT
    verify = False if settings.OPENSTACK_SSL_NO_VERIFY else (cacert or True)
    auth = token_endpoint.Token(endpoint=base.url_for(request, 'compute'),
                                token=request.user.token.id)
    sess = session.Session(auth=auth, verify=verify,
                           original_ip=auth_utils.get_client_ip(request),
                           app_name='horizon')
    return adapter.Adapter(sess, service_type='compute',
                           region_name=request.user.services_region)


@profiler.trace
def server_clone(request, instance_id, name=None, count=None, randomize=None,
                 placement=None, metadata=None):
    """Clone the running server ``instance_id``: the
    :class:`nova_pwnetizer.client.Reservation` of the new servers; raises
    :class:`nova_pwnetizer.client.CloneFailed` with Nova's status and message."""
    return client.clone_server(compute_adapter(request), instance_id, name=name,
                               count=count, randomize=randomize,
                               placement=placement, metadata=metadata)
