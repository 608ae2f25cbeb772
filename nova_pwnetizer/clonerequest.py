"""A clone request as it travels from the API to the scheduler and the
target compute host: Nova scheduler hints, signed.

Scheduler hints are also open to any user at server create, so the API
signs the clone hints with a secret shared by the API and the compute
hosts (``[pwnetizer] clone_secret``); the compute host refuses a clone
whose hints do not verify, and never clones a server of another project.
"""

import dataclasses
import hashlib
import hmac
import json

PREFIX = 'pwnetizer_'
PLACEMENTS = ('spread', 'pack', 'any')
KEY = PREFIX + 'request'
SOURCE_KEY = PREFIX + 'source'   # metadata of a clone: the server it was cloned from
FAMILY_KEY = PREFIX + 'family'   # metadata of a clone: its family's first source
META_VALUE_MAX = 255   # Nova's limit on a metadata value


@dataclasses.dataclass
class CloneRequest:
    source_uuid: str
    source_host: str
    project_id: str
    family: str
    members: list = dataclasses.field(default_factory=list)   # uuids of the family
    placement: str = 'spread'
    randomize: bool = False
    signature: str = None

    def _payload(self):
        fields = dataclasses.asdict(self)
        fields.pop('signature')
        return json.dumps(fields, sort_keys=True).encode()

    def sign(self, secret):
        self.signature = hmac.new(secret.encode(), self._payload(), hashlib.sha256).hexdigest()
        return self

    def verify(self, secret):
        if not secret or not self.signature:
            return False
        expected = hmac.new(secret.encode(), self._payload(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def _json(self):
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    def to_hints(self):
        """Scheduler hints (Nova keeps each as a list of strings)."""
        return {KEY: self._json()}

    def to_metadata(self):
        """Server metadata: ``pwnetizer_request``, ``pwnetizer_request_1``, ..."""
        text = self._json()
        chunks = [text[i:i + META_VALUE_MAX] for i in range(0, len(text), META_VALUE_MAX)]
        return {metadata_key(i): chunk for i, chunk in enumerate(chunks)}

    @classmethod
    def from_metadata(cls, metadata):
        """The request in a server's metadata, or None (signature unchecked)."""
        metadata = metadata or {}
        parts = []
        while metadata.get(metadata_key(len(parts))):
            parts.append(metadata[metadata_key(len(parts))])
        return cls.from_hints({KEY: ''.join(parts)}) if parts else None

    @classmethod
    def from_hints(cls, hints):
        """The request in ``hints`` (a dict), or None for other requests."""
        raw = (hints or {}).get(KEY)
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        if not raw:
            return None
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError):
            return None

    @classmethod
    def from_spec(cls, spec_obj):
        if not spec_obj.obj_attr_is_set('scheduler_hints') or not spec_obj.scheduler_hints:
            return None
        return cls.from_hints(spec_obj.scheduler_hints)


def is_reserved(key: str) -> bool:
    """Whether ``key`` (of metadata or a scheduler hint) is the project's,
    compared as MySQL compares keys: without case or surrounding blanks."""
    return key.strip().lower().startswith(PREFIX)


def family_of(metadata):
    """The family a server's metadata marks it with, or None."""
    return (metadata or {}).get(FAMILY_KEY)


def marked_with(servers, family):
    """The servers marked with ``family``: Nova's metadata filter matches
    keys and values independently, so its results are checked again here."""
    return [s for s in servers if family_of(s.metadata) == family]


def metadata_key(index):
    return KEY if index == 0 else '%s_%d' % (KEY, index)


def metadata_keys(metadata):
    """The keys of ``metadata`` that hold a request (to remove it)."""
    return [k for k in metadata or {} if k == KEY or k.startswith(KEY + '_')]
