"""Layering: the engine and the randomizer plugins never import Nova, and the
options (conf) import nothing of the project but other options."""

import ast
import pathlib

import pytest

import nova_pwnetizer

PACKAGE = pathlib.Path(nova_pwnetizer.__file__).parent
ENGINE_LEVEL = ('nova_pwnetizer.virt.engine', 'nova_pwnetizer.virt.randomize')


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def _is_under(name, prefix):
    return name == prefix or name.startswith(prefix + '.')


@pytest.mark.parametrize('path', sorted(
    p.relative_to(PACKAGE) for d in ('virt/engine', 'virt/randomize')
    for p in (PACKAGE / d).rglob('*.py')), ids=str)
def test_the_engine_and_its_plugins_import_no_nova(path):
    wrong = [name for name in _imports(PACKAGE / path)
             if _is_under(name, 'nova') or (_is_under(name, 'nova_pwnetizer') and not any(
                 _is_under(name, level) for level in ENGINE_LEVEL))]
    assert wrong == []


@pytest.mark.parametrize('path', sorted(p.name for p in (PACKAGE / 'conf').glob('*.py')))
def test_the_options_import_nothing_of_the_project_but_options(path):
    assert [name for name in _imports(PACKAGE / 'conf' / path)
            if _is_under(name, 'nova_pwnetizer')
            and not _is_under(name, 'nova_pwnetizer.conf')] == []
