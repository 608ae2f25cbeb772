"""The source is locked while it is cloned, in the real test cloud.

While a clone of a tenant's server copies (the link between the hosts
slowed, as in test_cloud_faults.py), the source shows the task state
``cloning``, and Nova's conflicting actions on it get 409: the tenant's
pause, suspend and snapshot, another clone, the admin's live migration.
When the clone is ACTIVE the lock is gone and the source takes actions
again.  About 2 minutes.
"""

import time

import pytest

from tests.cloud import helpers
from tests.cloud.helpers import FIGURES


@pytest.fixture(autouse=True)
def _link_restored():
    yield
    helpers.unshape_link()


def test_conflicting_actions_on_a_source_being_cloned_get_409(cloud, servers):
    source = cloud.boot('pwn-lock-src', servers)
    host = cloud.host_of(source['id'])
    with helpers.slow_link(host):
        clone_id = cloud.clone(source['id'])[0]
        helpers.wait_copy_under_way(host, source['id'], clone_id)
        shown = cloud.server(source['id'])
        assert (shown['status'], shown['OS-EXT-STS:task_state']) == ('ACTIVE', 'cloning')
        attempts = [
            (cloud.compute, {'pause': None}),
            (cloud.compute, {'suspend': None}),
            (cloud.compute, {'createImage': {'name': 'pwn-lock-snap'}}),
            (cloud.compute, {'clone': {}}),
            (cloud.admin, {'os-migrateLive': {'host': None, 'block_migration': 'auto'}}),
        ]
        for api, body in attempts:
            response = api.post('/servers/%s/action' % source['id'], json=body)
            assert response.status_code == 409, (body, response.text)
        FIGURES['source lock: conflicting actions refused'] = len(attempts)
        assert cloud.server(source['id'])['OS-EXT-STS:task_state'] == 'cloning'
    cloud.wait_status([clone_id], timeout=300)
    deadline = time.monotonic() + 30
    while cloud.server(source['id'])['OS-EXT-STS:task_state'] is not None:
        assert time.monotonic() < deadline, 'the source stayed locked after its clone'
        time.sleep(0.5)
    assert helpers.other_host(host) is cloud.host_of(clone_id)
    # unlocked: the tenant's pause works, and so does unpause
    cloud.ok(cloud.compute.post('/servers/%s/action' % source['id'],
                                json={'pause': None}), 202)
    cloud.wait_status([source['id']], status='PAUSED', timeout=60)
    cloud.ok(cloud.compute.post('/servers/%s/action' % source['id'],
                                json={'unpause': None}), 202)
    cloud.wait_status([source['id']], timeout=60)
    helpers.assert_no_leaks(cloud, sources=[source['id']], clones=[clone_id])
