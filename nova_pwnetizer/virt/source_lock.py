"""The lock of a source server while it is cloned: its task state.

Nova's API refuses (409) every action that needs no task in progress --
pause, suspend, snapshot, live migration, resize, rebuild, ... -- while an
instance has a task state, and ``openstack server show`` shows it: so the
source host sets ``task_state = 'cloning'`` on the source for the whole
clone (saved with the expected task state None: an action that began in
between wins, and the clone waits or fails), and clears it when the clone
ends.  Delete, which Nova allows in any task state, ends the clone: the
engine rolls the clone back when its source goes away.

The same save records the lease in the source's system metadata (which
tenants can neither read nor write): the clone that holds it, and until
when.  A restarted nova-compute reads it back (``source_watchdog``), so a
clone in flight keeps its source through the restart.
"""

import json
import typing

from oslo_log import log as logging

from nova import exception as nova_exception
from nova import objects

LOG = logging.getLogger(__name__)

CLONING = 'cloning'
LEASE_KEY = 'pwnetizer_lease'     # system_metadata: {"clone": uuid, "expires_at": epoch s}


class Lease(typing.NamedTuple):
    clone_uuid: str
    expires_at: float     # epoch seconds


def lock(instance, clone_uuid: str, expires_at: float) -> bool:
    """Set the source's task state and record the lease of ``clone_uuid``
    until ``expires_at`` (epoch s); False when another task holds it."""
    if instance.task_state == CLONING:
        return True
    try:
        instance.task_state = CLONING
        instance.system_metadata[LEASE_KEY] = json.dumps(
            {'clone': clone_uuid, 'expires_at': int(expires_at) + 1})
        instance.save(expected_task_state=[None])
        return True
    except nova_exception.UnexpectedTaskStateError:
        instance.refresh()
        return False


def lease_of(instance) -> typing.Optional[Lease]:
    """The lease recorded on a locked source, or None."""
    if instance.task_state != CLONING:
        return None
    try:
        found = json.loads(instance.system_metadata.get(LEASE_KEY) or 'null')
        return Lease(str(found['clone']), float(found['expires_at']))
    except (TypeError, ValueError, KeyError):
        return None


def unlock(context, source_uuid: str) -> None:
    """Clear the task state of the source, if it is still ``cloning``."""
    try:
        instance = objects.Instance.get_by_uuid(context, source_uuid)
        if instance.task_state != CLONING:
            return
        instance.task_state = None
        instance.system_metadata.pop(LEASE_KEY, None)
        instance.save(expected_task_state=[CLONING])
    except (nova_exception.InstanceNotFound, nova_exception.UnexpectedTaskStateError) as e:
        LOG.debug('Source %s not unlocked: %s', source_uuid, e)
