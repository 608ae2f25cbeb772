"""Heat's and Nova's code cannot share one Python process: both register
``[DEFAULT] host`` in oslo.config's global ``CONF`` with other definitions
(``DuplicateOptError``), and the rest of the unit tests import Nova.

``pytest tests/unit/heat`` runs these tests here.  A session that collects
other tests as well (``pytest tests/unit``) does not import them; it runs
them in a child pytest instead, as the one item ``heat_plugin_tests``, which
fails with the child's output when any of them fails.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def _inside(path):
    path = os.path.abspath(str(path))
    return path == HERE or path.startswith(HERE + os.sep)


def _alone(config):
    """Whether the session collects only this directory."""
    start = str(config.invocation_params.dir)
    return all(_inside(os.path.join(start, str(arg).split('::')[0]))
               for arg in config.args)


def pytest_ignore_collect(collection_path, config):
    if (_inside(collection_path) and collection_path.name.startswith('test_')
            and not _alone(config)):
        return True
    return None


def pytest_collect_file(file_path, parent):
    if (file_path.name == 'conftest.py' and _inside(file_path)
            and not _alone(parent.config)):
        return HeatTestsFile.from_parent(parent, path=file_path)
    return None


class ChildFailed(Exception):
    pass


class HeatTestsFile(pytest.File):
    def collect(self):
        yield HeatTestsInChild.from_parent(self, name='heat_plugin_tests')


class HeatTestsInChild(pytest.Item):
    def runtest(self):
        if importlib.util.find_spec('heat') is None:
            raise ChildFailed('openstack-heat is not installed (test-requirements.txt)')
        child = subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', '--tb=short', '-p', 'no:cacheprovider', HERE],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=900)
        if child.returncode != 0:
            raise ChildFailed('pytest %s (in a child process) exited with %d:\n%s'
                              % (HERE, child.returncode, child.stdout[-20000:]))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ChildFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, 'Heat plugin tests (run in a child pytest)'
