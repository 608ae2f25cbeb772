"""pytest settings of the functional tests (Nova's test classes under pytest)."""

import pytest


@pytest.fixture(scope='session', autouse=True)
def _nova_test_cases_under_pytest():
    """Nova's TestCase deletes its public attributes at cleanup, the test
    method pytest put on it included; pytest then fails to delete it."""
    from nova import test as nova_test
    clear = nova_test.TestCase._clear_attrs

    def clear_attrs(self):
        method = self.__dict__.get(self._testMethodName)
        clear(self)
        if method is not None:
            self.__dict__[self._testMethodName] = method
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nova_test.TestCase, '_clear_attrs', clear_attrs)
        yield
