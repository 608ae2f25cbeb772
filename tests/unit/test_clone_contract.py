"""The signed, versioned objects: the clone contract and the clone
placement, their signatures, bindings and versions."""

import json
import time

import pytest

from nova_pwnetizer import clonerequest
from nova_pwnetizer.objects import base
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer.objects import clone_placement
from tests.unit import fakes
from tests.unit.fakes import VALID_S

SECRET = 'unit-test-secret-0123456789abcdef'
SRC = '50c00000-0000-4000-8000-000000000000'
CLONE = 'c10e0000-0000-4000-8000-000000000001'


def contract(**kw):
    values = dict(clone_uuid=CLONE, project_id='p', source_uuid=SRC, source_host='h1',
                  family=SRC, members=[SRC], placement='spread', randomize=True,
                  expires_at=int(time.time()) + VALID_S)
    values.update(kw)
    return clone_contract.CloneContract(**values)


def test_a_contract_round_trips_through_system_metadata_in_chunks():
    sysmeta = contract(members=[SRC] * 8).to_system_metadata(SECRET)
    assert len(sysmeta) > 1 and all(len(v) <= clone_contract.VALUE_MAX
                                    for v in sysmeta.values())
    assert sorted(clone_contract.keys_in(dict(sysmeta, other='x'))) == sorted(sysmeta)
    found = clone_contract.CloneContract.from_text(
        clone_contract.text_in(dict(sysmeta, image_x='1')), [SECRET])
    assert found.members == [SRC] * 8 and found.randomize is True
    assert clone_contract.text_in({}) is None


@pytest.mark.parametrize('field,value', [
    ('clone_uuid', SRC), ('project_id', 'q'), ('source_host', 'h2'),
    ('members', []), ('randomize', False), ('expires_at', 2 ** 40)])
def test_any_change_breaks_the_signature(field, value):
    envelope = json.loads(contract().to_text(SECRET))
    envelope['object']['nova_pwnetizer_object.data'][field] = value
    with pytest.raises(base.Unverified, match='does not verify'):
        clone_contract.CloneContract.from_text(json.dumps(envelope), [SECRET])


@pytest.mark.parametrize('text', ['', 'null', '[]', '{"object": {}}', 'not json',
                                  '{"object": {}, "hmac": 5}'])
def test_malformed_text_is_refused(text):
    with pytest.raises(base.Unverified):
        clone_contract.CloneContract.from_text(text, [SECRET])


def test_only_the_accepted_secrets_verify():
    text = contract().to_text(SECRET)
    with pytest.raises(base.Unverified):
        clone_contract.CloneContract.from_text(text, ['another-secret-0123456789abcdef'])
    with pytest.raises(base.Unverified):
        clone_contract.CloneContract.from_text(text, [])
    assert clone_contract.CloneContract.from_text(text, ['x' * 40, SECRET])


def test_check_binds_the_contract_to_one_clone_one_project_and_a_time():
    c = contract()
    assert c.check(CLONE, 'p') is c
    with pytest.raises(base.Unverified, match='another server'):
        c.check(SRC, 'p')
    with pytest.raises(base.Unverified, match='another project'):
        c.check(CLONE, 'q')
    with pytest.raises(base.Unverified, match='expired'):
        c.check(CLONE, 'p', now=c.expires_at + 1)
    assert c.check(CLONE, 'p', now=c.expires_at + 1, live=False) is c
    with pytest.raises(base.Unverified, match='itself'):
        contract(source_uuid=CLONE).check(CLONE, 'p')


def test_the_template_is_bound_per_clone():
    template = contract()
    template.obj_reset_changes()
    other = template.for_clone(SRC[::-1])
    assert other.clone_uuid == SRC[::-1] and template.clone_uuid == CLONE
    assert other.device_models == {}
    chosen = template.for_clone(SRC[::-1], {'nic': 'e1000'})
    assert chosen.device_models == {'nic': 'e1000'} and other.device_models == {}


def test_device_models_round_trip_signed():
    models = {'nic': 'rtl8139', 'disk_bus': 'sata', 'video': 'cirrus'}
    sysmeta = contract().for_clone(CLONE, models).to_system_metadata(SECRET)
    found = clone_contract.CloneContract.from_text(clone_contract.text_in(sysmeta),
                                                   [SECRET])
    assert found.device_models == models
    envelope = json.loads(clone_contract.text_in(sysmeta))
    envelope['object']['nova_pwnetizer_object.data']['device_models']['nic'] = 'virtio'
    with pytest.raises(base.Unverified, match='does not verify'):
        clone_contract.CloneContract.from_text(json.dumps(envelope), [SECRET])


