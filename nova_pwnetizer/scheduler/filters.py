"""CloneHostFilter: where a clone of a server may run.

For clone requests only (other requests pass untouched), the request's
signed clone placement (:mod:`nova_pwnetizer.objects.clone_placement`)
must verify for the request's project, or no host passes.  A host passes
when it runs the pwnetizer compute driver (it reports the ``pwnetizer``
stat), has the source host's hypervisor type, a QEMU at least as new, and
for KVM sources the same CPU model (the source's host is the one that
runs the source: the placement names no host).  With placement ``spread``
the source's host and the hosts of the clone family are dropped when other
hosts pass;
``pack`` and ``any`` keep them (the weigher then prefers or spreads).

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = nova_pwnetizer.scheduler.filters.CloneHostFilter
    enabled_filters = ...,CloneHostFilter
"""

import json

from oslo_config import cfg
from oslo_log import log as logging

from nova import objects
from nova.scheduler import filters

from nova_pwnetizer import clone_secret
import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.objects import base as objects_base
from nova_pwnetizer.objects import clone_placement

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

STAT = 'pwnetizer'
# What a host's driver can do, the value of its STAT (one filter for all
# the hosts of a rolling upgrade: clones go to the hosts that can all of it):
#   1 - live clones
#   2 - each clone port its own source port's settings; the source host's
#       part of the XML rewritten or refused
CAPABILITY = 2


def capability(stats) -> int:
    """The capability a host reports in its ``stats`` (0: none)."""
    try:
        return int((stats or {}).get(STAT) or 0)
    except (TypeError, ValueError):
        return 0


def placement_of(spec_obj):
    """``(placement, refusal)`` of a request: ``(None, None)`` for a request
    that is not a clone, ``(None, why)`` for a placement that does not verify."""
    try:
        return clone_placement.ClonePlacement.from_spec(
            spec_obj, clone_secret.accepted_by(CONF.pwnetizer)), None
    except objects_base.Unverified as e:
        return None, str(e)


def _field(obj, name):
    return getattr(obj, name) if obj.obj_attr_is_set(name) else None


def _cpu_model(cpu_info):
    try:
        return json.loads(cpu_info or '{}').get('model')
    except ValueError:
        return None


class CloneHostFilter(filters.BaseHostFilter):
    RUN_ON_REBUILD = False

    def filter_all(self, filter_obj_list, spec_obj):
        request, refusal = placement_of(spec_obj)
        hosts = list(filter_obj_list)
        if refusal:
            LOG.warning('Refused the clone placement of instance %s (project %s): %s',
                        _field(spec_obj, 'instance_uuid'), _field(spec_obj, 'project_id'),
                        refusal)
            return []
        if request is None:
            return hosts
        source_host = next((h.host for h in hosts if request.source_uuid in h.instances),
                           None)
        source = self._source_node(spec_obj, source_host) if source_host else None
        passing = [h for h in hosts if self._compatible(h, source, request)]
        if request.placement == 'spread':
            family_hosts = {source_host} | {
                h.host for h in passing if set(h.instances) & set(request.members)}
            elsewhere = [h for h in passing if h.host not in family_hosts]
            if elsewhere:
                passing = elsewhere
        return passing

    @staticmethod
    def _source_node(spec_obj, host):
        nodes = objects.ComputeNodeList.get_all_by_host(spec_obj._context, host)
        return nodes[0] if nodes else None

    @staticmethod
    def _compatible(host_state, source, request):
        why = None
        if capability(host_state.stats) < CAPABILITY:
            why = ('does not run the pwnetizer compute driver, or an older one '
                   '(capability %d, clones need %d)'
                   % (capability(host_state.stats), CAPABILITY))
        elif source is not None and host_state.hypervisor_type != source.hypervisor_type:
            why = 'hypervisor %s, the source has %s' % (
                host_state.hypervisor_type, source.hypervisor_type)
        elif source is not None and (host_state.hypervisor_version or 0) < (
                source.hypervisor_version or 0):
            why = 'older QEMU than the source host'
        elif source is not None and host_state.stats.get('pwnetizer_virt_type') == 'kvm' \
                and _cpu_model(host_state.cpu_info) != _cpu_model(source.cpu_info):
            why = 'another CPU model than the source host'
        if why:
            LOG.debug('%s cannot take a clone of %s: %s', host_state.host,
                      request.source_uuid, why)
            return False
        return True

    def host_passes(self, host_state, spec_obj):  # used by Nova's own tools
        return bool(self.filter_all([host_state], spec_obj))
