"""Fixtures of the real-VM tests: libvirtd, the test guest, leak checks.

These tests need the host prepared by tools/setup-host.sh (QEMU and
libvirt running).  They fail, never skip, when it is not: CI runs them.
"""

import itertools
import os

import pytest

from nova_pwnetizer.testguest import domain
from nova_pwnetizer.testguest import image as image_mod
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import metadata
from tests.integration import helpers

_counter = itertools.count(1)


@pytest.fixture(scope='session')
def host():
    h = engine.Host('qemu:///system')
    try:
        h.qemu_version
    except engine.PwnetizerError as e:
        pytest.fail('libvirtd is not reachable (%s); run tools/setup-host.sh' % e)
    yield h


HOST2_URI = 'qemu+unix:///system?socket=/var/lib/pwnetizer/host2/run/libvirt-sock'
HOST2_ADDRESS = '10.213.0.2'


@pytest.fixture(scope='session')
def host2():
    """The second test host (tools/setup-host.sh): its own libvirtd and netns."""
    h = engine.Host(HOST2_URI)
    try:
        h.qemu_version
    except engine.PwnetizerError as e:
        pytest.fail('the second test host is not reachable (%s); run tools/setup-host.sh'
                    % e)
    yield h


@pytest.fixture(scope='session')
def image():
    return image_mod.ensure_image()


class Guests:
    """Boots test guests for one test and removes them and their clones."""

    def __init__(self, host, image, prefix):
        self.host = host
        self.image = image
        self.prefix = prefix
        self._n = itertools.count(1)

    def boot(self, wait=True, **spec):
        name = '%s-%d' % (self.prefix, next(self._n))
        return domain.boot(self.host, domain.GuestSpec(name=name, **spec), self.image,
                           wait=wait)

    def attach(self, name):
        return domain.TestGuest.attach(self.host.lookup(name))

    def ours(self):
        return [g for g in self.host.list_guests() if g.name.startswith(self.prefix + '-')]

    def cleanup(self):
        for guest in self.ours():
            domain.remove(self.host, guest.name)
        for path in helpers.workdir_files(self.prefix + '-'):
            os.unlink(path)


@pytest.fixture
def guests(host, image):
    g = Guests(host, image, 't%d' % next(_counter))
    yield g
    g.cleanup()


def assert_no_leftovers(host, guests, sources=(), allowed=()):
    """Nothing of a failed or finished clone job remains."""
    names = {g.name for g in guests.ours()}
    extra = names - set(allowed) - {s.guest.name for s in sources}
    assert not extra, 'domains left behind: %s' % sorted(extra)
    for source in sources:
        assert source.guest.state == 'running', 'source is %s' % source.guest.state
        assert helpers.pwn_leftovers(source.guest) == []
    pools = [p.name() for p in host.conn.listAllStoragePools(0)
             if p.name().startswith('pwnetizer-')]
    assert pools == [], 'storage pools left behind: %s' % pools
    files = helpers.workdir_files(guests.prefix + '-')
    keep = set()
    for name in set(allowed) | {s.guest.name for s in sources}:
        keep |= {p for p in files if os.path.basename(p).split('.')[0] == name}
    assert sorted(set(files) - keep) == [], 'files left behind'


def family_of(host, source_uuid):
    members = []
    for guest in host.list_guests():
        info = metadata.of_tree(guest.tree())
        if info and info.family == source_uuid:
            members.append(guest)
    return members