def test_a_placement_never_passes_for_a_contract_nor_the_reverse():
    placement = clone_placement.ClonePlacement(
        project_id='p', source_uuid=SRC, family=SRC, members=[], placement='pack',
        expires_at=int(time.time()) + VALID_S)
    hint = placement.to_hints(SECRET)[clonerequest.HINT_KEY]
    with pytest.raises(base.Unverified, match='not a CloneContract'):
        clone_contract.CloneContract.from_text(hint, [SECRET])
    with pytest.raises(base.Unverified, match='not a ClonePlacement'):
        clone_placement.ClonePlacement.from_hints(
            {clonerequest.HINT_KEY: [contract().to_text(SECRET)]}, [SECRET], 'p')
    found = clone_placement.ClonePlacement.from_hints(
        {clonerequest.HINT_KEY: [hint]}, [SECRET], 'p')
    assert found.placement == 'pack'
    assert clone_placement.ClonePlacement.from_hints({'group': ['g']}, [SECRET], 'p') \
        is None
    # it names no host: tenants read hints (microversion 2.100)
    assert 'h1' not in hint and SECRET not in hint


def test_a_newer_minor_version_is_read_without_its_new_fields():
    def newer(primitive):
        primitive['nova_pwnetizer_object.version'] = '1.7'
        primitive['nova_pwnetizer_object.data']['pins'] = [1, 2]
    found = clone_contract.CloneContract.from_text(
        fakes.resigned(contract().to_text(SECRET), newer), [SECRET])
    assert found.VERSION == clone_contract.CloneContract.VERSION
    assert found.clone_uuid == CLONE
    assert not hasattr(found, 'pins')


def test_a_1_0_host_reads_a_1_1_contract_without_its_new_fields():
    text = contract(address_pairs=True, device_models={'nic': 'e1000'}).to_text(SECRET)
    found = fakes.ContractAt10.from_text(text, [SECRET])
    assert found.VERSION == '1.0' and found.clone_uuid == CLONE
    assert found.members == [SRC]
    data = found.obj_to_primitive()['nova_pwnetizer_object.data']
    assert 'address_pairs' not in data and 'device_models' not in data


def test_a_1_1_host_reads_a_1_0_contract_as_copying_no_address_pairs_nor_models():
    def at_1_0(primitive):
        primitive['nova_pwnetizer_object.version'] = '1.0'
        primitive['nova_pwnetizer_object.data'].pop('address_pairs', None)
        primitive['nova_pwnetizer_object.data'].pop('device_models', None)
    text = contract(address_pairs=True, device_models={'nic': 'e1000'}).to_text(SECRET)
    assert 'device_models' in text
    found = clone_contract.CloneContract.from_text(fakes.resigned(text, at_1_0), [SECRET])
    assert found.address_pairs is False and found.device_models == {}


def test_an_object_without_a_field_reads_with_its_default():
    # what a host gets from one that predates the field
    def older(primitive):
        primitive['nova_pwnetizer_object.data'].pop('randomize')
    found = clone_contract.CloneContract.from_text(
        fakes.resigned(contract().to_text(SECRET), older), [SECRET])
    assert found.clone_uuid == CLONE and found.randomize is False


def test_an_object_without_a_field_that_has_no_default_is_refused():
    def older(primitive):
        primitive['nova_pwnetizer_object.data'].pop('expires_at')
    with pytest.raises(base.Unverified, match='without expires_at'):
        clone_contract.CloneContract.from_text(
            fakes.resigned(contract().to_text(SECRET), older), [SECRET])


def test_another_major_version_is_refused():
    def major(primitive):
        primitive['nova_pwnetizer_object.version'] = '2.0'
    with pytest.raises(base.Unverified, match='version 2.0'):
        clone_contract.CloneContract.from_text(
            fakes.resigned(contract().to_text(SECRET), major), [SECRET])


def test_a_contract_signed_for_a_1_0_host_has_no_1_1_fields():
    text = contract(address_pairs=True, device_models={'nic': 'e1000'}).to_text(
        SECRET, version='1.0')
    primitive = base.verified_primitive(text, [SECRET])
    assert primitive['nova_pwnetizer_object.version'] == '1.0'
    assert not {'address_pairs', 'device_models'} & set(
        primitive['nova_pwnetizer_object.data'])
    found = clone_contract.CloneContract.from_text(text, [SECRET])
    assert (found.address_pairs, found.device_models, found.clone_uuid) == (
        False, {}, CLONE)
