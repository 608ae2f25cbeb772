"""The order of QMP commands of the disk copy, with fake QEMUs."""

import pytest

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import mirror
from nova_pwnetizer.virt.engine import storage
from tests.unit import fakes


def _plan():
    return storage.DiskPlan(dev='vda', alias='virtio-disk0', source_path='/s', fmt='qcow2',
                            capacity=1 << 30, clone_path='/c', sync='top', backing='/b',
                            backing_fmt='qcow2')


def _copy(source_on_command=None, clone_on_command=None):
    hub = fakes.hub()
    source = fakes.FakeGuest('src', {'query-block-jobs': []}, source_on_command)
    clone = fakes.FakeGuest('clone', on_command=clone_on_command)
    copy = mirror.DiskCopy(source, clone, [_plan()], hub, '127.0.0.1', (49152, 49153), 5,
                           speed=1024)
    return hub, source, clone, copy


def test_start_wait_complete_and_stop():
    hub, source, clone, copy = _copy()
    copy.start_exports(exclude={49152})
    assert clone.commands[0] == ('nbd-server-start', {'addr': {
        'type': 'inet', 'data': {'host': '127.0.0.1', 'port': '49153'}}})
    # the export writes through a node of its own, served in an I/O thread:
    # not the guest's node, whose device keeps it in the busy main loop
    assert clone.commands[1] == ('object-add', {'qom-type': 'iothread',
                                                'id': mirror.IOTHREAD})
    assert clone.commands[2] == ('blockdev-add', mirror.writer_node_options(_plan()))
    export = clone.commands[3][1]
    assert clone.commands[3][0] == 'block-export-add'
    assert (export['node-name'], export['iothread'], export['fixed-iothread'],
            export['writable']) == ('pwn-copy-vda', mirror.IOTHREAD, True, True)
    copy.start_mirrors()
    assert source.names() == ['blockdev-add', 'blockdev-mirror']
    mirror_args = source.commands[1][1]
    assert (mirror_args['sync'], mirror_args['copy-mode'], mirror_args['speed']) == (
        'top', 'write-blocking', 1024)
    fakes.emit(hub, 'source', 'BLOCK_JOB_READY', device='pwn-mirror-vda')
    copy.wait_ready()

    def finish(command, args):
        if command == 'block-job-cancel':
            fakes.emit(hub, 'source', 'BLOCK_JOB_COMPLETED', device='pwn-mirror-vda',
                       offset=4096, len=4096)
    source.on_command = finish
    copy.complete()
    assert source.names()[-1] == 'block-job-cancel'  # NBD node kept: not in the pause
    assert copy.bytes_copied == 4096
    copy.release_nodes()
    assert source.names()[-1] == 'blockdev-del'

    def deleted(command, args):
        if command == 'block-export-del':
            fakes.emit(hub, 'clone', 'BLOCK_EXPORT_DELETED', id=args['id'])
    clone.on_command = deleted
    copy.stop_exports()
    assert clone.names()[-4:] == ['block-export-del', 'blockdev-del', 'object-del',
                                  'nbd-server-stop']
    assert clone.commands[-4][1]['mode'] == 'hard'  # the source has detached already
    assert clone.commands[-3][1] == {'node-name': 'pwn-copy-vda'}


def test_writer_node_opens_the_clone_image_without_locks_and_flushes_it():
    options = mirror.writer_node_options(_plan())
    assert options == {
        'driver': 'qcow2', 'node-name': 'pwn-copy-vda',
        'file': {'driver': 'file', 'filename': '/c', 'locking': 'off'}}
    assert 'cache' not in options  # no no-flush: the copy must reach the disk
    raw = storage.DiskPlan(dev='sdb', alias='scsi0-0-0-1', source_path='/s.img', fmt='raw',
                           capacity=1 << 20, clone_path='/c.img', sync='full')
    assert mirror.writer_node_options(raw)['driver'] == 'raw'
    assert mirror.writer_node_options(raw)['node-name'] == 'pwn-copy-sdb'


def test_a_failed_job_fails_the_wait():
    hub, source, clone, copy = _copy()
    copy.start_exports()
    copy.start_mirrors()
    fakes.emit(hub, 'source', 'BLOCK_JOB_COMPLETED', device='pwn-mirror-vda',
               error='No space left on device')
    with pytest.raises(exception.PwnetizerError, match='No space left'):
        copy.wait_ready()


def test_abort_cancels_and_removes_everything_once():
    hub, source, clone, copy = _copy()
    copy.start_exports()
    copy.start_mirrors()
    source.replies['query-block-jobs'] = [{'device': 'pwn-mirror-vda'}]

    def cancelled(command, args):
        if command == 'block-job-cancel':
            assert args['force'] is True
            fakes.emit(hub, 'source', 'BLOCK_JOB_CANCELLED', device='pwn-mirror-vda')
    source.on_command = cancelled
    copy.abort()
    assert 'blockdev-del' in source.names()
    assert clone.names()[-4:] == ['block-export-del', 'blockdev-del', 'object-del',
                                  'nbd-server-stop']
    before = len(source.commands) + len(clone.commands)
    copy.abort()  # idempotent: nothing left to undo
    assert len(source.commands) + len(clone.commands) == before + 1  # query-block-jobs
