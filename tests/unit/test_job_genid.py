"""The clone job gives a clone its own VM generation ID, or says why not."""

from unittest import mock

from lxml import etree
import pytest

from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import events as events_mod
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import job as job_mod
from nova_pwnetizer.virt.engine import options as options_mod
from nova_pwnetizer.virt.engine import recovery
from nova_pwnetizer.virt.engine import result as result_mod
# its fake hosts and Nova-like domains
from tests.unit import test_host_specific as hs_tests

SOURCE_GENID = 'a0000000-0000-4000-8000-00000000000a'
GIVEN = 'b0000000-0000-4000-8000-00000000000b'


def _source(genid=SOURCE_GENID):
    tree = hs_tests._nova_domain()
    if genid is not None:
        element = etree.Element('genid')
        element.text = genid
        tree.insert(tree.index(tree.find('uuid')) + 1, element)
    return tree


@pytest.fixture
def run_job(tmp_path, monkeypatch):
    """Runs a job up to the start of the clone's QEMU (the fake target
    stops it there); returns the job and the XML it started."""
    monkeypatch.setattr(recovery, 'LOCK_DIR', str(tmp_path))

    def run(tree, **options):
        target = hs_tests.FakeHost('qemu+ssh://target.example/system')
        job = job_mod.CloneJob(hs_tests.FakeSource(tree), target, options_mod.CloneOptions(
            guardian=False, migration_address=hs_tests.TARGET_ADDR, **options))
        with pytest.raises(exception.CloneFailed, match='stopped by the test'):
            job.run()
        return job, domainxml.parse(target.created_xml)

    with mock.patch.object(events_mod, 'start_event_loop'):
        yield run


def test_a_clone_gets_a_new_genid_other_than_its_sources(run_job):
    job, created = run_job(_source())
    genid = created.findtext('genid')
    assert genid and genid != SOURCE_GENID
    assert job.result.genid == genid == job.identity.genid
    assert job.result.warnings == []


def test_the_given_genid_is_the_clones(run_job):
    job, created = run_job(_source(), genid=GIVEN)
    assert created.findtext('genid') == GIVEN and job.result.genid == GIVEN


def test_two_clones_get_two_genids(run_job):
    genids = {run_job(_source())[1].findtext('genid') for _ in range(2)}
    assert len(genids) == 2


def test_a_source_without_genid_is_cloned_without_one_with_a_warning(run_job):
    job, created = run_job(_source(genid=None), genid=GIVEN)
    assert created.find('genid') is None   # the stream has no vmgenid device
    assert job.result.genid is None
    assert job.result.warnings == [job_mod.NO_GENID_WARNING]
    assert 'no VM generation ID' in job_mod.NO_GENID_WARNING
    assert len(job_mod.NO_GENID_WARNING) <= 255   # it fits a Nova metadata value


def test_the_sources_own_genid_is_refused_before_anything_is_made(tmp_path, monkeypatch):
    monkeypatch.setattr(recovery, 'LOCK_DIR', str(tmp_path))
    target = hs_tests.FakeHost('qemu+ssh://target.example/system')
    source = hs_tests.FakeSource(_source())
    job = job_mod.CloneJob(source, target, options_mod.CloneOptions(
        guardian=False, migration_address=hs_tests.TARGET_ADDR, genid=SOURCE_GENID.upper()))
    with mock.patch.object(events_mod, 'start_event_loop'), \
            pytest.raises(exception.InvalidOptions, match='must differ'):
        job.run()
    assert target.done == []


def test_the_figures_say_whether_the_clone_has_a_genid_and_the_warnings():
    with_one = result_mod.CloneResult(genid=GIVEN).figures()
    assert with_one['new_genid'] is True and with_one['warnings'] == []
    assert GIVEN not in repr(with_one)   # the value is not sent around
    without = result_mod.CloneResult(warnings=['w']).figures()
    assert without['new_genid'] is False and without['warnings'] == ['w']
    assert result_mod.CloneResult(genid=GIVEN).to_dict()['genid'] == GIVEN
