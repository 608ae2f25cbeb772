"""Which clone secrets may sign clone contracts."""

import pytest

from nova_pwnetizer import clone_secret

GOOD = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'


@pytest.mark.parametrize('secret,problem', [
    (None, 'unset'), ('', 'unset'), ('changeme', 'well-known'),
    (' Clone-Secret ', 'well-known'), ('a1b2c3d4e5f6', 'shorter than 32'),
    ('ab' * 20, 'fewer than 8 distinct'),
])
def test_weak_secrets_are_refused_with_the_reason(secret, problem):
    assert problem in clone_secret.problem(secret)


def test_a_long_random_secret_is_fit():
    assert clone_secret.problem(GOOD) is None


def test_accepted_is_the_current_then_the_previous_fit_secrets():
    old = GOOD[::-1]
    assert clone_secret.accepted(GOOD, [old, 'weak', '']) == [GOOD, old]
    assert clone_secret.accepted('weak', [old]) == [old]
    assert clone_secret.accepted(None) == []
