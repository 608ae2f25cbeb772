"""Django for the Horizon plugin's tests (tests.unit.dashboard.settings),
set up when pytest collects them, before their modules import Horizon."""

from tests.unit.dashboard import django_env

django_env.setup()

django_test_environment = django_env.test_environment_fixture()


def pytest_configure(config):
    django_env.register_marks(config)
