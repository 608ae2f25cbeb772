"""The names a clone request uses in Nova: its reserved ``pwnetizer_*``
keys, its scheduler hint and its placements.

What a clone needs travels signed, as versioned objects
(:mod:`nova_pwnetizer.objects`): the contract in the clone's system
metadata, the placement in the hint :data:`HINT_KEY`.  The metadata keys
here are what tenants see of a clone, read-only.
"""

PREFIX = 'pwnetizer_'
PLACEMENTS = ('spread', 'pack', 'any')
HINT_KEY = PREFIX + 'clone'      # scheduler hint: the signed ClonePlacement
SOURCE_KEY = PREFIX + 'source'   # metadata of a clone: the server it was cloned from
FAMILY_KEY = PREFIX + 'family'   # metadata of a clone: its family's first source


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
