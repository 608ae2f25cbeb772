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
