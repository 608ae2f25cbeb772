"""Candidates, refusals and diversity of the device-model planner."""

import collections
import random
import re

import hypothesis
from hypothesis import strategies as st
from oslo_config import cfg
import pytest

from nova_pwnetizer.conf import randomize as randomize_conf
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.randomize import family
from nova_pwnetizer.virt.randomize import planner
from nova_pwnetizer.virt.randomize import support
from tests.unit import test_randomize_plugins as plugins_test


class FakeSource:
    def __init__(self, tree):
        self._tree = tree

    def tree(self, **kwargs):
        return self._tree


class FakeHost:
    uri = 'qemu+tcp://target/system'


def _source(declared=None):
    support_xml = support.to_xml(declared) if declared else ''
    return FakeSource(domainxml.parse(
        "<domain type='qemu'><name>web</name><uuid>u</uuid><metadata>%s</metadata>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>"
        "<interface type='bridge'><model type='virtio'/></interface>"
        "<controller type='usb' model='piix3-uhci'/>"
        "<video><model type='vga'/></video></devices></domain>" % support_xml))


ALL = {'nic': ['virtio', 'e1000', 'rtl8139'], 'disk_bus': ['virtio', 'sata'],
       'video': ['vga', 'cirrus'], 'usb': ['piix3-uhci', 'qemu-xhci'],
       'input': ['ps2', 'usb-tablet']}


def _plan(source, policy=None, members=()):
    return planner.plan(source, FakeHost(), policy or planner.Policy(seed=1),
                        family_members=list(members), randomizers=planner.load_randomizers(),
                        caps=plugins_test.caps())


def test_plugins_are_loaded_by_entry_point():
    assert [r.device_class for r in planner.load_randomizers()] == [
        'disk_bus', 'input', 'nic', 'sound', 'usb', 'video']


def test_without_declaration_the_guest_keeps_its_models():
    plan = _plan(_source())
    assert plan.models == {'nic': 'virtio', 'disk_bus': 'virtio', 'video': 'vga',
                           'usb': 'piix3-uhci', 'input': 'ps2'}


def test_candidates_are_the_intersection():
    policy = planner.Policy(allowed={'nic': {'virtio', 'e1000', 'ne2k_pci'}},
                            denied={'nic': {'virtio'}}, seed=3)
    plan = _plan(_source(ALL), policy)
    assert plan.candidates['nic'] == ['e1000']
    assert plan.candidates['disk_bus'] == ['sata', 'virtio']


def test_least_used_first_across_the_family():
    members = [family.Member('web', 'u', 'h', 0, 'running', {'nic': 'virtio'}),
               family.Member('c1', 'v', 'h', 1, 'running', {'nic': 'e1000'})]
    for seed in range(10):
        plan = _plan(_source(ALL), planner.Policy(seed=seed), members)
        assert plan.models['nic'] == 'rtl8139'


def test_seed_repeats_choices_exactly():
    first = _plan(_source(ALL), planner.Policy(seed=42)).models
    assert all(_plan(_source(ALL), planner.Policy(seed=42)).models == first
               for _ in range(5))
    seen = {tuple(sorted(_plan(_source(ALL), planner.Policy(seed=s)).models.items()))
            for s in range(30)}
    assert len(seen) > 1


@pytest.mark.parametrize('policy, error, message', [
    (planner.Policy(requested={'nic': {'tulip'}}), exception.InvalidOptions,
     "unknown nic model tulip in the request; known: virtio, e1000"),
    (planner.Policy(denied={'video': {'hercules'}}), exception.InvalidOptions,
     'unknown video model hercules in the deny list'),
    (planner.Policy(requested={'disk_bus': {'ide'}}), planner.NoCandidates,
     'disk_bus model ide is not offered by the hypervisor on qemu+tcp://target/system'),
    (planner.Policy(requested={'nic': {'vmxnet3'}}), planner.NoCandidates,
     'no nic model is left: hypervisor:'),
    (planner.Policy(denied={'nic': {'virtio', 'e1000', 'rtl8139'}}), planner.NoCandidates,
     'no nic model is left'),
    (planner.Policy(requested={'sound': {'ac97'}}), planner.NoCandidates,
     'the source has no sound device'),
    (planner.Policy(requested={'floppy': {'x'}}), exception.InvalidOptions,
     'unknown device class floppy'),
])
def test_refusals(policy, error, message):
    caps = plugins_test.caps(buses=('virtio', 'sata'))
    with pytest.raises(error, match=re.escape(message)):
        planner.plan(_source(ALL), FakeHost(), policy, family_members=[],
                     randomizers=planner.load_randomizers(), caps=caps)


def test_policy_from_the_randomize_options():
    conf = cfg.ConfigOpts()
    randomize_conf.register_opts(conf)
    conf([])
    conf.set_override('allowed_models', {'nic': 'virtio| e1000|', 'video': 'vga'},
                      group='randomize')
    conf.set_override('denied_models', {'nic': 'ne2k_pci'}, group='randomize')
    policy = planner.policy_from_conf(conf, {'nic': ['e1000'], 'video': []}, seed=7)
    assert policy == planner.Policy(allowed={'nic': {'virtio', 'e1000'}, 'video': {'vga'}},
                                    denied={'nic': {'ne2k_pci'}},
                                    requested={'nic': {'e1000'}}, seed=7)


def test_guest_declaration_that_excludes_everything():
    with pytest.raises(planner.NoCandidates, match='guest: ne2k_pci; allowed by the '
                       'operator: e1000, virtio'):
        _plan(_source({'nic': ['ne2k_pci']}),
              planner.Policy(allowed={'nic': {'virtio', 'e1000'}}))


def test_rewrite_changes_next_boot_devices_only():
    source = _source(ALL)
    plan = _plan(source, planner.Policy(requested={
        'disk_bus': {'sata'}, 'video': {'cirrus'}, 'nic': {'e1000'}}))
    tree = domainxml.parse(domainxml.tostring(source.tree()))
    plan.rewrite(tree)
    assert tree.find('devices/disk/target').get('bus') == 'sata'
    assert tree.find('devices/video/model').get('type') == 'cirrus'
    # The NIC is the engine's (live hot-swap with the new model).
    assert tree.find('devices/interface/model').get('type') == 'virtio'
    assert plan.nic_models(2) == ['e1000', 'e1000']


@hypothesis.given(clones=st.integers(2, 8), k=st.integers(1, 5), seed=st.integers(0, 10**6))
@hypothesis.settings(max_examples=60, deadline=None)
def test_family_spreads_evenly(clones, k, seed):
    """Clone one after another: per-model counts differ by at most one."""
    candidates = ['m%d' % i for i in range(k)]
    rng = random.Random(seed)
    counts = collections.Counter({candidates[0]: 1})  # the source
    for _ in range(clones):
        counts[planner.choose(candidates, counts, rng)] += 1
    values = [counts[m] for m in candidates]
    assert max(values) - min(values) <= 1
    assert sum(values) == clones + 1
