"""Clone options are validated before anything happens."""

from unittest import mock

import pytest

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import options


def test_defaults_are_valid():
    assert options.CloneOptions().validate().downtime_limit_ms == 50


@pytest.mark.parametrize('kwargs, message', [
    (dict(name=''), 'invalid clone name'),
    (dict(name='a' * 64), 'invalid clone name'),
    (dict(name='-x'), 'invalid clone name'),
    (dict(name='a b'), 'invalid clone name'),
    (dict(port_range=(1000, 2000)), 'invalid port range'),
    (dict(port_range=(50000, 49000)), 'invalid port range'),
    (dict(downtime_limit_ms=0), 'downtime limit'),
    (dict(bandwidth_mib=-1), 'negative'),
    (dict(disk_bandwidth_mib=-5), 'negative'),
    (dict(timeout_s=0), 'timeout'),
    (dict(macs=['zz:54:00:00:00:01']), 'invalid MAC'),
    (dict(macs=['03:54:00:00:00:01']), 'multicast'),
    (dict(switchover_hook=42), 'callable'),
    (dict(own_files=['/a']), 'own_files must be a dict'),
    (dict(own_files={'/a': 'relative'}), 'absolute'),
    (dict(own_files={'/a': None}), 'absolute'),
])
def test_bad_options(kwargs, message):
    with pytest.raises(exception.InvalidOptions, match=message):
        options.CloneOptions(**kwargs).validate()


def test_good_names_and_macs():
    options.CloneOptions(name='web-1.clone_2:a+b', macs=['52:54:00:AB:cd:01']).validate()


@pytest.mark.parametrize('genid', ['', 'not-a-uuid', 42, '1234'])
def test_the_genid_must_be_a_uuid(genid):
    with pytest.raises(exception.InvalidOptions, match='invalid VM generation ID'):
        options.CloneOptions(genid=genid).validate()


def test_a_genid_is_taken_and_none_is_the_default():
    genid = 'a0000000-0000-4000-8000-00000000000a'
    assert options.CloneOptions(genid=genid).validate().genid == genid
    assert options.CloneOptions().genid is None   # the job makes a new one


def test_from_conf_takes_the_genid():
    group = mock.Mock(port_min=49152, port_max=49215, downtime_limit_ms=50,
                      bandwidth_mib=0, disk_bandwidth_mib=0, clone_timeout=600,
                      switchover_timeout=10, unplug_timeout=20)
    genid = 'a0000000-0000-4000-8000-00000000000a'
    assert options.CloneOptions.from_conf(group, genid=genid).genid == genid


def test_own_files_map_absolute_paths():
    assert options.CloneOptions(own_files={'/src/disk.config': '/clone/disk.config'}
                                ).validate().own_files == {
        '/src/disk.config': '/clone/disk.config'}
