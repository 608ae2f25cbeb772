"""oslo.config options of nova-pwnetizer."""

from oslo_config import cfg

from nova_pwnetizer.conf import engine
from nova_pwnetizer.conf import integration
from nova_pwnetizer.conf import randomize

CONF = cfg.CONF
engine.register_opts(CONF)
integration.register_opts(CONF)
randomize.register_opts(CONF)
