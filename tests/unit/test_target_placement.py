"""This host's placement of a clone, from its Nova configuration."""

import pytest

from nova import exception as nova_exception

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import host_specific
from nova_pwnetizer.virt import target_placement
from tests.unit import fakes


conf = pytest.fixture(autouse=True, name='conf')(fakes.nova_config)


def test_nova_defaults_give_vnc_on_localhost_and_no_cpuset():
    placement = target_placement.for_this_host()
    assert placement == host_specific.TargetPlacement(
        cpuset=None, graphics_listen={'vnc': '127.0.0.1'})


def test_cpu_shared_set_is_written_as_nova_writes_a_guest_cpuset(conf):
    conf.config(cpu_shared_set='8,0-3,^2,9', group='compute')
    assert target_placement.for_this_host().cpuset == '0-1,3,8-9'


def test_the_legacy_vcpu_pin_set_wins_as_in_nova_driver(conf):
    conf.config(cpu_shared_set='0-1', group='compute')
    conf.config(vcpu_pin_set='4-7')
    assert target_placement.for_this_host().cpuset == '4-7'


def test_dedicated_cpus_only_give_no_cpuset(conf):
    conf.config(cpu_dedicated_set='2-5', group='compute')
    assert target_placement.for_this_host().cpuset is None


def test_a_cpu_shared_set_of_no_cpus_is_refused_as_nova_refuses_it(conf):
    conf.config(cpu_shared_set='0-1,^0-1', group='compute')
    with pytest.raises(nova_exception.Invalid):
        target_placement.for_this_host()


def test_the_listen_addresses_of_the_enabled_consoles(conf):
    conf.config(enabled=True, server_listen='198.51.100.20', group='vnc')
    conf.config(enabled=True, server_listen='198.51.100.21', group='spice')
    assert target_placement.for_this_host().graphics_listen == {
        'vnc': '198.51.100.20', 'spice': '198.51.100.21'}
    conf.config(enabled=False, group='vnc')
    assert target_placement.for_this_host().graphics_listen == {'spice': '198.51.100.21'}


def test_a_clone_xml_gets_this_hosts_cpuset_and_vnc_address(conf):
    conf.config(cpu_shared_set='16-31', group='compute')
    conf.config(server_listen='198.51.100.20', group='vnc')
    tree = domainxml.parse("""<domain type='kvm'><name>c</name><uuid>u</uuid>
      <vcpu placement='static' cpuset='0-3'>1</vcpu><devices>
      <graphics type='vnc' autoport='yes' listen='192.0.2.10'>
        <listen type='address' address='192.0.2.10'/></graphics>
      <graphics type='spice' autoport='yes' listen='192.0.2.10'>
        <listen type='address' address='192.0.2.10'/></graphics>
      </devices></domain>""")
    host_specific.rewrite(tree, target_placement.for_this_host())
    assert tree.find('vcpu').get('cpuset') == '16-31'
    vnc, spice = tree.findall('devices/graphics')
    assert vnc.get('listen') == '198.51.100.20'
    assert vnc.find('listen').get('address') == '198.51.100.20'
    # SPICE is not enabled here: libvirt's default, not the source's address
    assert spice.get('listen') is None and spice.find('listen').get('address') is None
