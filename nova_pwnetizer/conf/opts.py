"""Options listed for oslo-config-generator (namespace nova_pwnetizer)."""

from nova_pwnetizer.conf import engine
from nova_pwnetizer.conf import integration
from nova_pwnetizer.conf import randomize


def list_opts():
    return [(engine.GROUP, engine.OPTS + integration.OPTS),
            (integration.UPGRADE_LEVELS_GROUP, integration.UPGRADE_LEVELS_OPTS),
            (randomize.GROUP, randomize.OPTS)]
