"""Faults in the middle of a live clone, in the real test cloud: the
clone's QEMU killed, the link between the hosts cut, the target host's
nova-compute killed with the clone's guardian (then the source host's
watchdog resumes the source, paused at the switch-over, within its bound).

Each test clones a tenant's running server to the other host
(``placement: spread``) through the API and injects the fault once the
copy is under way: the clone's QEMU runs on the target host and the
source's memory copy into it has started.  To make that window wide
enough to hit, the link carries the source's side at 16 Mbit/s while the
clone runs (``tc`` on the source host's end of the veth pair; about 45 s
for the test guest's 256 MiB, under a second unshaped).  Then, each time:

- the clone goes to ERROR with a fault that names the failure;
- the source stays ACTIVE, its domain running, never paused, its guest
  ticking;
- nothing is left behind (``helpers.leaks``): no domain, QEMU, guardian
  or file of the clone on either host, no block job, NBD node or
  export, migration or engine setting on the source, no TCP socket of
  their QEMUs, no Placement allocation of the clone;
- the source's lease on its host is free: a next clone of it succeeds.

Needs root and the host of tools/setup-host.sh, as test_cloud_clone.py;
about 2 minutes each.
"""

import os
import signal
import subprocess
import time

import pytest

from tests.cloud import helpers
from tests.cloud.helpers import FIGURES


def _assert_failed_cleanly(cloud, source_id, host, clone, before):
    fault = (clone.get('fault') or {}).get('message', '')
    assert 'clone failed' in fault, clone.get('fault')
    # The source: ACTIVE, running, its guest going on.
    assert cloud.server(source_id)['status'] == 'ACTIVE'
    assert host.state(source_id) == 'running'
    ticks = cloud.wait_ticks(source_id, len(cloud.ticks(source_id)) + 3, timeout=60)
    assert ticks[-1][0] > before[-1][0]
    # Nothing left, the clone's allocation included (Nova removes it
    # with the failed build) ...
    helpers.assert_no_leaks(cloud, sources=[source_id], clones=[clone['id']], timeout=60)
    # ... nor once the ERROR server is deleted.
    cloud.ok(cloud.compute.delete('/servers/%s' % clone['id']), 204)
    cloud.wait_gone(clone['id'])
    helpers.assert_no_leaks(cloud, sources=[source_id], clones=[clone['id']])


def test_clone_qemu_killed_mid_copy(cloud, servers):
    source_id, host, before = helpers.boot_ticking_source(cloud, servers, 'pwn-fault-kill-src')
    with helpers.slow_link(host):
        clone_id = cloud.clone(source_id)[0]
        helpers.wait_copy_under_way(host, source_id, clone_id)
        assert clone_id in helpers.other_host(host).domain_uuids()
        pids = helpers.qemu_pids(clone_id)
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        killed = time.monotonic()
        clone = helpers.wait_error(cloud, clone_id)
        FIGURES['kill: QEMU killed -> clone ERROR (s)'] = round(time.monotonic() - killed, 1)
    _assert_failed_cleanly(cloud, source_id, host, clone, before)
    helpers.clone_again(cloud, source_id, host, 'kill')


def test_link_cut_mid_copy(cloud, servers):
    states = []           # the source's domain state while the link is down
    figures = {}

    def watch_source():
        states.append(host.state(source_id))
        migration = host.qmp(source_id, 'query-migrate').get('status')
        if migration != 'active' and 'stopped' not in figures:
            figures['stopped'] = time.monotonic() - cut

    source_id, host, before = helpers.boot_ticking_source(cloud, servers, 'pwn-fault-link-src')
    with helpers.slow_link(host):
        clone_id = cloud.clone(source_id)[0]
        helpers.wait_copy_under_way(host, source_id, clone_id)
        try:
            helpers.set_link(False)
            cut = time.monotonic()
            # The engine on the target host finds its connection to the
            # source host's libvirtd dead (libvirt keepalive, about 20 s);
            # the source host, told over the message bus, stops the
            # migration and the mirror without the link.
            clone = helpers.wait_error(cloud, clone_id, while_waiting=watch_source)
            FIGURES['link cut -> clone ERROR (s)'] = round(time.monotonic() - cut, 1)
            deadline = time.monotonic() + 30
            while helpers.source_leftovers(host, source_id):
                assert time.monotonic() < deadline, (
                    'left on the source with the link down: %s'
                    % helpers.source_leftovers(host, source_id))
                time.sleep(1)
            FIGURES['link cut -> source clean (s)'] = round(time.monotonic() - cut, 1)
            if 'stopped' in figures:
                FIGURES['link cut -> source migration stopped (s)'] = round(
                    figures['stopped'], 1)
            ticking = len(cloud.ticks(source_id))
            cloud.wait_ticks(source_id, ticking + 3, timeout=60)   # link still down
        finally:
            helpers.set_link(True)
    assert states and 'paused' not in states, states
    _assert_failed_cleanly(cloud, source_id, host, clone, before)
    helpers.clone_again(cloud, source_id, host, 'link')


@pytest.fixture(autouse=True)
def _link_restored():
    """Whatever happens, the link is up and unshaped after each test."""
    yield
    helpers.set_link(True)
    helpers.unshape_link()


def test_target_compute_killed_mid_copy(cloud, servers):
    # The target's nova-compute and the clone's guardian die (SIGKILL) in
    # the memory copy: nothing on the target finishes or undoes the clone,
    # the copy converges and the source's QEMU waits, paused, at the
    # switch-over.  The source host's watchdog resumes it within its bound.
    source_id, host, before = helpers.boot_ticking_source(cloud, servers, 'pwn-fault-target-src')
    target = helpers.other_host(host)
    service = 'nova-compute-' + target.name.rpartition('host')[2]
    with helpers.slow_link(host):
        clone_id = cloud.clone(source_id)[0]
        helpers.wait_copy_under_way(host, source_id, clone_id)
        clone_name = cloud.server(clone_id, admin=True)['OS-EXT-SRV-ATTR:instance_name']
        victims = [helpers.service_pid(service)] + helpers.guardian_pids(clone_name)
        assert len(victims) == 2, victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
    # unshaped: the copy converges within seconds
    paused = helpers.wait_switchover_pause(host, source_id)
    FIGURES['target compute killed: source paused (s)'] = helpers.wait_resumed(
        host, source_id, paused)
    deadline = time.monotonic() + 30
    while helpers.source_leftovers(host, source_id):
        assert time.monotonic() < deadline, helpers.source_leftovers(host, source_id)
        time.sleep(1)
    # The target's nova-compute comes back: the clone it was building goes
    # to ERROR (Nova's init_host); deleting it removes what is left.
    subprocess.run([os.path.join(helpers.TOP, 'tools', 'cloud', 'up.sh')], check=True,
                   stdout=subprocess.DEVNULL)
    clone = helpers.wait_error(cloud, clone_id, timeout=300)
    assert cloud.server(source_id)['status'] == 'ACTIVE'
    ticks = cloud.wait_ticks(source_id, len(cloud.ticks(source_id)) + 3, timeout=60)
    assert ticks[-1][0] > before[-1][0]
    cloud.ok(cloud.compute.delete('/servers/%s' % clone['id']), 204)
    cloud.wait_gone(clone['id'])
    helpers.assert_no_leaks(cloud, sources=[source_id], clones=[clone['id']], timeout=60)
    helpers.clone_again(cloud, source_id, host, 'target compute killed')
