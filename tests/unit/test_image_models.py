"""The device classes Nova keeps as image properties, and the choice of a
request's clones among those the image declares."""

import logging
import random
import re

from oslo_config import cfg
import pytest

from nova_pwnetizer.conf import randomize as randomize_conf
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt import image_models
from nova_pwnetizer.virt.randomize import base
from nova_pwnetizer.virt.randomize import planner

KEPT = image_models.kept_classes()


def sm(**props):
    return {'image_' + k: v for k, v in props.items()}


def source(**props):
    """A source running virtio with three NIC models declared."""
    return sm(hw_vif_model='virtio', hw_disk_bus='virtio', hw_video_model='vga',
              pwnetizer_hw_vif_models='virtio,e1000,rtl8139', **props)


def policy(allowed=None, denied=None):
    conf = cfg.ConfigOpts()
    randomize_conf.register_opts(conf)
    conf([])
    conf.set_override('allowed_models', allowed or {}, group='randomize')
    conf.set_override('denied_models', denied or {}, group='randomize')
    return planner.policy_from_conf(conf)


def choose(count=1, src=None, family=(), pol=None, seed=0, **kw):
    src = source() if src is None else src
    return image_models.for_clones(count, src, [src] + list(family), pol or policy(),
                                   kept=KEPT, rng=random.Random(seed), **kw)


class Plugin(base.DeviceRandomizer):
    """An operator's own plugin."""

    def __init__(self, device_class, prop, models):
        self.device_class, self.nova_image_property = device_class, prop
        self.known_models = models

    present = current = hypervisor_models = apply = None


# -- what is offered ---------------------------------------------------------

def test_the_plugins_offered_under_nova_are_those_nova_keeps():
    assert {cls: (k.prop, k.declaring) for cls, k in KEPT.items()} == {
        'nic': ('hw_vif_model', 'pwnetizer_hw_vif_models'),
        'disk_bus': ('hw_disk_bus', 'pwnetizer_hw_disk_buses'),
        'video': ('hw_video_model', 'pwnetizer_hw_video_models'),
        'sound': ('hw_sound_model', 'pwnetizer_hw_sound_models')}
    # input and usb have no property Nova renders at every spawn: not offered
    # the plugin's models that are Nova's values too
    assert KEPT['video'].models == {'vga', 'cirrus', 'virtio', 'qxl', 'bochs', 'vmvga'}
    assert KEPT['nic'].models == {'virtio', 'e1000', 'e1000e', 'rtl8139', 'ne2k_pci',
                                  'pcnet', 'vmxnet3'}


def test_an_operators_plugin_is_offered_if_it_names_a_nova_property(caplog, monkeypatch):
    monkeypatch.setattr(image_models, '_reported', set())
    plugins = [Plugin('cdrom', 'hw_cdrom_bus', ('ide', 'sata', 'floppy9')),
               Plugin('tablet', None, ('a', 'b')),
               Plugin('tulip', 'hw_tulip_model', ('a',)),
               Plugin('mouse', 'hw_pointer_model', ('ps2',))]
    with caplog.at_level(logging.INFO, logger=image_models.__name__):
        kept = image_models.kept_classes(plugins)
        image_models.kept_classes(plugins)
    assert list(kept) == ['cdrom'] and kept['cdrom'].models == {'ide', 'sata'}
    assert kept['cdrom'].declaring == 'pwnetizer_hw_cdrom_buses'
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3   # once each
    assert any('tablet is not offered under Nova: its plugin names no Nova image '
               'property' in m for m in messages)
    assert any('no image property hw_tulip_model' in m for m in messages)
    assert any("none of its models is one of Nova's for hw_pointer_model" in m
               for m in messages)


def test_declared_keeps_only_the_models_nova_keeps():
    own = sm(pwnetizer_hw_vif_models='virtio, e1000,bogus,rtl8139',
             pwnetizer_hw_video_models='ramfb')
    assert KEPT['nic'].declared(own) == ['virtio', 'e1000', 'rtl8139']
    assert KEPT['video'].declared(own) == []
    assert KEPT['nic'].declared({}) == []


# -- the choice --------------------------------------------------------------

