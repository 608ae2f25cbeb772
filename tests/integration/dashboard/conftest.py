"""Django for the Horizon browser test: the settings of the plugin's unit
tests (tests.unit.dashboard.settings), set up at collection time."""

from tests.unit.dashboard import django_env

django_env.setup()

django_test_environment = django_env.test_environment_fixture()


def pytest_configure(config):
    django_env.register_marks(config)
