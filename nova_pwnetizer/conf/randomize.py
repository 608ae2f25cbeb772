"""Options of I/O device randomization, group [randomize]."""

from oslo_config import cfg

GROUP = cfg.OptGroup('randomize', title='I/O device randomization',
                     help='Which emulated device models clones may get.')

OPTS = [
    cfg.BoolOpt('enabled', default=False,
                help='Randomize the device models of every clone the pwnetizer '
                     'command makes unless the request says otherwise.'),
    cfg.DictOpt('allowed_models', default={},
                help='Operator allow list per device class, models separated by "|", '
                     'e.g. "nic:virtio|e1000|e1000e, disk_bus:virtio|sata". A class '
                     'not listed allows every model. Classes: nic, disk_bus, video, '
                     'input, usb, sound and those of installed plugins. Applies to '
                     'the pwnetizer command and, for the classes Nova keeps (nic, '
                     'disk_bus, video, sound), to clone actions in nova-api.'),
    cfg.DictOpt('denied_models', default={},
                help='Operator deny list per device class, in the format of '
                     'allowed_models, e.g. "nic:ne2k_pci|pcnet".'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)
