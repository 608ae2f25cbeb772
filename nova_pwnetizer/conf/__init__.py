"""oslo.config options of nova-pwnetizer."""

from oslo_config import cfg

from nova_pwnetizer.conf import engine

CONF = cfg.CONF
engine.register_opts(CONF)
