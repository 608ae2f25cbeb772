"""Project-wide pytest settings: a run that executed no test fails; Nova
(the functional tests) runs with native threads, as nova-compute does by
default, so that importing its test base does not monkey-patch the real-VM
tests that share the process with eventlet."""

import os

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
from nova import monkey_patch  # noqa: E402  (before anything imports eventlet)
monkey_patch.patch()

_executed = {'count': 0}


def pytest_runtest_logreport(report):
    if report.when == 'call' and (report.passed or report.failed):
        _executed['count'] += 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _executed['count'] == 0:
        session.exitstatus = 5  # pytest's "no tests ran"
        print('\nERROR: no test was executed (all skipped or deselected)')
