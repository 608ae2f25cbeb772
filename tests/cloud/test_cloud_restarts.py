"""A clone in flight while the services around it restart or its source
goes away, in the real test cloud (see test_cloud_faults.py for the set-up:
a ticking source, its clone to the other host, the link slowed so that
the memory copy takes about 45 s).

- The source host's nova-compute is killed and started again in the
  memory copy: the clone runs on the target host and reaches the source's
  libvirtd, not that service, so it goes on and becomes ACTIVE; the
  restarted service holds the source's lease again (recorded with the
  lock in the source's system metadata), and the source is unlocked when
  the clone ends.
- The target host's nova-compute and the clone's guardian are stopped in
  the memory copy, and killed once the source waits, paused, at the
  switch-over: the source host resumes it within its bound, and the next
  clone works.
- The tenant deletes the source in the memory copy (Nova allows delete in
  any task state): the source is gone, the clone goes to ERROR, rolled
  back, and nothing of either is left.

About 5 minutes.
"""

import os
import signal
import subprocess
import time

import pytest

from tests.cloud import helpers
from tests.cloud.helpers import FIGURES

UP = os.path.join(helpers.TOP, 'tools', 'cloud', 'up.sh')


@pytest.fixture(autouse=True)
def _link_restored():
    yield
    helpers.set_link(True)
    helpers.unshape_link()


def _service(host):
    return 'nova-compute-' + host.name.rpartition('host')[2]


def _up():
    """Start what of the cloud is not running (a killed service)."""
    subprocess.run([UP], check=True, stdout=subprocess.DEVNULL)


def test_source_compute_restarted_mid_copy(cloud, servers):
    source_id, host, before = helpers.boot_ticking_source(cloud, servers, 'pwn-restart-src')
    log = helpers.compute_log(host.name)
    # slower than the other tests: the copy outlasts the restart
    with helpers.slow_link(host, rate='6mbit'):
        clone_id = cloud.clone(source_id)[0]
        servers.append(clone_id)
        helpers.wait_copy_under_way(host, source_id, clone_id)
        assert cloud.server(source_id)['OS-EXT-STS:task_state'] == 'cloning'
        os.kill(helpers.service_pid(_service(host)), signal.SIGKILL)
        start = time.monotonic()
        _up()
        FIGURES['source compute restarted mid-copy: back up in (s)'] = round(
            time.monotonic() - start, 1)
        # the lock held through the restart: still no other action
        assert cloud.server(source_id)['OS-EXT-STS:task_state'] == 'cloning'
    cloud.wait_status([clone_id], timeout=300)
    clone = cloud.server(clone_id)
    assert 'pwnetizer_pause_ms' in clone['metadata'], 'booted, not cloned'
    assert 'holding its lease again' in ''.join(log.new_lines())
    # the end of the clone reached the restarted service: unlocked, running
    deadline = time.monotonic() + 60
    while cloud.server(source_id)['OS-EXT-STS:task_state'] is not None:
        assert time.monotonic() < deadline, 'the source is still locked'
        time.sleep(1)
    assert host.state(source_id) == 'running'
    ticks = cloud.wait_ticks(source_id, len(cloud.ticks(source_id)) + 3, timeout=60)
    assert ticks[-1][0] > before[-1][0]
    cloud.wait_ticks(clone_id, 3)
    helpers.assert_no_leaks(cloud, sources=[source_id], clones=[clone_id])
    # (deleted: the next clone, spread, goes to the other host again)
    cloud.ok(cloud.compute.delete('/servers/%s' % clone_id), 204)
    cloud.wait_gone(clone_id)
    helpers.clone_again(cloud, source_id, host, 'source compute restarted')


def test_target_compute_killed_at_the_switchover(cloud, servers):
    source_id, host, before = helpers.boot_ticking_source(cloud, servers,
                                                          'pwn-switchover-src')
    target = helpers.other_host(host)
    with helpers.slow_link(host):
        clone_id = cloud.clone(source_id)[0]
        helpers.wait_copy_under_way(host, source_id, clone_id)
        clone_name = cloud.server(clone_id, admin=True)['OS-EXT-SRV-ATTR:instance_name']
        # stopped, the engine on the target no longer drives the clone
        victims = [helpers.service_pid(_service(target))] + helpers.guardian_pids(clone_name)
        assert len(victims) == 2, victims
        for pid in victims:
            os.kill(pid, signal.SIGSTOP)
    paused = helpers.wait_switchover_pause(host, source_id)   # unshaped: it converges
    for pid in victims:                     # dead at the switch-over
        os.kill(pid, signal.SIGKILL)
    FIGURES['target compute killed at the switch-over: source paused (s)'] = (
        helpers.wait_resumed(host, source_id, paused))
    assert cloud.server(source_id)['status'] == 'ACTIVE'
    ticks = cloud.wait_ticks(source_id, len(cloud.ticks(source_id)) + 3, timeout=60)
    assert ticks[-1][0] > before[-1][0]
    _up()
    clone = helpers.wait_error(cloud, clone_id, timeout=300)
    cloud.ok(cloud.compute.delete('/servers/%s' % clone['id']), 204)
    cloud.wait_gone(clone['id'])
    helpers.assert_no_leaks(cloud, sources=[source_id], clones=[clone['id']], timeout=60)
    helpers.clone_again(cloud, source_id, host, 'target compute killed at switch-over')


def test_source_deleted_mid_copy(cloud, servers):
    source_id, host, _before = helpers.boot_ticking_source(cloud, servers, 'pwn-delete-src')
    with helpers.slow_link(host):
        clone_id = cloud.clone(source_id)[0]
        servers.append(clone_id)
        helpers.wait_copy_under_way(host, source_id, clone_id)
        cloud.ok(cloud.compute.delete('/servers/%s' % source_id), 204)
        start = time.monotonic()
        cloud.wait_gone(source_id, timeout=120)
    clone = helpers.wait_error(cloud, clone_id)
    FIGURES['source deleted mid-copy: clone ERROR (s)'] = round(time.monotonic() - start, 1)
    assert 'clone failed' in (clone.get('fault') or {}).get('message', ''), clone
    assert source_id not in host.domain_uuids()
    cloud.ok(cloud.compute.delete('/servers/%s' % clone_id), 204)
    cloud.wait_gone(clone_id)
    assert not helpers.qemu_pids(source_id)
    helpers.assert_no_leaks(cloud, clones=[clone_id], timeout=60)
