"""Whether ``[pwnetizer] clone_secret`` is fit to sign clone contracts, and
which secrets a host accepts (the current one and those being rotated out).
"""

import typing

MIN_LENGTH = 32
MIN_DISTINCT = 8
# defaults and examples seen in the wild and in this project's own docs
KNOWN_WEAK = frozenset({
    'secret', 'changeme', 'password', 'clone-secret', 'clone_secret',
    'pwnetizer', 'functional-test-secret', 'devstack', 'stackqueue', 'openstack',
})


def problem(secret: typing.Optional[str]) -> typing.Optional[str]:
    """Why ``secret`` cannot sign clone contracts, or None if it can."""
    if not secret:
        return 'it is unset'
    if secret.strip().lower() in KNOWN_WEAK:
        return 'it is a well-known default'
    if len(secret) < MIN_LENGTH:
        return 'it is shorter than %d characters' % MIN_LENGTH
    if len(set(secret)) < MIN_DISTINCT:
        return 'it has fewer than %d distinct characters' % MIN_DISTINCT
    return None


def accepted(current: typing.Optional[str],
             previous: typing.Iterable[str] = ()) -> list:
    """The secrets a contract may be signed with: the current one, then the
    previous ones still accepted during a rotation; weak ones left out."""
    return [s for s in [current, *(previous or ())] if s and problem(s) is None]


def accepted_by(group) -> list:
    """:func:`accepted` of a ``[pwnetizer]`` option group (``CONF.pwnetizer``)."""
    return accepted(group.clone_secret, group.clone_secret_previous)
