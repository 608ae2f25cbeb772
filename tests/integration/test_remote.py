"""A clone onto another host: its own libvirtd, network namespace and link."""

import subprocess

import pytest

from nova_pwnetizer.testguest import domain
from nova_pwnetizer.virt import engine
from tests.integration.conftest import assert_no_leftovers
from tests.integration.conftest import HOST2_ADDRESS
from tests.integration import helpers


def _on_host2(host2, prefix):
    return [g.name for g in host2.list_guests() if g.name.startswith(prefix)]


def test_clone_to_another_host(host, host2, guests):
    src = guests.boot()
    with pytest.raises(engine.InvalidOptions, match='pass a migration address'):
        engine.clone(src.guest, host2)
    result = engine.clone(src.guest, host2,
                          engine.CloneOptions(migration_address=HOST2_ADDRESS))
    try:
        assert result.target_uri == host2.uri and result.disk_sync == {'vda': 'top'}
        assert not host.exists(name=result.name)
        clone = domain.TestGuest.attach(host2.lookup(result.name))
        first = clone.console.wait_for(lambda c: c.ticks(), 60, 'a tick')[0]
        assert first[0] - 1 in [m for m, _ in src.console.ticks()]
        clone.console.wait_for(lambda c: c.lines('PWN DHCP'), 60, 'a lease across hosts')
        assert clone.guest.is_persistent()
        assert helpers.pwn_leftovers(src.guest) == []
    finally:
        domain.remove(host2, result.name)
    assert_no_leftovers(host, guests, [src])


@pytest.fixture
def link():
    """The veth between the two hosts; always brought back up."""
    def set_state(state):
        subprocess.run(['ip', 'netns', 'exec', 'pwnetizer', 'ip', 'link', 'set', 'pwnlink2',
                        state], check=True)
    yield set_state
    set_state('up')


def test_link_cut_during_memory_copy(host, host2, guests, link):
    src = guests.boot()
    fired = []

    def progress(phase, fraction, message):
        if phase == 'memory' and fraction is not None and not fired:
            fired.append(True)
            link('down')
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, host2, engine.CloneOptions(
            migration_address=HOST2_ADDRESS, bandwidth_mib=16, timeout_s=8),
            progress=progress)
    assert fired and err.value.phase == 'memory'
    assert 'timed out' in err.value.reason
    assert _on_host2(host2, guests.prefix) == []
    assert src.guest.state == 'running'
    src.console.wait_ticks(3)
    assert_no_leftovers(host, guests, [src])


def _cut_at(phase, link):
    fired = []

    def progress(current, fraction, message):
        if current == phase and not fired and (phase == 'switchover' or fraction is not None):
            fired.append(True)
            link('down')
    return progress, fired


def test_link_cut_during_disk_copy(host, host2, guests, link):
    src = guests.boot(prefill_mib=64)
    ticks_at_cut = []

    def progress(phase, fraction, message):
        if phase == 'disk-sync' and fraction is not None and not ticks_at_cut:
            link('down')
            ticks_at_cut.append(len(src.console.ticks()))
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, host2, engine.CloneOptions(
            migration_address=HOST2_ADDRESS, disk_bandwidth_mib=8, timeout_s=8),
            progress=progress)
    assert ticks_at_cut and err.value.phase == 'disk-sync'
    # Across hosts the copy runs in the background: while the link was down
    # the source went on writing its records (each tick is a record written).
    assert len(src.console.ticks()) - ticks_at_cut[0] >= 30
    assert _on_host2(host2, guests.prefix) == []
    src.console.wait_ticks(3)
    assert src.console.errors() == []
    assert_no_leftovers(host, guests, [src])


def test_link_cut_while_the_source_is_paused_at_switchover(host, host2, guests, link):
    src = guests.boot()
    progress, fired = _cut_at('switchover', link)
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, host2, engine.CloneOptions(
            migration_address=HOST2_ADDRESS, switchover_timeout_s=3),
            progress=progress)
    assert fired and err.value.phase == 'switchover'
    assert _on_host2(host2, guests.prefix) == []
    src.console.wait_ticks(3)
    assert src.guest.state == 'running'
    assert_no_leftovers(host, guests, [src])
