"""Bad input: a clear error, the source untouched, nothing created."""

import os
import subprocess

import pytest

from nova_pwnetizer.testguest import domain
from nova_pwnetizer.virt import engine
from tests.integration.conftest import assert_no_leftovers
from tests.integration import helpers


def _snapshot(host):
    return sorted(g.name for g in host.list_guests())


def test_unknown_domain(host):
    with pytest.raises(engine.DomainNotFound, match="no domain 'no-such-domain'"):
        host.lookup('no-such-domain')


def test_inactive_domain_is_refused(host, guests):
    src = guests.boot()
    src.guest.destroy()
    before = _snapshot(host)
    with pytest.raises(engine.SourceNotCloneable, match='not running'):
        engine.clone(src.guest)
    assert _snapshot(host) == before
    assert helpers.workdir_files(guests.prefix + '-1-clone') == []


def test_paused_domain_is_refused_and_stays_paused(host, guests):
    src = guests.boot()
    src.guest.suspend()
    with pytest.raises(engine.SourceNotCloneable, match='paused'):
        engine.clone(src.guest)
    assert src.guest.state == 'paused'
    src.guest.resume()
    assert_no_leftovers(host, guests, [src])


def test_unsupported_disk_format_is_refused(host, guests, image):
    name = guests.prefix + '-vmdk'
    spec = domain.GuestSpec(name=name)
    path = os.path.join(domain.DEFAULT_WORKDIR, name + '.vmdk')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'vmdk', path, '64M'], check=True)
    xml = domain.domain_xml(spec, image, domain.DEFAULT_WORKDIR).replace(
        "type='qcow2'", "type='vmdk'").replace(name + '.qcow2', name + '.vmdk')
    host.conn.createXML(xml, 0)
    src = guests.attach(name)
    src.console.wait_ticks(1, timeout=120)
    with pytest.raises(engine.SourceNotCloneable) as err:
        engine.clone(src.guest)
    assert "format 'vmdk'" in str(err.value) and 'qcow2 and raw' in str(err.value)
    assert_no_leftovers(host, guests, [src])


def test_unsupported_devices_are_all_named_before_anything_happens(host, guests):
    src = guests.boot(
        extra_devices="<shmem name='pwn'><model type='ivshmem-plain'/>"
                      "<size unit='M'>1</size></shmem>",
        extra_xml="<memoryBacking><source type='memfd'/><access mode='shared'/>"
                  "</memoryBacking>")
    with pytest.raises(engine.SourceNotCloneable) as err:
        engine.clone(src.guest)
    for reason in ('shared memory devices', 'backed by memfd', 'shared guest memory'):
        assert reason in str(err.value)
    assert_no_leftovers(host, guests, [src])


def test_name_in_use_is_refused(host, guests):
    src = guests.boot()
    other = guests.boot(wait=False)
    with pytest.raises(engine.NameInUse, match='already exists'):
        engine.clone(src.guest, options=engine.CloneOptions(name=other.guest.name))
    assert_no_leftovers(host, guests, [src], allowed=[other.guest.name])


def test_existing_clone_file_is_never_overwritten(host, guests):
    src = guests.boot()
    taken = os.path.join(domain.DEFAULT_WORKDIR, src.guest.name + '-clone-1.qcow2')
    with open(taken, 'w') as f:
        f.write('precious')
    with pytest.raises(engine.NameInUse, match='already exist'):
        engine.clone(src.guest)
    assert open(taken).read() == 'precious'
    os.unlink(taken)
    assert_no_leftovers(host, guests, [src])


@pytest.mark.parametrize('options, message', [
    (dict(name='bad/name'), 'invalid clone name'),
    (dict(port_range=(100, 50)), 'invalid port range'),
    (dict(downtime_limit_ms=0), 'downtime limit'),
    (dict(macs=['01:00:00:00:00:01']), 'multicast'),
])
def test_bad_options_are_refused(host, guests, options, message):
    src = guests.boot()
    with pytest.raises(engine.InvalidOptions, match=message):
        engine.clone(src.guest, options=engine.CloneOptions(**options))
    assert_no_leftovers(host, guests, [src])


def test_wrong_mac_count_is_refused(host, guests):
    src = guests.boot()
    with pytest.raises(engine.SourceNotCloneable, match='2 MACs given for 1 NICs'):
        engine.clone(src.guest, options=engine.CloneOptions(
            macs=['52:54:00:00:00:01', '52:54:00:00:00:02']))
    assert_no_leftovers(host, guests, [src])
