"""Fakes for fast unit tests (the real paths are covered by tests/integration)."""

import contextlib
import json
import time
from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture

from nova import exception as nova_exception
from nova import objects

from nova_pwnetizer.objects import base as objects_base
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer.virt.engine import events

# clone contracts of a source SRC and its clones C1, C2, in project 'p'
SECRET = 'unit-test-secret-0123456789abcdef'
SRC = '50c00000-0000-4000-8000-000000000000'
C1 = 'c1000000-0000-4000-8000-000000000001'
C2 = 'c2000000-0000-4000-8000-000000000002'
# how long the tests' contracts stay valid: some are made when pytest
# collects the module, and the whole suite runs for more than half an hour
VALID_S = 10 * 365 * 86400


class FakeGuest:
    """Records QMP commands; answers from a table of canned replies."""

    def __init__(self, name, replies=None, on_command=None):
        self.name = name
        self.commands = []
        self.replies = replies or {}
        self.on_command = on_command
        self.active = True

    def qmp(self, command, **args):
        self.commands.append((command, args))
        if self.on_command:
            self.on_command(command, args)
        reply = self.replies.get(command)
        return reply(args) if callable(reply) else reply

    def node_for_alias(self, alias):
        return 'libvirt-%s-format' % alias

    def is_active(self):
        return self.active

    def names(self):
        return [c for c, _ in self.commands]


def nova_config():
    """Nova's configuration with its defaults, for one test (a generator
    fixture: ``conf = pytest.fixture(autouse=True)(fakes.nova_config)``)."""
    fixture = config_fixture.Config(cfg.CONF)
    fixture.setUp()
    cfg.CONF([], project='nova', default_config_files=[], default_config_dirs=[])
    yield fixture
    fixture.cleanUp()


def hub():
    return events.EventHub()


def emit(hub, role, name, **data):
    hub._add(events.Event(role, name, data, time.time()))


class ContractAt10(clone_contract.CloneContract):
    """CloneContract as a host of version 1.0 reads it."""
    VERSION = '1.0'
    fields = {k: v for k, v in clone_contract.CloneContract.fields.items()
              if k not in ('address_pairs', 'device_models')}

    @classmethod
    def obj_name(cls):
        return 'CloneContract'


def resigned(text, mutate, secret=SECRET):
    """Signed ``text`` changed by ``mutate(primitive)`` and signed again (as
    a host of another version would sign its own)."""
    primitive = json.loads(text)['object']
    mutate(primitive)
    return json.dumps({'object': primitive, 'hmac': objects_base._mac(secret, primitive)})


def contract(clone=C1, secret=SECRET, **kw):
    fields = dict(clone_uuid=clone, project_id='p', source_uuid=SRC, source_host=cfg.CONF.host,
                  family=SRC, members=[SRC], placement='spread', randomize=False,
                  expires_at=int(time.time()) + VALID_S)
    fields.update(kw)
    return clone_contract.CloneContract(**fields).to_text(secret)


def instances_db(*instances):
    """Nova's instance table as ``instances`` (the clones are added):
    objects.Instance.get_by_uuid and save (which checks the expected task
    state as Nova's does)."""
    found = {i.uuid: i for i in instances}
    for clone in (C1, C2):
        found.setdefault(clone, objects.Instance(uuid=clone, project_id='p',
                                                 reservation_id='r-1'))
    saved = {i.uuid: i.task_state if i.obj_attr_is_set('task_state') else None
             for i in found.values()}

    def get_by_uuid(_ctx, uuid, **_kw):
        if uuid not in found:
            raise nova_exception.InstanceNotFound(instance_id=uuid)
        return found[uuid]

    def save(instance, expected_task_state=None, **_kw):
        if expected_task_state is not None and \
                saved.get(instance.uuid) not in expected_task_state:
            raise nova_exception.UnexpectedTaskStateError(
                instance_uuid=instance.uuid, expected=expected_task_state,
                actual=saved.get(instance.uuid))
        saved[instance.uuid] = instance.task_state

    # plain functions, not autospec: Nova's harness (run before in the same
    # process) leaves Instance's methods wrapped in ways autospec misreads
    patches = contextlib.ExitStack()
    patches.enter_context(mock.patch.object(objects.Instance, 'get_by_uuid',
                                            side_effect=get_by_uuid))
    patches.enter_context(mock.patch.object(objects.Instance, 'save', new=save))
    patches.enter_context(mock.patch.object(objects.Instance, 'refresh',
                                            new=lambda instance, *a, **k: None))
    return patches
