"""The guest-side step that makes a clone its own machine.

``files/clone-identity.sh`` runs inside the clone's guest through the QEMU
guest agent, as ``guest-exec path=/bin/sh arg=exec_args(...)`` with
capture-output, in two phases: ``rebind`` (while the new NICs are still
link-down: network config moved to the new MACs, new machine-id, RNG
reseeded, hostname, host keys, cloud-init's instance) and ``online`` (after
the links are up: DHCP started, address read and announced).  It prints one
``key: value`` line per thing done; exit 2 means bad arguments, nothing
changed.  This module builds the arguments, checked as strictly as the
script checks them.
"""

import functools
import importlib.resources
import re

#: the script's ``$0`` inside the guest
ARGV0 = 'clone-identity'
#: the most seed bytes the script takes (512 hex digits)
MAX_SEED_BYTES = 256
#: Linux's MAX_ARG_STRLEN: the script's text is one argument of guest-exec
MAX_ARG_BYTES = 128 * 1024
CLOUD_INIT_MODES = ('keep', 'new')

_MAC = re.compile(r'[0-9a-f]{2}(?::[0-9a-f]{2}){5}\Z')
_LABEL = re.compile(r'(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z')
_INSTANCE_ID = re.compile(r'[A-Za-z0-9-]{1,64}\Z')


@functools.lru_cache(maxsize=1)
def script_text() -> str:
    """The shipped script's text."""
    return (importlib.resources.files(__package__)
            .joinpath('files', 'clone-identity.sh').read_text(encoding='utf-8'))


def exec_args(phase_args: list[str]) -> list[str]:
    """The ``arg`` list of guest-exec for ``path=/bin/sh``."""
    return ['-c', script_text(), ARGV0] + list(phase_args)


def _mac(mac: str) -> str:
    low = mac.lower()
    if not _MAC.match(low):
        raise ValueError('not a MAC address: %r' % (mac,))
    return low


def _mac_args(macs: dict[str, str], required: bool = True) -> list[str]:
    if not macs and required:
        raise ValueError('at least one OLD -> NEW MAC is needed')
    pairs = [(_mac(old), _mac(new)) for old, new in macs.items()]
    seen = [mac for pair in pairs for mac in pair]
    if len(set(seen)) != len(seen):
        raise ValueError('each MAC may appear once, old or new: %r' % (macs,))
    args = []
    for old, new in pairs:
        args += ['--mac', '%s=%s' % (old, new)]
    return args


def valid_hostname(name: str) -> bool:
    """Whether ``name`` is RFC 1123 labels, 63 characters each, 253 in all."""
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split('.'))


def rebind_args(macs: dict[str, str], hostname: str | None, seed: bytes,
                ssh_host_keys: bool, cloud_init: str,
                instance_id: str | None, genid_changed: bool = False) -> list[str]:
    """The arguments of the ``rebind`` phase.

    ``macs`` maps each inherited MAC to its replacement; ``seed`` comes from
    the host's own random source (at most 256 bytes); ``cloud_init`` is
    ``keep`` (the clone continues the source's cloud-init instance under
    ``instance_id``, e.g. the clone's server UUID) or ``new`` (first-boot
    behaviour at the clone's next boot).  ``genid_changed``: the clone has
    a new VM generation ID, on which a Linux guest reseeds its RNG itself.
    """
    args = ['rebind'] + _mac_args(macs, required=False)
    if hostname is not None:
        if not valid_hostname(hostname):
            raise ValueError('not an RFC 1123 host name: %r' % (hostname,))
        args += ['--hostname', hostname]
    if len(seed) > MAX_SEED_BYTES:
        raise ValueError('seed longer than %d bytes' % MAX_SEED_BYTES)
    if seed:
        args += ['--seed', seed.hex()]
    if ssh_host_keys:
        args.append('--ssh-host-keys')
    if cloud_init not in CLOUD_INIT_MODES:
        raise ValueError('cloud_init must be keep or new, not %r' % (cloud_init,))
    args += ['--cloud-init', cloud_init]
    if instance_id is not None:
        if cloud_init != 'keep':
            raise ValueError('instance_id goes with cloud_init=keep')
        if not _INSTANCE_ID.match(instance_id):
            raise ValueError('instance id must be [A-Za-z0-9-]{1,64}: %r' % (instance_id,))
        args += ['--instance-id', instance_id]
    if genid_changed:
        args.append('--genid-changed')
    return args


def online_args(macs: dict[str, str]) -> list[str]:
    """The arguments of the ``online`` phase (after the new links are up)."""
    return ['online'] + _mac_args(macs)
