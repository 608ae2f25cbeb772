"""The guard of the reserved ``pwnetizer_*`` keys on Nova's own API paths.

Nova's metadata key pattern accepts any ``pwnetizer_*`` key, and scheduler
hints take any key at all.  The keys are the project's: the family and the
source of a clone, its figures, the marker hint of a clone request.  No
user, tenant or admin, may set, change or delete one through the API:

======================================  =====================================
path                                    refused (400) when
======================================  =====================================
``POST /servers``                       ``server.metadata`` or the scheduler
                                        hints hold a reserved key
``PUT /servers/{id}/metadata``          ``metadata`` holds one (the server's
                                        own reserved keys are kept)
``POST /servers/{id}/metadata``         ``metadata`` holds one
``PUT /servers/{id}/metadata/{key}``    ``key`` (or ``meta``) is reserved
``DELETE /servers/{id}/metadata/{key}`` ``key`` is reserved
``POST /servers/{id}/action``           ``rebuild.metadata`` holds one (the
                                        server's own reserved keys are kept)
======================================  =====================================

Keys are compared without case and surrounding blanks (MySQL compares them
so).  The project itself writes its keys through Nova's objects, never
through these paths.
"""

import dataclasses
import json
import re
import typing

from nova_pwnetizer import clonerequest

_SERVERS = r'^(?:/v2(?:\.1)?)?(?:/[^/]+)?/servers'
_CREATE = re.compile(_SERVERS + r'/?$')
_METADATA = re.compile(_SERVERS + r'/(?P<server_id>[^/]+)/metadata/?$')
_METADATA_ITEM = re.compile(_SERVERS + r'/(?P<server_id>[^/]+)/metadata/(?P<key>[^/]+)$')
_ACTION = re.compile(_SERVERS + r'/(?P<server_id>[^/]+)/action/?$')

HINTS_KEYS = ('os:scheduler_hints', 'OS-SCH-HNT:scheduler_hints')


@dataclasses.dataclass
class Verdict:
    """What the guard makes of one request.

    ``refusal``: the 400 message, or None.  ``keep_reserved_of``: the server
    whose reserved metadata must survive the request (a replace of all its
    metadata), with ``metadata_path`` the body's path to the new metadata.
    """
    refusal: typing.Optional[str] = None
    keep_reserved_of: typing.Optional[str] = None
    metadata_path: tuple = ()


PASS = Verdict()


def watches(method: str, path: str) -> bool:
    """Whether a ``method`` request of ``path`` may write server metadata
    or scheduler hints (the only requests the guard reads)."""
    if method == 'POST':
        return bool(_CREATE.match(path) or _METADATA.match(path) or _ACTION.match(path))
    if method == 'PUT':
        return bool(_METADATA.match(path) or _METADATA_ITEM.match(path))
    if method == 'DELETE':
        return bool(_METADATA_ITEM.match(path))
    return False


def reserved_in(keys: typing.Iterable) -> list:
    """The reserved keys among ``keys``, sorted."""
    return sorted(k for k in keys if isinstance(k, str) and clonerequest.is_reserved(k))


def reserved_items(metadata: typing.Optional[dict]) -> dict:
    """The reserved items of a server's metadata."""
    return {k: v for k, v in (metadata or {}).items() if clonerequest.is_reserved(k)}


def _refusal(where: str, keys: list) -> Verdict:
    return Verdict(refusal=(
        "Invalid input for field/attribute %s: the key(s) %s are reserved: keys "
        "starting with '%s' are set by the cloud's clone service only."
        % (where, ', '.join(repr(k) for k in keys), clonerequest.PREFIX)))


def _dict_at(body, *path) -> dict:
    for name in path:
        body = body.get(name) if isinstance(body, dict) else None
    return body if isinstance(body, dict) else {}


def inspect(method: str, path: str, body: typing.Optional[bytes]) -> Verdict:
    """The guard's verdict on a request; a body that is not JSON is left to
    Nova (which refuses it)."""
    item = _METADATA_ITEM.match(path)
    if item and method in ('PUT', 'DELETE'):
        key = item.group('key')
        if clonerequest.is_reserved(key):
            return _refusal('metadata/%s' % key, [key])
        if method == 'DELETE':
            return PASS
    try:
        data = json.loads(body) if body else {}
    except ValueError:   # also UnicodeDecodeError: Nova's own 400
        return PASS
    if item:
        keys = reserved_in(_dict_at(data, 'meta'))
        return _refusal('meta', keys) if keys else PASS
    if _CREATE.match(path):
        keys = reserved_in(_dict_at(data, 'server', 'metadata'))
        if keys:
            return _refusal('server/metadata', keys)
        for name in HINTS_KEYS:
            keys = reserved_in(_dict_at(data, name))
            if keys:
                return _refusal(name, keys)
        return PASS
    whole = _METADATA.match(path)
    if whole:
        keys = reserved_in(_dict_at(data, 'metadata'))
        if keys:
            return _refusal('metadata', keys)
        if method == 'PUT':
            return Verdict(keep_reserved_of=whole.group('server_id'),
                           metadata_path=('metadata',))
        return PASS
    action = _ACTION.match(path)
    if action and isinstance(data, dict) and isinstance(data.get('rebuild'), dict) \
            and 'metadata' in data['rebuild']:
        keys = reserved_in(_dict_at(data, 'rebuild', 'metadata'))
        if keys:
            return _refusal('rebuild/metadata', keys)
        return Verdict(keep_reserved_of=action.group('server_id'),
                       metadata_path=('rebuild', 'metadata'))
    return PASS


def with_reserved(body: bytes, metadata_path: tuple, reserved: dict) -> bytes:
    """``body`` with the ``reserved`` items added to the metadata it sets."""
    data = json.loads(body)
    target = data
    for name in metadata_path[:-1]:
        target = target[name]
    new = target.get(metadata_path[-1])
    if not isinstance(new, dict):
        return body   # Nova refuses it
    target[metadata_path[-1]] = dict(new, **reserved)
    return json.dumps(data).encode()
