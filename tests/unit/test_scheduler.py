"""CloneHostFilter and CloneFamilyWeigher on Nova's scheduler objects."""

import time
from unittest import mock

from oslo_config import cfg
import pytest

from nova import objects
from nova.tests.unit.scheduler import fakes

from nova_pwnetizer import clonerequest
from nova_pwnetizer.objects import clone_placement
from nova_pwnetizer.scheduler import filters
from nova_pwnetizer.scheduler import weights
from tests.unit.fakes import VALID_S

objects.register_all()
CONF = cfg.CONF
SECRET = 'unit-test-secret-0123456789abcdef'
SRC = '50c00000-0000-4000-8000-000000000000'


@pytest.fixture(autouse=True)
def conf():
    CONF.set_override('clone_secret', SECRET, group='pwnetizer')
    yield
    CONF.clear_override('clone_secret', group='pwnetizer')


def host(name, stats=True, instances=(), hv_type='QEMU', hv_version=10000002, capability='2',
         virt_type='qemu', cpu='{"model": "Skylake"}'):
    st = {'pwnetizer': capability, 'pwnetizer_virt_type': virt_type} if stats else {}
    return fakes.FakeHostState(name, name, {
        'stats': st, 'hypervisor_type': hv_type, 'hypervisor_version': hv_version,
        'cpu_info': cpu, 'instances': {u: None for u in instances}})


def spec(placement='spread', members=(), secret=SECRET, project_id='p', **kw):
    fields = dict(project_id='p', source_uuid=SRC, family=SRC, members=list(members),
                  placement=placement, expires_at=int(time.time()) + VALID_S)
    fields.update(kw)
    hints = clone_placement.ClonePlacement(**fields).to_hints(secret)
    return objects.RequestSpec(scheduler_hints={k: [v] for k, v in hints.items()},
                               project_id=project_id, instance_uuid=SRC[::-1])


@pytest.fixture
def source_node():
    node = objects.ComputeNode(hypervisor_type='QEMU', hypervisor_version=10000002,
                               cpu_info='{"model": "Skylake"}')
    with mock.patch.object(objects.ComputeNodeList, 'get_all_by_host',
                           return_value=[node]) as m:
        yield m


def names(hosts):
    return sorted(h.host for h in hosts)


def test_other_requests_pass_untouched(source_node):
    hosts = [host('h1', stats=False), host('h2')]
    assert filters.CloneHostFilter().filter_all(hosts, objects.RequestSpec(
        scheduler_hints={})) == hosts
    source_node.assert_not_called()


def test_only_pwnetizer_hosts_compatible_with_the_source(source_node):
    hosts = [host('h1', instances=[SRC]), host('h2', stats=False), host('h3', hv_type='Xen'),
             host('h4', hv_version=9000000), host('h5')]
    assert names(filters.CloneHostFilter().filter_all(hosts, spec('any'))) == ['h1', 'h5']


def test_kvm_needs_the_same_cpu_model(source_node):
    hosts = [host('h1', instances=[SRC], virt_type='kvm'),
             host('h2', virt_type='kvm', cpu='{"model": "EPYC"}'),
             host('h3', virt_type='kvm')]
    assert names(filters.CloneHostFilter().filter_all(hosts, spec('any'))) == ['h1', 'h3']
    source_node.assert_called_with(mock.ANY, 'h1')   # the host that runs the source


def test_spread_avoids_source_and_family_hosts(source_node):
    hosts = [host('h1', instances=[SRC]), host('h2', instances=['m1']), host('h3')]
    assert names(filters.CloneHostFilter().filter_all(
        hosts, spec('spread', members=['m1']))) == ['h3']


def test_spread_falls_back_to_family_hosts_when_nothing_else(source_node):
    hosts = [host('h1', instances=[SRC]), host('h2', instances=['m1'])]
    assert names(filters.CloneHostFilter().filter_all(
        hosts, spec('spread', members=['m1']))) == ['h1', 'h2']


def test_pack_keeps_the_source_host(source_node):
    hosts = [host('h1', instances=[SRC]), host('h3')]
    assert names(filters.CloneHostFilter().filter_all(hosts, spec('pack'))) == ['h1', 'h3']


def test_host_passes_agrees_with_filter_all(source_node):
    f = filters.CloneHostFilter()
    assert f.host_passes(host('h3'), spec('any'))
    assert not f.host_passes(host('h2', stats=False), spec('any'))


@pytest.mark.parametrize('placement,expected', [('spread', -2.0), ('any', -2.0),
                                                ('pack', 2.0)])
def test_weigher_counts_family_members_on_a_host(placement, expected):
    CONF.set_override('family_weight_multiplier', 1.0, group='pwnetizer')
    w = weights.CloneFamilyWeigher()
    h = host('h2', instances=[SRC, 'm1', 'other'])
    assert w._weigh_object(h, spec(placement, members=['m1'])) == expected
    assert w._weigh_object(h, objects.RequestSpec(scheduler_hints={})) == 0.0
    assert w.weight_multiplier(h) == 1.0
    CONF.clear_override('family_weight_multiplier', group='pwnetizer')


@pytest.mark.parametrize('request_spec', [
    spec(secret='another-secret-0123456789abcdefghij'),   # forged
    spec(project_id='victim'),                           # another project's placement
    spec(expires_at=1),                                  # expired
    spec(placement='everywhere'),                        # not a placement
    objects.RequestSpec(scheduler_hints={clonerequest.HINT_KEY: ['{"object": 1}']},
                        project_id='p'),
    objects.RequestSpec(scheduler_hints={clonerequest.HINT_KEY: ['a', 'b']},
                        project_id='p'),
])
def test_a_placement_that_does_not_verify_passes_no_host(request_spec, source_node):
    hosts = [host('h1', instances=[SRC]), host('h2', instances=['victim-server'])]
    assert filters.CloneHostFilter().filter_all(hosts, request_spec) == []
    assert weights.CloneFamilyWeigher()._weigh_object(hosts[1], request_spec) == 0.0


@pytest.mark.parametrize('capability', ['1', '0', 'x', None])
def test_a_host_of_an_older_driver_takes_no_clone(capability):
    # in a rolling upgrade: its clone ports would keep all the source's groups
    f = filters.CloneHostFilter()
    assert not f.host_passes(host('h2', capability=capability), spec('any'))
    assert f.host_passes(host('h2', capability='3'), spec('any'))
