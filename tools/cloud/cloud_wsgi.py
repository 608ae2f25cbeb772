"""The WSGI applications of the test cloud, for gunicorn (tools/cloud/up.sh):
``cloud_wsgi:keystone``, ``:placement``, ``:glance``, ``:nova_api``,
``:neutron``.

Keystone and Nova parse the process's command line as their own options:
gunicorn's are hidden before any of them loads.
"""

import importlib
import sys

sys.argv = sys.argv[:1]

_APPS = {
    'keystone': 'keystone.wsgi.api',
    'placement': 'placement.wsgi.api',
    'glance': 'glance.wsgi.api',
    'nova_api': 'nova.wsgi.osapi_compute',
    'neutron': 'neutron.wsgi.api',
}


def __getattr__(name):
    if name not in _APPS:
        raise AttributeError(name)
    application = importlib.import_module(_APPS[name]).application
    if name == 'neutron':
        # Backrefs such as Port.port_forwardings exist once the mappers are
        # configured, which nothing does before the first port listing.
        from sqlalchemy import orm
        orm.configure_mappers()
    return application
