"""Wait for new servers to leave BUILD, with progress."""

import time

FINAL = ('ACTIVE', 'ERROR')
DONE = FINAL + ('DELETED',)     # no longer worth polling


class WaitTimeout(Exception):
    pass


def _get(compute, server_id):
    response = compute.get('/servers/%s' % server_id, raise_exc=False)
    if response.status_code == 404:
        return {'id': server_id, 'status': 'DELETED'}
    response.raise_for_status()
    return response.json()['server']


def wait_for_servers(compute, server_ids, timeout=600, interval=2.0, on_progress=None,
                     clock=time.monotonic, sleep=time.sleep):
    """Poll until every server is ACTIVE, ERROR or gone; return their
    ``GET /servers/{id}`` bodies in the order of ``server_ids`` (an ERROR
    server's ``fault`` carries the reason).  ``on_progress(servers)`` is
    called after each poll.  :class:`WaitTimeout` after ``timeout`` s."""
    deadline = clock() + timeout
    servers = {}
    while True:
        for server_id in server_ids:
            if servers.get(server_id, {}).get('status') not in DONE:
                servers[server_id] = _get(compute, server_id)
        ordered = [servers[server_id] for server_id in server_ids]
        if on_progress:
            on_progress(ordered)
        if all(server['status'] in DONE for server in ordered):
            return ordered
        if clock() >= deadline:
            pending = [s['id'] for s in ordered if s['status'] not in FINAL]
            raise WaitTimeout('servers still building after %d s: %s'
                              % (timeout, ', '.join(pending)))
        sleep(interval)
