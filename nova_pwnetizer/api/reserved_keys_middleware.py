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


WRITES = ('POST', 'PUT', 'DELETE')


def routed_methods(req) -> set:
    """The methods Nova's router may act on for ``req``: its own, and with a
    ``_method`` in the query string (routes' method override, on in Nova's
    router, which decodes it more leniently than webob) any write."""
    if '_method' in req.query_string:
        return {req.method, *WRITES}
    return {req.method}


def verdict_of(req) -> reserved_keys.Verdict:
    """The guard's verdict under every method Nova may route ``req`` by:
    a refusal under any of them wins."""
    verdicts = [reserved_keys.inspect(method, req.path_info, req.body)
                for method in sorted(routed_methods(req))
                if reserved_keys.watches(method, req.path_info)]
    for verdict in verdicts:
        if verdict.refusal:
            return verdict
    return next((v for v in verdicts if v.keep_reserved_of), reserved_keys.PASS)


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
        if not any(reserved_keys.watches(method, req.path_info)
                   for method in routed_methods(req)):
            return req.get_response(self.application)
        verdict = verdict_of(req)
        if verdict.refusal:
            context = req.environ.get('nova.context')
            LOG.warning('Refused a write of reserved keys by project %s: %s %s: %s',
                        getattr(context, 'project_id', None), req.method,
                        req.path_qs, verdict.refusal)
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
