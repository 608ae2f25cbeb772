"""The lock of a source server while it is cloned: its task state.

Nova's API refuses (409) every action that needs no task in progress --
pause, suspend, snapshot, live migration, resize, rebuild, ... -- while an
instance has a task state, and ``openstack server show`` shows it: so the
source host sets ``task_state = 'cloning'`` on the source for the whole
clone (saved with the expected task state None: an action that began in
between wins, and the clone waits or fails), and clears it when the clone
ends.  Delete, which Nova allows in any task state, ends the clone: the
engine rolls the clone back when its source goes away.
"""

from oslo_log import log as logging

from nova import exception as nova_exception
from nova import objects

LOG = logging.getLogger(__name__)

CLONING = 'cloning'


def lock(instance) -> bool:
    """Set the source's task state; False when another task holds it."""
    if instance.task_state == CLONING:
        return True
    try:
        instance.task_state = CLONING
        instance.save(expected_task_state=[None])
        return True
    except nova_exception.UnexpectedTaskStateError:
        instance.refresh()
        return False


def unlock(context, source_uuid: str) -> None:
    """Clear the task state of the source, if it is still ``cloning``."""
    try:
        instance = objects.Instance.get_by_uuid(context, source_uuid)
        if instance.task_state != CLONING:
            return
        instance.task_state = None
        instance.save(expected_task_state=[CLONING])
    except (nova_exception.InstanceNotFound, nova_exception.UnexpectedTaskStateError) as e:
        LOG.debug('Source %s not unlocked: %s', source_uuid, e)
