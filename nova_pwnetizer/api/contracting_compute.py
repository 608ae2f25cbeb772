"""Nova's compute API, able to give each new instance of a clone request
its own clone contract in its system metadata.

``compute_api.API.create`` takes no system metadata, and the instances it
makes are not in their cell until the conductor has scheduled them: what
Nova keeps of them meanwhile is their BuildRequest, which holds the whole
instance, system metadata included, and which the conductor copies into
the cell.  So the contract is added where Nova fills each new instance in
(``_populate_instance_for_create``), once its UUID is known and before
its BuildRequest is made.
"""

import contextvars
import typing

from oslo_config import cfg

from nova.compute import api as compute_api

import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.objects import clone_contract

CONF = cfg.CONF


class _Pending(typing.NamedTuple):
    """What the create() in progress in this request gives each instance."""

    template: clone_contract.CloneContract
    secret: str
    device_models: typing.Sequence[dict]   # per launch index; may be empty


_CONTRACT = contextvars.ContextVar('pwnetizer_contract', default=None)


class ContractingAPI(compute_api.API):

    def create_clones(self, context, template: clone_contract.CloneContract,
                      secret: str, *args,
                      device_models: typing.Sequence[dict] = (),
                      **kwargs) -> typing.Tuple[list, str]:
        """``create()`` with a contract from ``template`` for each instance,
        with ``device_models[i]`` for the instance of launch index ``i``."""
        token = _CONTRACT.set(_Pending(template, secret, list(device_models)))
        try:
            return self.create(context, *args, **kwargs)
        finally:
            _CONTRACT.reset(token)

    def _populate_instance_for_create(self, context, instance, *args, **kwargs):
        instance = super()._populate_instance_for_create(context, instance, *args,
                                                         **kwargs)
        pending = _CONTRACT.get()
        if pending is not None:
            models = pending.device_models
            contract = pending.template.for_clone(
                instance.uuid, models[instance.launch_index] if models else None)
            instance.system_metadata.update(contract.to_system_metadata(
                pending.secret, CONF.pwnetizer.contract_version))
        return instance
