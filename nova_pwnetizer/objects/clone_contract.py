"""The clone contract: what the target and the source compute hosts of one
clone need, made and signed by nova-api for that clone alone.

It lives in the clone's *system* metadata, which tenants can neither read
nor write through the API (unlike metadata and, from microversion 2.100,
scheduler hints): the API adds it to each new instance before Nova keeps
the instance in its BuildRequest (``contracting_compute``), the conductor
copies it into the instance in its cell, and the target host consumes it
when it spawns the clone.
"""

import time
import typing

from oslo_versionedobjects import fields

from nova_pwnetizer.objects import base

KEY = 'pwnetizer_contract'    # system_metadata: KEY, KEY_1, ... (chunks)
VALUE_MAX = 255               # Nova's limit on a system_metadata value


@base.PwnetizerObjectRegistry.register
class CloneContract(base.PwnetizerObject):
    """One clone's contract.

    Version history:

        1.0 - clone_uuid, project_id, source_uuid, source_host, family,
              members, placement, randomize, expires_at
        1.1 - address_pairs (an older host reads it as False: it copies
              no allowed address pairs), device_models (an older host
              reads it as {}: it changes no device model)
    """
    VERSION = '1.1'

    fields = {
        'clone_uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'source_uuid': fields.UUIDField(),
        'source_host': fields.StringField(),
        'family': fields.StringField(),
        'members': fields.ListOfStringsField(default=[]),
        'placement': fields.StringField(default='spread'),
        'randomize': fields.BooleanField(default=False),
        'expires_at': fields.IntegerField(),    # epoch seconds
        # copy the source ports' allowed address pairs to the clone's
        'address_pairs': fields.BooleanField(default=False),
        # device class -> model nova-api chose for this clone, of the classes
        # Nova keeps as image properties (nova_pwnetizer.virt.image_models)
        'device_models': fields.DictOfStringsField(default={}),
    }

    def obj_make_compatible(self, primitive: dict, target_version: str) -> None:
        """``primitive`` as a host of ``target_version`` reads it."""
        super().obj_make_compatible(primitive, target_version)
        if tuple(int(p) for p in target_version.split('.')) < (1, 1):
            for field in ('address_pairs', 'device_models'):
                primitive.pop(field, None)

    def for_clone(self, clone_uuid: str,
                  device_models: typing.Optional[dict] = None) -> 'CloneContract':
        """A copy of this contract (the API's template) bound to one clone,
        with that clone's device models."""
        contract = self.obj_clone()
        contract.clone_uuid = clone_uuid
        contract.device_models = dict(device_models or {})
        return contract

    def check(self, clone_uuid: str, project_id: str, now: float = None,
              live: bool = True) -> 'CloneContract':
        """This contract if it is for clone ``clone_uuid`` of ``project_id``
        and (with ``live``) not expired; raises :class:`base.Unverified`."""
        if self.clone_uuid != clone_uuid:
            raise base.Unverified('the clone contract is for another server')
        if self.project_id != project_id:
            raise base.Unverified('the clone contract is for another project')
        if self.source_uuid == clone_uuid:
            raise base.Unverified('a server cannot be a clone of itself')
        if live and (now if now is not None else time.time()) > self.expires_at:
            raise base.Unverified('the clone contract has expired')
        return self

    # -- where it travels --------------------------------------------------

    def to_text(self, secret: str, version: typing.Optional[str] = None) -> str:
        """Signed, at ``version`` (default: this one)."""
        return base.signed_text(self, secret, version)

    @classmethod
    def from_text(cls, text: str, secrets: typing.Sequence[str]) -> 'CloneContract':
        """The contract in signed ``text``; raises :class:`base.Unverified`."""
        return base.read_primitive(cls, base.verified_primitive(text, secrets))

    def to_system_metadata(self, secret: str, version: typing.Optional[str] = None) -> dict:
        text = self.to_text(secret, version)
        chunks = [text[i:i + VALUE_MAX] for i in range(0, len(text), VALUE_MAX)]
        return {_key(i): chunk for i, chunk in enumerate(chunks)}


def text_in(system_metadata: typing.Optional[dict]) -> typing.Optional[str]:
    """The signed contract text an instance's system metadata holds, or None."""
    system_metadata = system_metadata or {}
    parts = []
    while system_metadata.get(_key(len(parts))):
        parts.append(system_metadata[_key(len(parts))])
    return ''.join(parts) or None


def keys_in(system_metadata: typing.Optional[dict]) -> list:
    """The keys of ``system_metadata`` that hold a contract (to consume it)."""
    return [k for k in system_metadata or {} if k == KEY or k.startswith(KEY + '_')]


def _key(index: int) -> str:
    return KEY if index == 0 else '%s_%d' % (KEY, index)
