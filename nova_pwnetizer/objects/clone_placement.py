"""The clone placement: what the scheduler's CloneHostFilter and
CloneFamilyWeigher act on, as the clone request's one scheduler hint.

Tenants can read scheduler hints (microversion 2.100), so it names no host
and holds no secret, only the source, the family and the placement; the
API signs it, and the filter and the weigher act on it only once it
verifies for the request's project.  Tenants cannot send it (the
reserved-key guard refuses ``pwnetizer_*`` hints).
"""

import time
import typing

from oslo_versionedobjects import fields

from nova_pwnetizer import clonerequest
from nova_pwnetizer.objects import base


@base.PwnetizerObjectRegistry.register
class ClonePlacement(base.PwnetizerObject):
    """Where the clones of one request may go.

    Version history:

        1.0 - project_id, source_uuid, family, members, placement, expires_at
    """
    VERSION = '1.0'

    fields = {
        'project_id': fields.StringField(),
        'source_uuid': fields.UUIDField(),
        'family': fields.StringField(),
        'members': fields.ListOfStringsField(default=[]),
        'placement': fields.StringField(default='spread'),
        'expires_at': fields.IntegerField(),
    }

    def to_hints(self, secret: str) -> dict:
        return {clonerequest.HINT_KEY: base.signed_text(self, secret)}

    @classmethod
    def from_hints(cls, hints: typing.Optional[dict], secrets: typing.Sequence[str],
                   project_id: str, now: float = None) -> typing.Optional['ClonePlacement']:
        """The placement in ``hints`` (None when there is none); raises
        :class:`base.Unverified` for one that does not verify or apply."""
        raw = (hints or {}).get(clonerequest.HINT_KEY)
        if isinstance(raw, list):   # Nova keeps each hint as a list
            raw = raw[0] if len(raw) == 1 else None if not raw else raw
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise base.Unverified('malformed clone placement hint')
        placement = base.read_primitive(cls, base.verified_primitive(raw, secrets))
        if placement.project_id != project_id:
            raise base.Unverified('the clone placement is for another project')
        if (now if now is not None else time.time()) > placement.expires_at:
            raise base.Unverified('the clone placement has expired')
        if placement.placement not in clonerequest.PLACEMENTS:
            raise base.Unverified('unknown placement %r' % placement.placement)
        return placement

    @classmethod
    def from_spec(cls, spec_obj, secrets: typing.Sequence[str]):
        hints = spec_obj.scheduler_hints if spec_obj.obj_attr_is_set('scheduler_hints') \
            else None
        if not hints or clonerequest.HINT_KEY not in hints:
            return None
        project_id = spec_obj.project_id if spec_obj.obj_attr_is_set('project_id') else None
        return cls.from_hints(hints, secrets, project_id)
