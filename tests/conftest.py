"""Project-wide pytest settings: a run that executed no test fails."""

_executed = {'count': 0}


def pytest_runtest_logreport(report):
    if report.when == 'call' and (report.passed or report.failed):
        _executed['count'] += 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _executed['count'] == 0:
        session.exitstatus = 5  # pytest's "no tests ran"
        print('\nERROR: no test was executed (all skipped or deselected)')
