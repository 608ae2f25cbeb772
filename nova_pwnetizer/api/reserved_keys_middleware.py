"""Paste middleware of nova-api that applies :mod:`.reserved_keys`.

It runs in front of the clone action (``clone_action.filter_factory``
wraps both), so that it sees every request of the pipeline.
"""

from oslo_log import log as logging
import webob.dec

from nova.compute import api as compute_api
from nova import exception

from nova_pwnetizer.api import faults
from nova_pwnetizer.api import reserved_keys

LOG = logging.getLogger(__name__)


class ReservedKeysMiddleware:
    """Refuses writes of reserved keys (400); keeps a server's reserved
    metadata across a replace of all of it."""

    def __init__(self, application, compute=None):
        self.application = application
        self._compute = compute

    @property
    def compute(self):
        if self._compute is None:
            self._compute = compute_api.API()
        return self._compute

    @webob.dec.wsgify
    def __call__(self, req):
        if not reserved_keys.watches(req.method, req.path_info):
            return req.get_response(self.application)
        verdict = reserved_keys.inspect(req.method, req.path_info, req.body)
        if verdict.refusal:
            context = req.environ.get('nova.context')
            LOG.warning('Refused a write of reserved keys by project %s: %s %s: %s',
                        getattr(context, 'project_id', None), req.method,
                        req.path_info, verdict.refusal)
            return faults.fault_response(400, verdict.refusal)
        if verdict.keep_reserved_of:
            self._keep_reserved(req, verdict)
        return req.get_response(self.application)

    def _keep_reserved(self, req, verdict):
        context = req.environ.get('nova.context')
        if context is None:
            return
        try:
            instance = self.compute.get(context, verdict.keep_reserved_of,
                                        expected_attrs=['metadata'])
        except (exception.InstanceNotFound, exception.Forbidden):
            return   # Nova answers the request itself (404)
        kept = reserved_keys.reserved_items(instance.metadata)
        if kept:
            req.body = reserved_keys.with_reserved(req.body, verdict.metadata_path, kept)
