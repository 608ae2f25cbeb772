"""Choosing a clone's device models.

For each device class present in the source, the candidates are the
intersection of (a) what the target hypervisor offers, (b) what the guest
declares it supports (:mod:`.support`; without a declaration only the
model it runs now), (c) the operator's allow and deny lists and (d) the
models asked for this clone.  The least-used candidate across the family
wins, ties broken at random (a seed makes it repeatable).  An empty set is
an error, raised before anything is touched.
"""

import dataclasses
import random
import typing

from stevedore import extension

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.randomize import base
from nova_pwnetizer.virt.randomize import capabilities
from nova_pwnetizer.virt.randomize import family as family_mod
from nova_pwnetizer.virt.randomize import support

NAMESPACE = 'nova_pwnetizer.randomizers'


class NoCandidates(exception.PwnetizerError):
    """No device model is left for a class once every constraint applies."""

    exit_code = 4


def load_randomizers():
    """Every installed plugin, in a stable order."""
    manager = extension.ExtensionManager(NAMESPACE, invoke_on_load=True,
                                         on_load_failure_callback=_load_failed)
    return sorted((ext.obj for ext in manager), key=lambda r: r.device_class)


def _load_failed(manager, entrypoint, error):
    raise exception.PwnetizerError('cannot load randomizer plugin %s: %s'
                                   % (entrypoint, error))


@dataclasses.dataclass
class Policy:
    """Operator and per-clone constraints; class -> set of model names."""

    allowed: dict = dataclasses.field(default_factory=dict)
    denied: dict = dataclasses.field(default_factory=dict)
    requested: dict = dataclasses.field(default_factory=dict)
    seed: typing.Optional[int] = None

    def check(self, randomizer: base.DeviceRandomizer) -> None:
        """Refuse (InvalidOptions) a model the plugin does not know in the
        request or the operator's lists."""
        cls = randomizer.device_class
        for names, what in ((self.requested.get(cls), 'the request'),
                            (self.allowed.get(cls), 'the allow list'),
                            (self.denied.get(cls), 'the deny list')):
            check_known(randomizer, names or (), what)

    def narrow(self, device_class: str,
               sets: typing.Sequence[typing.Tuple[str, set]]) -> set:
        """The models in each of ``sets`` ((what, models) pairs), the allow
        list and the request, less the denied ones; NoCandidates if none."""
        sets = list(sets)
        if device_class in self.allowed:
            sets.append(('allowed by the operator', set(self.allowed[device_class])))
        if self.requested.get(device_class):
            sets.append(('requested', set(self.requested[device_class])))
        denied = set(self.denied.get(device_class, ()))
        result = set.intersection(*(s for _, s in sets)) - denied
        if not result:
            raise NoCandidates('no %s model is left: %s%s' % (
                device_class,
                '; '.join('%s: %s' % (n, ', '.join(sorted(s)) or 'none') for n, s in sets),
                '; denied: %s' % ', '.join(sorted(denied)) if denied else ''))
        return result


def _model_sets(option: typing.Optional[dict]) -> dict:
    """``{class: 'a|b'}`` (a [randomize] list) -> ``{class: {'a', 'b'}}``."""
    return {cls: set(filter(None, (m.strip() for m in models.split('|'))))
            for cls, models in (option or {}).items()}


def policy_from_conf(conf, requested: typing.Optional[dict] = None,
                     seed: typing.Optional[int] = None) -> Policy:
    """A Policy from the [randomize] group of ``conf`` and a request."""
    return Policy(allowed=_model_sets(conf.randomize.allowed_models),
                  denied=_model_sets(conf.randomize.denied_models),
                  requested={k: set(v) for k, v in (requested or {}).items() if v},
                  seed=seed)


@dataclasses.dataclass
class Plan:
    """The models chosen for one clone."""

    models: dict                                  # class -> chosen model
    current: dict                                 # class -> the source's model
    candidates: dict                              # class -> sorted candidates
    randomizers: list = dataclasses.field(default_factory=list, repr=False)

    def nic_models(self, count):
        return [self.models['nic']] * count if 'nic' in self.models else None

    def rewrite(self, tree):
        """Apply the next-boot models to the clone's persistent XML.

        The tree is migratable XML, which leaves out devices libvirt adds by
        default (the USB controller): plugins add what they change.
        """
        for r in self.randomizers:
            cls = r.device_class
            if not r.live and cls in self.models and self.models[cls] != self.current[cls]:
                r.apply(tree, self.models[cls])


def choose(candidates, family_counts, rng):
    """The least-used candidate; ``rng`` breaks ties."""
    ordered = sorted(candidates)
    least = min(family_counts.get(m, 0) for m in ordered)
    return rng.choice([m for m in ordered if family_counts.get(m, 0) == least])


def check_known(randomizer: base.DeviceRandomizer, names, what: str) -> None:
    unknown = sorted(set(names) - set(randomizer.known_models))
    if unknown:
        raise exception.InvalidOptions(
            'unknown %s model%s %s in %s; known: %s' % (
                randomizer.device_class, 's' if len(unknown) > 1 else '',
                ', '.join(unknown), what, ', '.join(randomizer.known_models)))


def candidates_for(randomizer, tree, caps, declared, policy, target_name):
    cls = randomizer.device_class
    requested = policy.requested.get(cls)
    policy.check(randomizer)
    check_known(randomizer, declared or (), 'the guest declaration')
    offered = randomizer.hypervisor_models(caps, tree)
    if requested:
        missing = sorted(set(requested) - offered)
        if missing:
            raise NoCandidates('%s model %s is not offered by the hypervisor on %s for '
                               'machine %s (it offers: %s)' % (
                                   cls, ', '.join(missing), target_name, caps.machine,
                                   ', '.join(sorted(offered)) or 'none'))
    guest = set(declared) if declared else {randomizer.current(tree)}
    return policy.narrow(cls, [('hypervisor', offered), ('guest', guest)])


def plan(source, target_host, policy, family_members=None, randomizers=None, caps=None,
         same_host=True):
    """A :class:`Plan` for one clone of the running Guest ``source``."""
    randomizers = randomizers if randomizers is not None else load_randomizers()
    tree = source.tree()
    if caps is None:
        qemu_guest = source if same_host or \
            target_host.qemu_version == source.host.qemu_version else None
        caps = capabilities.HypervisorCaps.probe(target_host, tree, qemu_guest)
    if family_members is None:
        family_members = family_mod.members([source.host, target_host],
                                            family_mod.family_id(tree), randomizers)
    declared = support.declared(tree)
    unknown_classes = sorted((set(policy.requested) | set(declared))
                             - {r.device_class for r in randomizers})
    if unknown_classes:
        raise exception.InvalidOptions('unknown device class %s; known: %s' % (
            ', '.join(unknown_classes), ', '.join(r.device_class for r in randomizers)))
    rng = random.Random(policy.seed) if policy.seed is not None else random.SystemRandom()
    models, current, cands = {}, {}, {}
    for r in randomizers:
        if not r.present(tree):
            if policy.requested.get(r.device_class):
                raise NoCandidates('the source has no %s device to randomize'
                                   % r.device_class)
            continue
        found = candidates_for(r, tree, caps, declared.get(r.device_class), policy,
                               target_host.uri)
        current[r.device_class] = r.current(tree)
        cands[r.device_class] = sorted(found)
        models[r.device_class] = choose(found, family_mod.counts(family_members,
                                                                 r.device_class), rng)
    return Plan(models=models, current=current, candidates=cands, randomizers=randomizers)
