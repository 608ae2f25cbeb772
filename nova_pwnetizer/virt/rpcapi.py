"""Client of the clone coordination endpoint that every compute host
running the pwnetizer driver serves (:mod:`.manager`).

The target host of a clone calls the source host: ``prepare_source``
checks that the source instance runs there and can be cloned now, and
says how to reach its libvirtd; ``finish_source`` tells it how the clone
ended.  Both carry the clone's signed contract, which the source host
verifies itself.  Topic ``[pwnetizer] rpc_topic``, server = the host name.

API version history:

    1.0 - prepare_source, finish_source
    1.1 - the signed clone contract in both (a 1.1 host refuses a
          prepare_source without one, and acts on no finish_source without
          one: a rolling upgrade clones again once every host is at 1.1)
"""

from oslo_config import cfg
import oslo_messaging as messaging

from nova.objects import base as objects_base
from nova import rpc

import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.virt import source_errors

CONF = cfg.CONF
VERSION = '1.1'


class CloneSourceAPI:
    """Ask another compute host about the source of a clone."""

    def __init__(self):
        target = messaging.Target(topic=CONF.pwnetizer.rpc_topic, version=VERSION)
        self.client = rpc.get_client(target,
                                     version_cap=CONF.upgrade_levels.pwnetizer or VERSION,
                                     serializer=objects_base.NovaObjectSerializer())

    def _arguments(self, contract: str, **arguments):
        if self.client.can_send_version('1.1'):
            return '1.1', dict(arguments, contract=contract)
        return '1.0', arguments

    def prepare_source(self, ctxt, host: str, contract: str, source_uuid: str,
                       clone_uuid: str) -> dict:
        """Check the source on ``host``; returns a dict (see the manager).
        Raises :class:`.source_errors.SourceNotReady` (or its
        :class:`~.source_errors.SourceBusy`) when the source host refuses."""
        version, arguments = self._arguments(contract, source_uuid=source_uuid,
                                             clone_uuid=clone_uuid)
        cctxt = self.client.prepare(server=host, version=version,
                                    timeout=CONF.pwnetizer.rpc_timeout)
        try:
            return cctxt.call(ctxt, 'prepare_source', **arguments)
        except messaging.RemoteError as e:
            raise source_errors.typed(e) from e

    def finish_source(self, ctxt, host: str, contract: str, source_uuid: str,
                      clone_uuid: str, figures: dict = None, error: str = None) -> None:
        """Tell ``host`` how the clone of its instance ended (one-way)."""
        version, arguments = self._arguments(contract, source_uuid=source_uuid,
                                             clone_uuid=clone_uuid, figures=figures,
                                             error=error)
        cctxt = self.client.prepare(server=host, version=version)
        cctxt.cast(ctxt, 'finish_source', **arguments)
