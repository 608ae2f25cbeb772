"""The project's shell scripts (host set-up, CI, devstack plugin, the guest
side of a clone) pass shellcheck; tools/setup-host.sh installs it."""

import glob
import os
import shutil
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = sorted(glob.glob(os.path.join(TOP, 'tools', '*.sh'))
                 + glob.glob(os.path.join(TOP, 'tools', 'cloud', '*.sh'))) + [
    os.path.join(TOP, '.ci', 'run'),
    os.path.join(TOP, 'devstack', 'plugin.sh'),
    os.path.join(TOP, 'devstack', 'settings'),
    os.path.join(TOP, 'devstack', 'lib', 'pwnetizer')] + [
    os.path.join(TOP, 'nova_pwnetizer', 'testguest', 'files', name)
    for name in ('build-guest.sh', 'whole-disk.sh', 'build-debian.sh')] + [
    os.path.join(TOP, 'nova_pwnetizer', 'virt', 'engine', 'files', 'clone-identity.sh')]


@pytest.mark.parametrize('script', SCRIPTS, ids=lambda p: os.path.relpath(p, TOP))
def test_shellcheck(script):
    shellcheck = shutil.which('shellcheck')
    assert shellcheck, 'shellcheck is missing: run tools/setup-host.sh'
    done = subprocess.run([shellcheck, '-x', script], capture_output=True, text=True,
                          cwd=TOP)
    assert done.returncode == 0, done.stdout
