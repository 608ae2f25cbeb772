"""Fixtures of the cloud tests, and their figures in pytest's summary (also
without -s).  The helpers themselves are in helpers.py."""

import json
import os
import subprocess
import time

import pytest

from tests.cloud import helpers


@pytest.fixture(scope='package')
def cloud():
    """The test cloud, up (tools/cloud/up.sh); down after the last cloud
    test unless PWN_CLOUD_KEEP=1 (its first compute host shares libvirtd
    with the real-VM tests, which must not run beside a nova-compute)."""
    start = time.monotonic()
    subprocess.run([os.path.join(helpers.TOP, 'tools', 'cloud', 'up.sh')], check=True)
    helpers.FIGURES['cloud up (s)'] = round(time.monotonic() - start, 1)
    yield helpers.Cloud()
    if os.environ.get('PWN_CLOUD_KEEP') != '1':
        subprocess.run([os.path.join(helpers.TOP, 'tools', 'cloud', 'down.sh')],
                       check=False)


@pytest.fixture
def servers(cloud):
    """Server ids to delete at the end (and every clone of them)."""
    made = []
    yield made
    for server_id in list(made):
        made += [c['id'] for c in cloud.clones_of(server_id) if c['id'] not in made]
    for server_id in made:
        cloud.compute.delete('/servers/%s' % server_id)
    for server_id in made:
        try:
            cloud.wait_gone(server_id, timeout=180)
        except AssertionError:
            pass


def pytest_terminal_summary(terminalreporter):
    if helpers.FIGURES:
        terminalreporter.section('cloud clone figures')
        terminalreporter.write_line(json.dumps(helpers.FIGURES, indent=1))
