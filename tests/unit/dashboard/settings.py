"""Django settings of the Horizon plugin's tests: Horizon's own test settings
(openstack_dashboard.test.settings) with the plugin's enabled file applied,
as Horizon applies the files of openstack_dashboard/local/enabled."""

import os
import socket
import tempfile

# Horizon's test settings set a default socket timeout of 1 s for the whole
# process; the rest of the suite shares the process and keeps its own.
_socket_timeout = socket.getdefaulttimeout()
from openstack_dashboard.test.settings import *  # noqa: E402,F401,F403,H303
socket.setdefaulttimeout(_socket_timeout)

from openstack_dashboard.utils import settings as settings_utils  # noqa: E402

from nova_pwnetizer.dashboard import enabled as pwnetizer_enabled  # noqa: E402

# The files of openstack_dashboard/enabled are applied already; apply ours on
# top (update_dashboards() replaces some keys, so it runs on fresh ones).
_config, _apps = {}, []
settings_utils.update_dashboards([pwnetizer_enabled], _config, _apps)
INSTALLED_APPS[0:0] = _apps  # noqa: F405
HORIZON_CONFIG['plugins'].extend(_apps)  # noqa: F405
HORIZON_CONFIG['panel_customization'].extend(_config['panel_customization'])  # noqa: F405

# Django's TestCase opens the database even though Horizon keeps nothing there.
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}

# django-compressor's output (Horizon's test settings put it in /tmp itself)
COMPRESS_ROOT = os.path.join(tempfile.gettempdir(), 'nova-pwnetizer-horizon-static')

# These tests share their process with the rest of the suite: leave the
# logging configuration alone.
LOGGING_CONFIG = None

#: the plugin's policy snippet (nova_policy.d/pwnetizer.yaml)
PWNETIZER_POLICY_DIR = os.path.join(os.path.dirname(pwnetizer_enabled.__file__), '..',
                                    'conf', 'nova_policy.d')
