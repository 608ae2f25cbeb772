"""Django in the middle of the project's pytest process: the settings of
:mod:`tests.unit.dashboard.settings`, and Django's test environment (template
rendering signals for ``response.context``, the test host) for as long as
the Horizon tests run."""

import os

import pytest

SETTINGS = 'tests.unit.dashboard.settings'

_users = []

#: ``pytestmark`` of the Horizon tests: the deprecation warnings of Horizon's
#: test data and default policies, not of this project's code
QUIET = [
    pytest.mark.filterwarnings('ignore::openstack.warnings.OpenStackDeprecationWarning'),
    pytest.mark.filterwarnings('ignore::openstack.warnings.RemovedInSDK50Warning'),
    pytest.mark.filterwarnings('ignore:.*deprecated without deprecated_reason:DeprecationWarning'),
]


def setup():
    configured = os.environ.setdefault('DJANGO_SETTINGS_MODULE', SETTINGS)
    if configured != SETTINGS:
        raise RuntimeError('DJANGO_SETTINGS_MODULE is %s; the Horizon tests need %s'
                           % (configured, SETTINGS))
    import django
    django.setup()


def register_marks(config):
    """The pytest marks Horizon's test helpers put on their classes."""
    for mark in ('selenium', 'plugin_test'):
        config.addinivalue_line('markers', '%s: a mark of Horizon\'s test helpers' % mark)


def test_environment_fixture():
    """A package-scoped autouse fixture: Django's test environment, set up
    once even where two test packages ask for it."""
    @pytest.fixture(scope='package', autouse=True)
    def django_test_environment():
        from django.test import utils
        if not _users:
            utils.setup_test_environment()
        _users.append(None)
        yield
        _users.pop()
        if not _users:
            utils.teardown_test_environment()
    return django_test_environment
