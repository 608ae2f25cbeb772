"""CloneFamilyWeigher: spread a clone family over hosts (or pack it).

For clone requests whose signed placement verifies (see the filter), a
host weighs minus the number of family members it
runs (``spread``, ``any``), or plus that number (``pack``); other requests
weigh 0.  Enable with

    [filter_scheduler]
    weight_classes = nova.scheduler.weights.all_weighers
    weight_classes = nova_pwnetizer.scheduler.weights.CloneFamilyWeigher
"""

from oslo_config import cfg

from nova.scheduler import weights

import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.scheduler import filters

CONF = cfg.CONF


class CloneFamilyWeigher(weights.BaseHostWeigher):

    def weight_multiplier(self, host_state):
        return CONF.pwnetizer.family_weight_multiplier

    def _weigh_object(self, host_state, request_spec):
        request, _refusal = filters.placement_of(request_spec)
        if request is None:   # not a clone, or refused by the filter
            return 0.0
        members = set(request.members) | {request.source_uuid}
        on_host = len(set(host_state.instances) & members)
        return float(on_host if request.placement == 'pack' else -on_host)
