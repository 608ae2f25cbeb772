"""The names a clone request uses in Nova: reserved keys, family marks."""

import pytest

from nova_pwnetizer import clonerequest


@pytest.mark.parametrize('key,reserved', [
    ('pwnetizer_family', True), ('PWNETIZER_source', True), ('  pwnetizer_x ', True),
    ('pwnetizer_', True), ('pwnetizer', False), ('role', False), ('my_pwnetizer_x', False),
])
def test_reserved_keys_are_compared_as_mysql_compares_them(key, reserved):
    assert clonerequest.is_reserved(key) is reserved


def test_marked_with_checks_key_and_value_together():
    class Server:
        def __init__(self, metadata):
            self.metadata = metadata
    member = Server({clonerequest.FAMILY_KEY: 'fam'})
    # what Nova's metadata filter also returns: key and value on different items
    crossed = Server({clonerequest.FAMILY_KEY: 'other', 'role': 'fam'})
    unmarked = Server(None)
    assert clonerequest.marked_with([member, crossed, unmarked], 'fam') == [member]
    assert clonerequest.family_of(member.metadata) == 'fam'
    assert clonerequest.family_of(None) is None
