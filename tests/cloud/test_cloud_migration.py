"""Servers move between the test cloud's two compute hosts as in a real
cloud: live (block) migration, cold migration and resize, for a plain
server and for a clone.

One server is taken through every move in turn (each move is minutes of
TCG guest and SSH copies on this machine): live-migrated to the other
host (its memory continues: no reboot, the counter goes on), cold-migrated
back (it boots there from its copied disk: the records it wrote are
there), then resized to a bigger flavor (again on the other host, with
its records).  A clone is live-migrated too: a clone is a normal server.
"""

import re
import time

from tests.cloud import helpers
from tests.cloud.helpers import FIGURES
from tests.cloud.helpers import other_host

BOOT = re.compile(r'PWN BOOT id=(\w+)')
DISK = re.compile(r'PWN DISK (\S+) last=(\d+)')
BIGGER_FLAVOR = 'pwn.small'


def _assert_continued(cloud, server_id, last_mem):
    """The guest on its new host continued from memory: no boot on its new
    console, the counter past ``last_mem``."""
    ticks = cloud.wait_ticks(server_id, 3)
    console = cloud.console(server_id)
    assert not BOOT.search(console), 'the guest booted again:\n' + console[-2000:]
    assert ticks[0][0] > last_mem, (ticks[:3], last_mem)


def _records_after_boot(cloud, server_id, wrote):
    """The guest booted again with its disk: the records it had written
    (at least ``wrote``) are there."""
    cloud.wait_ticks(server_id, 2)
    console = cloud.console(server_id)
    disk = DISK.search(console)
    assert BOOT.search(console) and disk, console[-2000:]
    assert disk.group(1).endswith('2') and int(disk.group(2)) >= wrote, disk.group(0)


def _wait_verify_and_confirm(cloud, api, server_id, from_host):
    helpers.wait_moved(cloud, server_id, from_host, status='VERIFY_RESIZE')
    helpers.action(api, server_id, {'confirmResize': None}, cloud)
    cloud.wait_status([server_id])


def test_plain_server_live_cold_and_resize(cloud, servers):
    source = cloud.boot('pwn-mig-plain', servers, network=True)
    first = cloud.host_of(source['id']).name
    ticks = cloud.wait_ticks(source['id'], 5)

    # Live migration: the same running guest on the other host.
    took, second = helpers.live_migrate(cloud, source['id'])
    FIGURES['live migration, plain server (s)'] = round(took, 1)
    assert second != first
    _assert_continued(cloud, source['id'], ticks[-1][0])
    ticks = cloud.ticks(source['id'])

    # Cold migration: stopped, its disk copied over SSH, booted there.
    start = time.monotonic()
    helpers.action(cloud.admin, source['id'], {'migrate': None}, cloud)
    _wait_verify_and_confirm(cloud, cloud.admin, source['id'], second)
    FIGURES['cold migration, plain server (s)'] = round(time.monotonic() - start, 1)
    assert cloud.host_of(source['id']).name == first
    _records_after_boot(cloud, source['id'], ticks[-1][1])
    ticks = cloud.ticks(source['id'])

    # Resize, as the tenant: a bigger flavor, on the other host.
    flavors = cloud.ok(cloud.compute.get('/flavors'))['flavors']
    bigger = next(f['id'] for f in flavors if f['name'] == BIGGER_FLAVOR)
    start = time.monotonic()
    helpers.action(cloud.compute, source['id'], {'resize': {'flavorRef': bigger}}, cloud)
    _wait_verify_and_confirm(cloud, cloud.compute, source['id'], first)
    FIGURES['resize, plain server (s)'] = round(time.monotonic() - start, 1)
    server = cloud.server(source['id'], admin=True)
    assert server['OS-EXT-SRV-ATTR:host'] == second
    assert server['flavor']['original_name'] == BIGGER_FLAVOR
    _records_after_boot(cloud, source['id'], ticks[-1][1])
    # Nothing of it stays on the host it left.
    assert not other_host(cloud.host_of(source['id'])).files_of(source['id'])


def test_clone_live_migrates(cloud, servers):
    source = cloud.boot('pwn-mig-src', servers)
    cloud.wait_ticks(source['id'], 3)
    [clone_id] = cloud.clone(source['id'])
    servers.append(clone_id)
    cloud.wait_status([clone_id])
    ticks = cloud.wait_ticks(clone_id, 3)
    before = cloud.host_of(clone_id).name

    took, after = helpers.live_migrate(cloud, clone_id)
    FIGURES['live migration, clone (s)'] = round(took, 1)
    assert after != before
    _assert_continued(cloud, clone_id, ticks[-1][0])
    # The clone kept what makes it a clone.
    assert cloud.server(clone_id)['metadata'].get('pwnetizer_source') == source['id']
    assert not other_host(cloud.host_of(clone_id)).files_of(clone_id)
