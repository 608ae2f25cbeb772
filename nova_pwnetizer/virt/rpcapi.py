"""Client of the clone coordination endpoint that every compute host
running the pwnetizer driver serves (:mod:`.manager`).

The target host of a clone calls the source host: ``prepare_source``
checks that the source instance runs there and can be cloned now, and
says how to reach its libvirtd; ``finish_source`` tells it how the clone
ended.  Topic ``[pwnetizer] rpc_topic``, server = the host name.

API version history:

    1.0 - prepare_source, finish_source
"""

from oslo_config import cfg
import oslo_messaging as messaging

from nova.objects import base as objects_base
from nova import rpc

import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])

CONF = cfg.CONF
VERSION = '1.0'


class CloneSourceAPI:
    """Ask another compute host about the source of a clone."""

    def __init__(self):
        target = messaging.Target(topic=CONF.pwnetizer.rpc_topic, version=VERSION)
        self.client = rpc.get_client(target, version_cap=VERSION,
                                     serializer=objects_base.NovaObjectSerializer())

    def prepare_source(self, ctxt, host, source_uuid, clone_uuid):
        """Check the source on ``host``; returns a dict (see the manager)."""
        cctxt = self.client.prepare(server=host, version='1.0',
                                    timeout=CONF.pwnetizer.rpc_timeout)
        return cctxt.call(ctxt, 'prepare_source', source_uuid=source_uuid,
                          clone_uuid=clone_uuid)

    def finish_source(self, ctxt, host, source_uuid, clone_uuid, figures=None, error=None):
        """Tell ``host`` how the clone of its instance ended (one-way)."""
        cctxt = self.client.prepare(server=host, version='1.0')
        cctxt.cast(ctxt, 'finish_source', source_uuid=source_uuid, clone_uuid=clone_uuid,
                   figures=figures, error=error)
