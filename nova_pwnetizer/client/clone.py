"""``POST /servers/{id}/action {"clone": {...}}`` through a keystoneauth
adapter of the compute service (an ``openstack.compute.v2._proxy.Proxy``,
which openstackclient holds as ``client_manager.compute``, is one)."""

import dataclasses

from nova_pwnetizer.api import schema


class CloneFailed(Exception):
    """The cloud refused the clone: ``code`` is the HTTP status (0 when the
    body was refused before sending), ``message`` Nova's fault message;
    ``field``, for a body refused before sending, the member of ``clone``
    that the schema refused (``'name'``, ``'count'``, ``'metadata'``, ...),
    when one alone is at fault."""

    def __init__(self, code, message, field=None):
        super().__init__('%s (HTTP %d)' % (message, code) if code else message)
        self.code = code
        self.message = message
        self.field = field


@dataclasses.dataclass
class Reservation:
    reservation_id: str
    servers: list            # [{'id': ..., 'name': ...}], in creation order

    @property
    def server_ids(self):
        return [server['id'] for server in self.servers]


def clone_body(name=None, count=None, randomize=None, placement=None, metadata=None,
               address_pairs=None):
    """The action body; the API's own schema checks it before anything is sent
    (:class:`CloneFailed` with code 0 and the API's message)."""
    values = {'name': name, 'count': count, 'randomize': randomize,
              'placement': placement, 'metadata': metadata,
              'address_pairs': address_pairs}
    body = {'clone': {key: value for key, value in values.items() if value is not None}}
    error = schema.validate(body)
    if error:
        raise CloneFailed(0, error, field=_refused_member(body['clone']))
    return body


def _refused_member(members):
    """The first member of the action that the schema refuses on its own."""
    for key, value in members.items():
        if schema.validate({'clone': {key: value}}):
            return key
    return None


def fault_message(response):
    """Nova's fault message of an error response (its body's only member)."""
    try:
        body = response.json()
        (fault,) = body.values()
        return fault['message']
    except Exception:
        return (response.text or response.reason or 'no message').strip()


def clone_server(compute, server_id, **kwargs):
    """Clone the server ``server_id``; ``kwargs`` as :func:`clone_body`.

    Returns the :class:`Reservation` with the new servers (still building).
    """
    body = clone_body(**kwargs)
    response = compute.post('/servers/%s/action' % server_id, json=body,
                            raise_exc=False)
    if response.status_code != 202:
        raise CloneFailed(response.status_code, fault_message(response))
    result = response.json()['clone']
    return Reservation(result.get('reservation_id'), result['servers'])
