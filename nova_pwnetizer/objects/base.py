"""The base of the project's versioned objects, and their signed form.

An object crosses services as *signed text*: the JSON of its
oslo.versionedobjects primitive and an HMAC-SHA256 of that primitive
with ``[pwnetizer] clone_secret``.  The receiver checks the HMAC over
the primitive as it arrived, before it reads any field, so that a host
of an older minor version can verify a newer object; it then reads the
fields it knows (:func:`read_primitive`).  The object's name is part of
what is signed: one kind of object never passes for another.
"""

import hashlib
import hmac
import json
import typing

from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exception
from oslo_versionedobjects import fields as ovo_fields


class Unverified(Exception):
    """Signed text that does not verify, or an object that does not apply
    (another clone, project or version; expired)."""


class PwnetizerObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The registry of the project's objects (apart from Nova's)."""


class PwnetizerObject(ovo_base.VersionedObject):
    OBJ_PROJECT_NAMESPACE = 'nova_pwnetizer'
    OBJ_SERIAL_NAMESPACE = 'nova_pwnetizer_object'


def _canonical(primitive: dict) -> bytes:
    return json.dumps(primitive, sort_keys=True, separators=(',', ':')).encode()


def _mac(secret: str, primitive: dict) -> str:
    return hmac.new(secret.encode(), _canonical(primitive), hashlib.sha256).hexdigest()


def signed_text(obj: PwnetizerObject, secret: str,
                version: typing.Optional[str] = None) -> str:
    """``obj`` as signed text, at ``version`` (default: its own)."""
    primitive = obj.obj_to_primitive(target_version=version)
    primitive.pop(obj._obj_primitive_key('changes'), None)   # of no use to the receiver
    return json.dumps({'object': primitive, 'hmac': _mac(secret, primitive)},
                      sort_keys=True, separators=(',', ':'))


def verified_primitive(text: str, secrets: typing.Sequence[str]) -> dict:
    """The primitive in signed ``text`` once its HMAC verifies with one of
    ``secrets``; raises :class:`Unverified` otherwise."""
    try:
        envelope = json.loads(text)
        primitive, mac = envelope['object'], envelope['hmac']
    except (TypeError, ValueError, KeyError) as e:
        raise Unverified('malformed signed object: %s' % e.__class__.__name__)
    if not isinstance(primitive, dict) or not isinstance(mac, str):
        raise Unverified('malformed signed object')
    if not any(hmac.compare_digest(_mac(secret, primitive), mac)
               for secret in secrets if secret):
        raise Unverified('the signature does not verify')
    return primitive


def read_primitive(cls: type, primitive: dict) -> PwnetizerObject:
    """An object of ``cls`` from a verified ``primitive``: one of another
    name or major version is refused; one of a newer minor version is read
    at ``cls``'s own version with the fields it does not know left out; the
    fields an older one lacks take their defaults (none: refused)."""
    key = cls._obj_primitive_key
    name = primitive.get(key('name'))
    if name != cls.obj_name() or primitive.get(key('namespace')) != cls.OBJ_PROJECT_NAMESPACE:
        raise Unverified('a %s, not a %s' % (name, cls.obj_name()))
    version = str(primitive.get(key('version'), ''))
    try:
        theirs = tuple(int(p) for p in version.split('.'))
        ours = tuple(int(p) for p in cls.VERSION.split('.'))
    except ValueError:
        raise Unverified('version %r of %s' % (version, name))
    if len(theirs) != 2 or theirs[0] != ours[0]:
        raise Unverified('%s version %s, this host reads %s' % (name, version, cls.VERSION))
    data = primitive.get(key('data'))
    if not isinstance(data, dict):
        raise Unverified('malformed %s' % name)
    if theirs > ours:
        data = {k: v for k, v in data.items() if k in cls.fields}
        version = cls.VERSION
    # (not through the registry, which Nova's test harness resets)
    obj = cls()
    obj.VERSION = version
    try:
        for field_name, field in cls.fields.items():
            if field_name in data:
                setattr(obj, field_name, field.from_primitive(obj, field_name,
                                                              data[field_name]))
    except (ovo_exception.VersionedObjectsException, ValueError, TypeError) as e:
        raise Unverified('malformed %s: %s' % (name, e))
    for field_name, field in cls.fields.items():   # what an older sender lacks
        if not obj.obj_attr_is_set(field_name):
            if field.default == ovo_fields.UnspecifiedDefault:
                raise Unverified('%s without %s' % (name, field_name))
            obj.obj_set_defaults(field_name)
    obj.obj_reset_changes()
    return obj
