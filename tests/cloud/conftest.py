"""Print the cloud test's figures in pytest's summary (also without -s)."""

import json


def pytest_terminal_summary(terminalreporter):
    from tests.cloud import test_cloud_clone
    if test_cloud_clone.FIGURES:
        terminalreporter.section('cloud clone figures')
        terminalreporter.write_line(json.dumps(test_cloud_clone.FIGURES, indent=1))
