"""``openstack server clone`` through the whole openstackclient shell (in
this process, on the fake Nova): plugin loading, option parsing, output
formats, exit codes and error messages as a user sees them."""

import json
import logging
import os
import warnings

import pytest
import requests_mock

from nova_pwnetizer.osc.v1 import clone
from tests.unit.osc import fakes


@pytest.fixture
def nova(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text('clouds: {}\n')
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(clouds))
    monkeypatch.setattr(clone.CloneServer, 'poll_interval', 0)
    # the shell configures the loggers and the warning filters: put them back
    root = logging.getLogger()
    handlers = root.handlers[:]
    levels = {logger: logger.level for logger in
              [root, *logging.Logger.manager.loggerDict.values()]
              if isinstance(logger, logging.Logger)}
    with requests_mock.Mocker() as mocker, warnings.catch_warnings():
        yield fakes.FakeNova(mocker)
    root.handlers[:] = handlers
    for logger, level in levels.items():
        logger.setLevel(level)


def openstack(capsys, *argv):
    """Run ``openstack ARGV``: exit status, stdout, stderr (less the warnings of
    other plugins that this environment may hold)."""
    from openstackclient import shell
    try:
        rc = shell.main(['--os-auth-type', 'admin_token', '--os-endpoint', fakes.ENDPOINT,
                         '--os-token', fakes.TOKEN, *argv])
    except SystemExit as exit:      # argparse refused an option
        rc = exit.code
    out, err = capsys.readouterr()
    err = ''.join(line for line in err.splitlines(True)
                  if not line.startswith(('Could not load', 'WARNING: Failed to import')))
    return rc, out, err


def test_table(nova, capsys):
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1', '--count', '2')
    assert rc == 0, err
    lines = out.splitlines()
    assert [cell.strip() for cell in lines[1].split('|')] == ['', 'ID', 'Name', 'Status', '']
    assert '| %s | web-1-clone-1 | BUILD  |' % fakes.clone_id(0) in lines
    assert '| %s | web-1-clone-2 | BUILD  |' % fakes.clone_id(1) in lines


def test_json_columns(nova, capsys):
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1', '--name', 'db',
                             '-f', 'json')
    assert rc == 0, err
    assert json.loads(out) == [{'ID': fakes.clone_id(0), 'Name': 'db', 'Status': 'BUILD'}]


def test_value_of_one_column(nova, capsys):
    rc, out, err = openstack(capsys, 'server', 'clone', fakes.SOURCE_ID, '--count', '3',
                             '-f', 'value', '-c', 'ID')
    assert rc == 0, err
    assert out.split() == [fakes.clone_id(i) for i in range(3)]


def test_wait_json(nova, capsys):
    nova.plan(['BUILD', 'ACTIVE'])
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1', '--wait', '-f', 'json')
    assert rc == 0, err
    assert json.loads(out) == [{
        'ID': fakes.clone_id(0), 'Name': 'web-1-clone', 'Status': 'ACTIVE',
        'Networks': {'private': ['10.0.0.11', 'fd00::11']}}]
    # progress on stderr, not in the JSON
    assert err.splitlines() == ['web-1-clone (%s): BUILD' % fakes.clone_id(0),
                                'web-1-clone (%s): ACTIVE' % fakes.clone_id(0)]


def test_wait_with_a_clone_in_error_exits_1(nova, capsys):
    nova.plan(['ACTIVE'], ['BUILD', ('ERROR', 'Build of instance aborted: no source.')])
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1', '--count', '2', '--wait',
                             '-f', 'json')
    assert rc == 1
    assert [row['Status'] for row in json.loads(out)] == ['ACTIVE', 'ERROR']
    assert ('1 of 2 clones of server web-1 failed: web-1-clone-2 (%s): Build of '
            'instance aborted: no source.' % fakes.clone_id(1)) in err.splitlines()


def test_unknown_server(nova, capsys):
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-9')
    assert rc == 1
    assert err.strip() == 'No Server found for web-9'
    assert out == '' and nova.requests('POST') == []


def test_count_zero(nova, capsys):
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1', '--count', '0')
    assert rc == 1
    assert err.strip() == 'Invalid --count 0: at least 1 clone'
    assert nova.requests() == []


def test_bad_property(nova, capsys):
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1', '--property', 'role')
    assert rc == 2
    assert "argument --property: Expected 'key=value' type, but got: role" in err
    assert nova.requests() == []


def test_conflict_of_the_cloud(nova, capsys):
    nova.refusal = (409, 'Server %s is locked.' % fakes.SOURCE_ID)
    rc, out, err = openstack(capsys, 'server', 'clone', 'web-1')
    assert rc == 1
    assert err.strip() == 'Cannot clone server web-1: Server %s is locked. (HTTP 409)' % (
        fakes.SOURCE_ID)
