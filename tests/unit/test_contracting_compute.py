"""Nova's compute API with a clone contract for each new instance."""

import time
from unittest import mock

from nova.compute import api as compute_api
from nova import objects

from nova_pwnetizer.api import contracting_compute
from nova_pwnetizer.objects import clone_contract
from tests.unit.fakes import VALID_S

objects.register_all()
SECRET = 'unit-test-secret-0123456789abcdef'
SRC = '50c00000-0000-4000-8000-000000000000'
UUIDS = ['c1000000-0000-4000-8000-00000000000%d' % i for i in range(3)]


def template():
    return clone_contract.CloneContract(
        project_id='p', source_uuid=SRC, source_host='h1', family=SRC, members=[SRC],
        placement='spread', randomize=False, expires_at=int(time.time()) + VALID_S)


def populate(context, instance, image, index, *args, **kwargs):
    instance.system_metadata = {'image_min_ram': '0'}
    instance.launch_index = index
    return instance


def fake_create(api):
    def create(context, *args, **kwargs):   # what Nova's create() does per instance
        return [api._populate_instance_for_create(context, objects.Instance(uuid=uuid),
                                                  None, index, [], None, len(UUIDS))
                for index, uuid in enumerate(UUIDS)], 'r-1'
    return create


def test_each_instance_gets_a_contract_for_itself():
    with mock.patch.object(compute_api.API, '__init__', return_value=None), \
            mock.patch.object(compute_api.API, '_populate_instance_for_create',
                              side_effect=populate):
        api = contracting_compute.ContractingAPI()
        api.create = fake_create(api)
        instances, _ = api.create_clones('ctx', template(), SECRET, 'flavor', 'image')
        plain, _ = api.create('ctx')
    for instance in instances:
        contract = clone_contract.CloneContract.from_text(
            clone_contract.text_in(instance.system_metadata), [SECRET])
        assert contract.check(instance.uuid, 'p') is not None
        assert instance.system_metadata['image_min_ram'] == '0'   # Nova's own kept
    # outside create_clones (any other POST /servers): no contract
    assert all(clone_contract.text_in(i.system_metadata) is None for i in plain)


def test_each_instance_gets_the_device_models_of_its_launch_index():
    models = [{'nic': 'e1000'}, {'nic': 'rtl8139'}, {}]
    with mock.patch.object(compute_api.API, '__init__', return_value=None), \
            mock.patch.object(compute_api.API, '_populate_instance_for_create',
                              side_effect=populate):
        api = contracting_compute.ContractingAPI()
        api.create = fake_create(api)
        instances, _ = api.create_clones('ctx', template(), SECRET, 'flavor', 'image',
                                         device_models=models)
    found = [clone_contract.CloneContract.from_text(
        clone_contract.text_in(i.system_metadata), [SECRET]) for i in instances]
    assert [c.device_models for c in found] == models
    assert [c.clone_uuid for c in found] == UUIDS
