"""Clone options are validated before anything happens."""

from unittest import mock

from oslo_config import cfg
import pytest

from nova_pwnetizer.conf import engine as engine_conf
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
                      switchover_timeout=10, unplug_timeout=20, guest_step='auto',
                      guest_step_timeout=20, guest_ssh_host_keys=False,
                      guest_cloud_init='keep')
    genid = 'a0000000-0000-4000-8000-00000000000a'
    assert options.CloneOptions.from_conf(group, genid=genid).genid == genid


def test_own_files_map_absolute_paths():
    assert options.CloneOptions(own_files={'/src/disk.config': '/clone/disk.config'}
                                ).validate().own_files == {
        '/src/disk.config': '/clone/disk.config'}


def test_the_guest_step_defaults():
    found = options.CloneOptions().validate()
    assert (found.guest_step, found.guest_step_timeout_s, found.hostname,
            found.ssh_host_keys, found.cloud_init) == ('auto', 60.0, None, False, 'keep')


@pytest.mark.parametrize('kwargs, message', [
    (dict(guest_step='on'), 'guest step must be auto or off'),
    (dict(guest_step=None), 'guest step must be auto or off'),
    (dict(cloud_init='reset'), 'cloud-init must be told keep or new'),
    (dict(guest_step_timeout_s=0), 'timeout must be positive'),
    (dict(guest_step_timeout_s=-1.5), 'timeout must be positive'),
    (dict(hostname=''), 'invalid host name'),
    (dict(hostname='web_1'), 'invalid host name'),
    (dict(hostname='-web'), 'invalid host name'),
    (dict(hostname='a' * 64), 'invalid host name'),
    (dict(hostname='web..example'), 'invalid host name'),
    (dict(hostname='m\u00fcller'), 'invalid host name'),
])
def test_bad_guest_step_options(kwargs, message):
    with pytest.raises(exception.InvalidOptions, match=message):
        options.CloneOptions(**kwargs).validate()


@pytest.mark.parametrize('hostname', ['web-2', 'WEB2', 'a' * 63, 'web-2.example.org'])
def test_good_host_names(hostname):
    assert options.CloneOptions(hostname=hostname).validate().hostname == hostname


def _group(**kw):
    values = dict(port_min=49152, port_max=49215, downtime_limit_ms=50, bandwidth_mib=0,
                  disk_bandwidth_mib=0, clone_timeout=600, switchover_timeout=10,
                  unplug_timeout=20, guest_step='auto', guest_step_timeout=20,
                  guest_ssh_host_keys=False, guest_cloud_init='keep', persistent=True)
    values.update(kw)
    return mock.Mock(**values)


def test_from_conf_maps_the_guest_step_options():
    found = options.CloneOptions.from_conf(_group(
        guest_step='off', guest_step_timeout=7, guest_ssh_host_keys=True,
        guest_cloud_init='new'))
    assert (found.guest_step, found.guest_step_timeout_s, found.ssh_host_keys,
            found.cloud_init) == ('off', 7.0, True, 'new')
    assert isinstance(found.guest_step_timeout_s, float)
    assert found.hostname is None     # no [pwnetizer] option: the caller's


def test_from_conf_takes_the_callers_over_the_config():
    found = options.CloneOptions.from_conf(
        _group(guest_step='off', guest_ssh_host_keys=True), guest_step='auto',
        hostname='web-2', ssh_host_keys=False, cloud_init='new')
    assert (found.guest_step, found.hostname, found.ssh_host_keys, found.cloud_init) == (
        'auto', 'web-2', False, 'new')
    # None means: the config's
    assert options.CloneOptions.from_conf(_group(guest_step='off'),
                                          guest_step=None).guest_step == 'off'


def test_the_real_config_group_maps_to_valid_options():
    conf = cfg.ConfigOpts()
    engine_conf.register_opts(conf)
    conf([], project='nova-pwnetizer', default_config_files=[])
    found = options.CloneOptions.from_conf(conf.pwnetizer).validate()
    assert (found.guest_step, found.guest_step_timeout_s, found.ssh_host_keys,
            found.cloud_init) == ('auto', 60.0, False, 'keep')
    conf.set_override('guest_cloud_init', 'new', group='pwnetizer')
    conf.set_override('guest_step_timeout', 5, group='pwnetizer')
    found = options.CloneOptions.from_conf(conf.pwnetizer).validate()
    assert (found.cloud_init, found.guest_step_timeout_s) == ('new', 5.0)
