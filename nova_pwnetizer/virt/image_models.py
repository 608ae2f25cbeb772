"""Device models of Nova clones, kept as image properties.

Nova's libvirt driver generates a guest's XML from the image properties
it copied into the instance's system_metadata (``image_hw_vif_model``,
...), at spawn and again at every hard reboot, resize and migration: a
model written there is the clone's own for its whole life.  The device
classes offered under Nova are the randomizer plugins (loaded as the CLI
loads them) that name such a property (``nova_image_property``), with
those of their models that Nova's field for the property accepts; a
plugin without one is not offered.

The image declares which models its guest supports with a property of
this project: ``pwnetizer_`` and the plural of Nova's property
(``pwnetizer_hw_vif_models=virtio,e1000,rtl8139``,
``pwnetizer_hw_disk_buses``, ...).  A class keeps the source's model
where the image declares none of Nova's models for it, where the source
has no such device, and where the flavor sets it (``hw:sound_model``:
Nova refuses an image property that differs).  The operator's
``[randomize]`` lists apply as in the CLI; the least-used model across
the family and the clones chosen before wins, ties broken at random.
nova-api chooses (:func:`for_clones`), the target host checks and applies
(:func:`check`, :func:`apply`).
"""

import collections
import dataclasses
import random
import typing

from oslo_log import log as logging

from nova.objects import image_meta

from nova_pwnetizer.virt.randomize import base
from nova_pwnetizer.virt.randomize import planner
from nova_pwnetizer.virt.randomize import support

LOG = logging.getLogger(__name__)

SYSMETA = 'image_'          # Nova's prefix of image properties in system_metadata
NO_DEVICE = 'none'          # Nova's model for "no such device" (video)
_reported = set()           # plugins whose absence under Nova was logged


class NotKept(ValueError):
    """A device class or model that Nova does not keep."""


@dataclasses.dataclass(frozen=True)
class KeptClass:
    """A device class Nova keeps: its plugin, image property and models."""

    randomizer: base.DeviceRandomizer
    prop: str                       # Nova's image property, e.g. hw_vif_model
    models: typing.FrozenSet[str]   # the plugin's models Nova accepts for it

    @property
    def declaring(self) -> str:
        """The image property that declares the guest's models."""
        return 'pwnetizer_%s%s' % (self.prop, 'es' if self.prop.endswith('s') else 's')

    @property
    def flavor_spec(self) -> str:
        """The flavor extra spec that sets the same as ``prop``."""
        return 'hw:' + self.prop[len('hw_'):]

    def current(self, system_metadata: typing.Mapping) -> typing.Optional[str]:
        """The model of an instance, None without such a device."""
        model = (system_metadata or {}).get(SYSMETA + self.prop)
        return model if model != NO_DEVICE else None

    def declared(self, system_metadata: typing.Mapping) -> typing.List[str]:
        """The models of this class the image declares that Nova keeps."""
        names = support.parse_list((system_metadata or {}).get(SYSMETA + self.declaring))
        ignored = sorted(set(names) - self.models)
        if ignored:
            LOG.debug('%s=%s: Nova does not keep %s', self.declaring, ','.join(names),
                      ', '.join(ignored))
        return [m for m in names if m in self.models]


Kept = typing.Dict[str, KeptClass]


def kept_classes(randomizers: typing.Optional[list] = None) -> Kept:
    """The device classes Nova keeps, by name, of the installed plugins."""
    if randomizers is None:
        randomizers = planner.load_randomizers()
    found = {}
    for randomizer in randomizers:
        prop = randomizer.nova_image_property
        field = image_meta.ImageMetaProps.fields.get(prop) if prop else None
        models = frozenset(randomizer.known_models) & frozenset(
            getattr(field, 'valid_values', None) or ())
        if models:
            found[randomizer.device_class] = KeptClass(randomizer, prop, models)
        else:
            _report_once(randomizer, prop, field)
    return found


def _report_once(randomizer: base.DeviceRandomizer, prop: typing.Optional[str],
                 field) -> None:
    if randomizer.device_class in _reported:
        return
    _reported.add(randomizer.device_class)
    if not prop:
        why = 'its plugin names no Nova image property (nova_image_property)'
    elif field is None:
        why = 'this Nova has no image property %s' % prop
    else:
        why = "none of its models is one of Nova's for %s" % prop
    LOG.info('Device class %s is not offered under Nova: %s', randomizer.device_class,
             why)


def family_counts(family: typing.Iterable[typing.Mapping], kept: Kept
                  ) -> typing.Dict[str, collections.Counter]:
    """{class: {model: members using it}} of the members' system_metadata."""
    family = list(family)
    return {cls: collections.Counter(filter(None, (k.current(sm) for sm in family)))
            for cls, k in kept.items()}


def _choose(source: typing.Mapping, counts: typing.Mapping, policy: planner.Policy,
            rng: random.Random, kept: Kept,
            extra_specs: typing.Optional[typing.Mapping] = None) -> typing.Dict[str, str]:
    """class -> model for one clone of the source (its system_metadata)."""
    chosen = {}
    for cls, k in sorted(kept.items()):
        declared = k.declared(source)
        if not declared or not k.current(source) or k.flavor_spec in (extra_specs or {}):
            continue
        candidates = policy.narrow(cls, [('declared by the image', set(declared))])
        chosen[cls] = planner.choose(candidates, counts.get(cls, {}), rng)
    return chosen


def for_clones(count: int, source: typing.Mapping, family: typing.Iterable[typing.Mapping],
               policy: planner.Policy, extra_specs: typing.Optional[typing.Mapping] = None,
               kept: typing.Optional[Kept] = None,
               rng: typing.Optional[random.Random] = None) -> typing.List[typing.Dict[str, str]]:
    """The device models of each of ``count`` clones of one request, given
    the system_metadata of the source and of the family (source included)
    and the extra specs of the clones' flavor; each clone counts for the
    next.  Raises the planner's NoCandidates or InvalidOptions."""
    kept = kept_classes() if kept is None else kept
    for k in kept.values():
        policy.check(k.randomizer)
    if rng is None:
        rng = (random.Random(policy.seed) if policy.seed is not None
               else random.SystemRandom())
    counts = family_counts(family, kept)
    result = []
    for _ in range(count):
        models = _choose(source, counts, policy, rng, kept, extra_specs)
        for cls, model in models.items():
            counts[cls][model] += 1
        result.append(models)
    return result


def check(device_models: typing.Mapping[str, str], kept: typing.Optional[Kept] = None) -> None:
    """Raise :class:`NotKept` for a class or model Nova does not keep."""
    if not device_models:
        return
    kept = kept_classes() if kept is None else kept
    for cls, model in sorted(device_models.items()):
        if cls not in kept:
            raise NotKept('device class %s is not one Nova keeps here (it keeps: %s)'
                          % (cls, ', '.join(sorted(kept)) or 'none'))
        if model not in kept[cls].models:
            raise NotKept('%s model %s is not one Nova keeps (it keeps: %s)'
                          % (cls, model, ', '.join(sorted(kept[cls].models))))


def apply(system_metadata: dict, device_models: typing.Mapping[str, str],
          kept: typing.Optional[Kept] = None) -> None:
    """Write checked ``device_models`` as image properties into ``system_metadata``."""
    if not device_models:
        return
    kept = kept_classes() if kept is None else kept
    check(device_models, kept)
    for cls, model in device_models.items():
        system_metadata[SYSMETA + kept[cls].prop] = model
