"""Fan-out: N clones as a doubling tree, the source paused exactly once."""

from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import fanout
from nova_pwnetizer.virt.engine import metadata
from tests.integration.conftest import assert_no_leftovers


def test_four_clones_one_source_pause(host, guests):
    src = guests.boot(memory_mib=192, tick_ms=200)
    src.console.wait_ticks(3)
    done = fanout.fanout(src.guest, host, 4, lambda i, parent: engine.CloneOptions(
        name='%s-f%d' % (src.guest.name, i + 1)))
    assert done.source_pauses == 1
    assert [len(r) for r in done.rounds] == [1, 1, 2]
    names = [r.name for r in done.results]
    assert sorted(names) == ['%s-f%d' % (src.guest.name, i) for i in (1, 2, 3, 4)]
    generations = {}
    for result in done.results:
        clone = guests.attach(result.name)
        first = clone.console.wait_for(lambda c: c.ticks(), 60, 'a tick')[0]
        assert clone.console.lines('PWN BOOT') == [] and first[0] > 3
        clone.console.wait_ticks(2)
        info = metadata.of_guest(clone.guest)
        assert info.family == src.guest.uuid
        generations[result.name] = info.generation
    # f1 from the source; f2 from f1; f3, f4 from f1 and f2.
    assert sorted(generations.values()) == [1, 2, 2, 3]
    assert src.guest.state == 'running'
    assert_no_leftovers(host, guests, [src], allowed=names)
