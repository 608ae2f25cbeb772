"""Choosing a Nova clone's device models from the image's declarations."""

import random

from nova_pwnetizer.virt import image_models


def sm(**props):
    return {'image_' + k: v for k, v in props.items()}


def test_declared_keeps_only_models_nova_knows():
    own = sm(pwnetizer_hw_vif_models='virtio, e1000,bogus,rtl8139')
    assert image_models.declared(own, 'nic') == ['virtio', 'e1000', 'rtl8139']
    assert image_models.declared({}, 'nic') == []


def test_least_used_in_the_family_wins():
    own = sm(pwnetizer_hw_vif_models='virtio,e1000,rtl8139',
             pwnetizer_hw_disk_buses='virtio,scsi')
    family = [sm(hw_vif_model='virtio', hw_disk_bus='virtio'), sm(hw_vif_model='e1000')]
    for seed in range(20):
        chosen = image_models.choose(own, family, random.Random(seed))
        assert chosen == {'nic': 'rtl8139', 'disk_bus': 'scsi'}


def test_ties_are_broken_at_random_and_classes_without_declaration_are_kept():
    own = sm(pwnetizer_hw_vif_models='virtio,e1000')
    seen = {image_models.choose(own, [], random.Random(seed))['nic'] for seed in range(30)}
    assert seen == {'virtio', 'e1000'}
    assert 'video' not in image_models.choose(own, [], random.Random(1))


def test_apply_writes_nova_image_properties():
    own = {}
    image_models.apply(own, {'nic': 'e1000', 'video': 'vga'})
    assert own == {'image_hw_vif_model': 'e1000', 'image_hw_video_model': 'vga'}