def test_least_used_in_the_family_wins():
    family = [sm(hw_vif_model='e1000'), sm(hw_vif_model='virtio')]
    for seed in range(20):
        assert choose(family=family, seed=seed) == [{'nic': 'rtl8139'}]


def test_the_clones_of_one_request_differ_from_each_other():
    for seed in range(20):
        first, second, third = [c['nic'] for c in choose(count=3, seed=seed)]
        # the source has virtio: the first two get the other two, the third
        # any (each model is used once by then)
        assert {first, second} == {'e1000', 'rtl8139'}
        assert third in ('virtio', 'e1000', 'rtl8139')


def test_ties_are_broken_at_random():
    seen = {choose(seed=seed)[0]['nic'] for seed in range(30)}
    assert seen == {'e1000', 'rtl8139'}
    # without an rng: the system's
    seen = {image_models.for_clones(1, source(), [source()], policy(), kept=KEPT)[0]['nic']
            for _ in range(40)}
    assert seen == {'e1000', 'rtl8139'}


def test_classes_the_image_declares_nothing_for_keep_the_sources_model():
    chosen = choose(count=2)
    assert all(set(c) == {'nic'} for c in chosen)   # disk bus, video not declared
    assert choose(src=sm(hw_vif_model='virtio')) == [{}]


def test_a_class_the_source_has_no_device_of_or_its_flavor_sets_is_left_alone():
    declared = dict(pwnetizer_hw_sound_models='ich6,ac97',
                    pwnetizer_hw_video_models='vga,cirrus')
    chosen = choose(src=source(**declared))[0]
    assert chosen['video'] == 'cirrus' and 'sound' not in chosen   # no sound card
    with_sound = source(hw_sound_model='ich6', **declared)
    assert choose(src=with_sound)[0]['sound'] == 'ac97'
    # Nova refuses an image property the flavor's extra spec contradicts
    chosen = choose(src=with_sound, extra_specs={'hw:sound_model': 'ich6'})[0]
    assert 'sound' not in chosen and chosen['video'] == 'cirrus'
    no_video = dict(with_sound, image_hw_video_model='none')
    assert 'video' not in choose(src=no_video)[0]


def test_the_operators_allow_and_deny_lists_apply():
    pol = policy(allowed={'nic': 'virtio|e1000|ne2k_pci'}, denied={'nic': 'virtio'})
    for seed in range(10):
        assert [c['nic'] for c in choose(count=3, pol=pol, seed=seed)] == ['e1000'] * 3


@pytest.mark.parametrize('allowed, denied, error, message', [
    ({'nic': 'ne2k_pci'}, None, planner.NoCandidates,
     'no nic model is left: declared by the image: e1000, rtl8139, virtio; allowed by '
     'the operator: ne2k_pci'),
    (None, {'nic': 'virtio|e1000|rtl8139'}, planner.NoCandidates,
     'denied: e1000, rtl8139, virtio'),
    (None, {'nic': 'tulip'}, exception.InvalidOptions,
     'unknown nic model tulip in the deny list'),
    # checked for every class offered, declared or not (video is not)
    ({'video': 'vga|hercules'}, None, exception.InvalidOptions,
     'unknown video model hercules in the allow list'),
])
def test_lists_that_leave_nothing_are_refused_as_in_the_cli(allowed, denied, error,
                                                            message):
    with pytest.raises(error, match=re.escape(message)):
        choose(pol=policy(allowed, denied))


# -- the target's check and write ------------------------------------------

def test_apply_writes_nova_image_properties():
    own = {'image_hw_vif_model': 'virtio'}
    image_models.apply(own, {'nic': 'e1000', 'video': 'vga'}, KEPT)
    assert own == {'image_hw_vif_model': 'e1000', 'image_hw_video_model': 'vga'}


@pytest.mark.parametrize('models, message', [
    ({'nic': 'tulip'}, 'nic model tulip is not one Nova keeps'),
    ({'input': 'usb-tablet'}, 'device class input is not one Nova keeps here'),
])
def test_apply_refuses_what_nova_does_not_keep(models, message):
    own = {}
    with pytest.raises(image_models.NotKept, match=message):
        image_models.apply(own, dict(models, disk_bus='sata'), KEPT)
    assert own == {}
