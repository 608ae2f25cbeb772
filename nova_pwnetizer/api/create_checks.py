"""The checks of Nova's own ``POST /servers`` that a clone must pass too.

A clone is a new server of the caller's project, with the source's flavor,
image and networks: it passes every policy and validation check that the
same user's ``POST /servers`` with that flavor and those networks would
pass (nova/api/openstack/compute/servers.py), with the flavor as it is
now, not the copy the source embeds.
"""

from nova import objects
from nova.policies import servers as server_policies

# what the source's memory state is made for: a flavor that no longer has
# these is another flavor under the same id
SIZES = ('memory_mb', 'vcpus', 'root_gb', 'ephemeral_gb', 'swap')


class FlavorChanged(Exception):
    """The source's flavor id names a flavor of other sizes now."""


def authorize_create(context, instance, requested_networks) -> None:
    """Nova's create policies for a clone of ``instance``
    (raises nova.exception.PolicyNotAuthorized)."""
    target = {'project_id': context.project_id, 'user_id': context.user_id,
              'availability_zone': instance.availability_zone}
    context.can(server_policies.SERVERS % 'create', target)
    if requested_networks and len(requested_networks) and \
            not requested_networks.no_allocate:
        context.can(server_policies.SERVERS % 'create:attach_network', target)


def current_flavor(context, instance):
    """The source's flavor as the caller may use it now: not deleted, public
    or shared with the caller's project (Nova's query filters both for a
    non-admin), of the source's sizes.  Raises nova.exception.FlavorNotFound
    or :class:`FlavorChanged`; Nova's create() refuses a disabled one."""
    flavor = objects.Flavor.get_by_flavor_id(context, instance.flavor.flavorid,
                                             read_deleted='no')
    changed = [size for size in SIZES
               if getattr(flavor, size) != getattr(instance.flavor, size)]
    if changed:
        raise FlavorChanged('flavor %s is not the one server %s was made with (%s '
                            'changed)' % (flavor.flavorid, instance.uuid, ', '.join(changed)))
    return flavor
