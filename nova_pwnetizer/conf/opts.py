"""Options listed for oslo-config-generator (namespace nova_pwnetizer)."""

from nova_pwnetizer.conf import engine


def list_opts():
    return [(engine.GROUP, engine.OPTS)]
