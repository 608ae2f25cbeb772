"""What a clone port takes from its own source port (port_settings)."""

import types

import pytest

from nova_pwnetizer import port_settings

NET, OTHER_NET = 'net-1', 'net-2'
SUBNET_A, SUBNET_B = 'subnet-a', 'subnet-b'


def port(port_id, network=NET, groups=('sg-default',), subnet=SUBNET_A, ip='10.0.0.5',
         mac='fa:16:3e:00:00:01', **fields):
    found = {'id': port_id, 'network_id': network, 'mac_address': mac,
             'security_groups': list(groups), 'port_security_enabled': True,
             'qos_policy_id': None, 'allowed_address_pairs': [],
             'fixed_ips': [{'subnet_id': subnet, 'ip_address': ip}]}
    found.update(fields)
    return found


def test_a_clone_port_like_its_source_needs_no_update():
    assert port_settings.changes(port('src'), port('clone', ip='10.0.0.9')) == {}


def test_each_port_takes_its_own_source_ports_groups():
    # Nova made both clone ports with the union of the source's groups
    union = ('sg-public', 'sg-internal')
    public = port_settings.changes(port('src-0', groups=['sg-public']),
                                   port('clone-0', groups=union))
    internal = port_settings.changes(port('src-1', groups=['sg-internal']),
                                     port('clone-1', groups=union))
    assert public == {'security_groups': ['sg-public']}
    assert internal == {'security_groups': ['sg-internal']}


def test_the_same_groups_in_another_order_are_not_an_update():
    assert port_settings.changes(port('src', groups=['a', 'b']),
                                 port('clone', groups=['b', 'a'])) == {}


def test_disabled_port_security_is_mirrored_without_groups():
    update = port_settings.changes(port('src', groups=[], port_security_enabled=False),
                                   port('clone', groups=['sg-default']))
    assert update == {'port_security_enabled': False, 'security_groups': []}


def test_qos_policy_is_mirrored():
    update = port_settings.changes(port('src', qos_policy_id='qos-gold'), port('clone'))
    assert update == {'qos_policy_id': 'qos-gold'}


def test_a_field_neutron_does_not_show_is_left_alone():
    source = port('src')
    del source['qos_policy_id']     # no QoS extension
    assert port_settings.changes(source, port('clone', qos_policy_id='x')) == {}


def test_the_source_ports_subnet_with_an_address_of_its_own():
    update = port_settings.changes(port('src', subnet=SUBNET_B, ip='10.1.0.5'),
                                   port('clone', subnet=SUBNET_A))
    assert update == {'fixed_ips': [{'subnet_id': SUBNET_B}]}   # no ip_address


def test_address_pairs_are_copied_only_when_asked_for():
    pairs = [{'ip_address': '10.0.0.100', 'mac_address': 'fa:16:3e:00:00:01'},
             {'ip_address': '10.0.0.101', 'mac_address': 'fa:16:3e:99:99:99'}]
    source = port('src', allowed_address_pairs=pairs)
    clone = port('clone', mac='fa:16:3e:00:00:02')
    assert port_settings.changes(source, clone) == {}
    update = port_settings.changes(source, clone, address_pairs=True)
    # the source's own MAC is not copied: the clone's pair is on its own MAC
    assert update == {'allowed_address_pairs': [
        {'ip_address': '10.0.0.100'},
        {'ip_address': '10.0.0.101', 'mac_address': 'fa:16:3e:99:99:99'}]}


def test_ports_of_different_networks_do_not_pair():
    with pytest.raises(port_settings.Mismatch, match='network'):
        port_settings.changes(port('src', network=NET), port('clone', network=OTHER_NET))


def test_guest_order_follows_the_nics_and_puts_unknown_ports_last():
    ports = [{'id': 'c'}, {'id': 'x'}, {'id': 'a'}, {'id': 'b'}]
    ordered = port_settings.guest_order(['a', 'b', 'c'], ports)
    assert [p['id'] for p in ordered] == ['a', 'b', 'c', 'x']


def test_vif_ids_of_an_instance_without_a_loaded_cache():
    class NoCache:
        @property
        def info_cache(self):
            raise NotImplementedError('not loaded')
    assert port_settings.vif_ids(NoCache()) == []
    cached = types.SimpleNamespace(info_cache=types.SimpleNamespace(
        network_info=[{'id': 'p1'}, {'id': 'p2'}]))
    assert port_settings.vif_ids(cached) == ['p1', 'p2']


def test_the_nics_of_an_instance_are_its_own_bound_ports():
    instance = types.SimpleNamespace(project_id='p', info_cache=types.SimpleNamespace(
        network_info=[{'id': 'b'}, {'id': 'a'}, {'id': 'theirs'}, {'id': 'unbound'}]))
    ports = [dict(id='a', project_id='p', device_owner='compute:nova'),
             dict(id='b', tenant_id='p', device_owner='compute:az1'),
             dict(id='theirs', project_id='q', device_owner='compute:nova'),
             dict(id='unbound', project_id='p', device_owner=''),
             dict(id='spoofed', project_id='p', device_owner='compute:nova')]
    assert [p['id'] for p in port_settings.nics_of(instance, ports)] == ['b', 'a']
