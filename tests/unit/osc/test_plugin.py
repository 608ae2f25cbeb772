"""The openstackclient plugin module and its entry points."""

import argparse
from importlib import metadata
import os
import subprocess
import sys
from unittest import mock

from nova_pwnetizer.osc import plugin
from nova_pwnetizer.osc.v1 import clone

OPTIONS = ('--name', '--count', '--randomize', '--no-randomize', '--placement',
           '--property', '--wait', '--timeout')


def test_make_client_is_the_compute_client():
    instance = mock.Mock()
    assert plugin.make_client(instance) is instance.compute


def test_build_option_parser(monkeypatch):
    monkeypatch.setenv('OS_PWNETIZER_API_VERSION', '1')
    parser = plugin.build_option_parser(argparse.ArgumentParser())
    assert parser.parse_args([]).os_pwnetizer_api_version == '1'
    assert parser.parse_args(['--os-pwnetizer-api-version', '1']).os_pwnetizer_api_version \
        == '1'
    # what openstackclient's shell reads
    assert plugin.API_VERSION_OPTION == 'os_pwnetizer_api_version'
    assert plugin.DEFAULT_API_VERSION in plugin.API_VERSIONS


def test_entry_points():
    (extension,) = [ep for ep in metadata.entry_points(group='openstack.cli.extension')
                    if ep.name == plugin.API_NAME]
    assert extension.load() is plugin
    # openstackclient loads the group openstack.<API_NAME>.v<major version>
    group = 'openstack.%s.v%s' % (plugin.API_NAME, plugin.DEFAULT_API_VERSION)
    commands = {ep.name: ep for ep in metadata.entry_points(group=group)}
    assert commands['server_clone'].load() is clone.CloneServer


def test_openstack_help_server_clone():
    """The real ``openstack`` command finds the plugin's command."""
    openstack = os.path.join(os.path.dirname(sys.executable), 'openstack')
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    done = subprocess.run([openstack, 'help', 'server', 'clone'], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('usage: openstack server clone')
    assert 'Clone a running server live' in done.stdout
    for option in OPTIONS:
        assert option in done.stdout
    assert '<server>' in done.stdout
