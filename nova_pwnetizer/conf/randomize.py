"""Options of I/O device randomization, group [randomize]."""

from oslo_config import cfg

GROUP = cfg.OptGroup('randomize', title='I/O device randomization',
                     help='Which emulated device models clones may get.')

OPTS = [
    cfg.BoolOpt('enabled', default=False,
                help='Randomize the device models of every clone unless the request '
                     'says otherwise.'),
    cfg.DictOpt('allowed_models', default={},
                help='Operator allow list per device class, models separated by "|", '
                     'e.g. "nic:virtio|e1000|e1000e, disk_bus:virtio|sata". A class '
                     'not listed allows every model. Classes: nic, disk_bus, video, '
                     'input, usb, sound and those of installed plugins.'),
    cfg.DictOpt('denied_models', default={},
                help='Operator deny list per device class, in the format of '
                     'allowed_models, e.g. "nic:ne2k_pci|pcnet".'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def _split(mapping):
    return {cls: set(filter(None, (m.strip() for m in models.split('|'))))
            for cls, models in (mapping or {}).items()}


def policy(conf, requested=None, seed=None):
    """A randomization Policy from the [randomize] group and a request."""
    from nova_pwnetizer.virt.randomize import planner
    return planner.Policy(allowed=_split(conf.randomize.allowed_models),
                          denied=_split(conf.randomize.denied_models),
                          requested={k: set(v) for k, v in (requested or {}).items() if v},
                          seed=seed)
