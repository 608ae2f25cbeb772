"""The doubling tree of a fan-out."""

import pytest

from nova_pwnetizer.virt.engine import fanout


@pytest.mark.parametrize('count, rounds', [
    (1, [1]), (2, [1, 1]), (3, [1, 1, 1]), (4, [1, 1, 2]), (5, [1, 1, 2, 1]),
    (8, [1, 1, 2, 4]), (16, [1, 1, 2, 4, 8]), (9, [1, 1, 2, 4, 1]),
])
def test_rounds_double(count, rounds):
    assert fanout.plan_rounds(count) == rounds
    assert sum(rounds) == count


def test_parents_make_a_doubling_tree():
    parents = [fanout.parent_index(i) for i in range(8)]
    assert parents == [None, 0, 0, 1, 0, 1, 2, 3]
    # each round's clones come from those made in the rounds before it
    made = 0
    for make in fanout.plan_rounds(8):
        for i in range(made, made + make):
            assert parents[i] is None or parents[i] < made
        made += make
