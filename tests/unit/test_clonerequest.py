"""Signed clone requests: hints, metadata, forgery."""

import pytest

from nova_pwnetizer import clonerequest

SECRET = 'sekrit'
SOURCE = '5a5a5a5a-0000-4000-8000-000000000000'


def request(**kw):
    fields = dict(source_uuid=SOURCE, source_host='compute1', project_id='p',
                  family=SOURCE, members=[SOURCE], placement='spread')
    fields.update(kw)
    return clonerequest.CloneRequest(**fields)


def test_signed_request_verifies_only_with_the_secret():
    r = request().sign(SECRET)
    assert r.verify(SECRET)
    assert not r.verify('other') and not r.verify(None)
    assert not request().verify(SECRET)   # unsigned


@pytest.mark.parametrize('field,value', [('source_uuid', 'x'), ('project_id', 'q'),
                                         ('members', []), ('randomize', True)])
def test_any_change_breaks_the_signature(field, value):
    r = request().sign(SECRET)
    setattr(r, field, value)
    assert not r.verify(SECRET)


def test_hints_round_trip_as_nova_keeps_them():
    r = request().sign(SECRET)
    hints = {k: [v] for k, v in r.to_hints().items()}   # RequestSpec lists them
    assert clonerequest.CloneRequest.from_hints(hints) == r
    assert clonerequest.CloneRequest.from_hints({}) is None
    assert clonerequest.CloneRequest.from_hints({clonerequest.KEY: 'not json'}) is None


def test_metadata_round_trip_over_several_values():
    members = ['%08d-0000-4000-8000-000000000000' % i for i in range(20)]
    r = request(members=members, placement='any', randomize=True).sign(SECRET)
    metadata = r.to_metadata()
    assert len(metadata) > 3
    assert all(len(v) <= clonerequest.META_VALUE_MAX for v in metadata.values())
    again = clonerequest.CloneRequest.from_metadata(dict(metadata, other='x'))
    assert again == r and again.verify(SECRET)
    assert sorted(clonerequest.metadata_keys(dict(metadata, other='x'))) == sorted(metadata)
    assert clonerequest.CloneRequest.from_metadata({'role': 'x'}) is None


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
