"""Randomized device models of a Nova clone, kept as image properties.

Nova generates a guest's XML from the image properties it copied into
the instance's system_metadata (``image_hw_vif_model``, ...), at spawn
and again at every hard reboot, resize and migration.  Writing the chosen
models there makes them the clone's own for its whole life.  The image
declares which models its guest supports with properties of this
project (``pwnetizer_hw_vif_models=virtio,e1000,rtl8139``, ...); a class
it declares nothing for keeps the source's model.  The least-used model
across the clone family wins, ties broken at random.
"""

import collections
import random

from nova.objects import fields

# device class -> (Nova image property, declaring property, Nova's valid models)
CLASSES = {
    'nic': ('hw_vif_model', 'pwnetizer_hw_vif_models', fields.VIFModel.ALL),
    'disk_bus': ('hw_disk_bus', 'pwnetizer_hw_disk_buses', fields.DiskBus.ALL),
    'video': ('hw_video_model', 'pwnetizer_hw_video_models', fields.VideoModel.ALL),
}
SYSMETA = 'image_'


def declared(system_metadata, device_class):
    """The models the image declares for ``device_class`` (valid ones only)."""
    _prop, declaring, valid = CLASSES[device_class]
    raw = (system_metadata or {}).get(SYSMETA + declaring) or ''
    return [m for m in (x.strip() for x in raw.split(',')) if m in valid]


def current(system_metadata, device_class):
    return (system_metadata or {}).get(SYSMETA + CLASSES[device_class][0])


def choose(system_metadata, family_system_metadata, rng=None):
    """class -> model for one clone, given its own system_metadata (the
    image's properties) and those of the family's members."""
    rng = rng or random.SystemRandom()
    chosen = {}
    for device_class in CLASSES:
        candidates = declared(system_metadata, device_class)
        if not candidates:
            continue
        used = collections.Counter(current(sm, device_class)
                                   for sm in family_system_metadata)
        fewest = min(used[m] for m in candidates)
        chosen[device_class] = rng.choice(sorted(m for m in candidates
                                                 if used[m] == fewest))
    return chosen


def apply(system_metadata, chosen):
    """Write the chosen models as image properties into ``system_metadata``."""
    for device_class, model in chosen.items():
        system_metadata[SYSMETA + CLASSES[device_class][0]] = model
