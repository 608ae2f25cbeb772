"""Python client of the clone action, for scripts and for the openstackclient,
Heat and Horizon plugins::

    from keystoneauth1 import adapter
    from nova_pwnetizer import client

    compute = adapter.Adapter(session, service_type='compute')
    reservation = client.clone_server(compute, server_id, name='web-1b', count=3,
                                      randomize=True, placement='spread')
    servers = client.wait_for_servers(compute, reservation.server_ids)
"""

from nova_pwnetizer.client.clone import clone_body  # noqa: F401
from nova_pwnetizer.client.clone import clone_server  # noqa: F401
from nova_pwnetizer.client.clone import CloneFailed  # noqa: F401
from nova_pwnetizer.client.clone import Reservation  # noqa: F401
from nova_pwnetizer.client.wait import wait_for_servers  # noqa: F401
from nova_pwnetizer.client.wait import WaitTimeout  # noqa: F401
