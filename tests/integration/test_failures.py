"""Failures at every phase: the source keeps running, nothing is left.

Faults are injected for real: the clone's QEMU is killed, the NBD and
migration connections are cut (QMP ``yank``), the target directory is
read-only or full, the wait times out, the CLI gets SIGINT or SIGKILL.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from nova_pwnetizer.virt import engine
from tests.integration.conftest import assert_no_leftovers
from tests.integration import helpers


def _inject(phase, action):
    """A progress callback that runs ``action`` once during ``phase``."""
    fired = []

    def progress(current, fraction, message):
        if current == phase and fraction is not None and not fired:
            fired.append(message)
            action()
    return progress, fired


def _assert_source_healthy(host, guests, src, allowed=()):
    assert src.guest.state == 'running'
    src.console.wait_ticks(3, timeout=60)
    assert src.console.errors() == []
    assert_no_leftovers(host, guests, [src], allowed=allowed)
    src.guest.destroy()
    assert helpers.contiguous(helpers.read_records(src.disk))


def _clone_name(src):
    return src.guest.name + '-clone-1'


def test_clone_qemu_killed_during_disk_copy(host, guests):
    src = guests.boot(prefill_mib=64)
    progress, fired = _inject('disk-sync', lambda: helpers.kill_qemu(_clone_name(src)))
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(disk_bandwidth_mib=8),
                     progress=progress)
    assert fired and err.value.phase == 'disk-sync'
    assert 'stopped' in err.value.reason
    _assert_source_healthy(host, guests, src)


def test_clone_qemu_killed_during_memory_copy(host, guests):
    src = guests.boot()
    progress, fired = _inject('memory', lambda: helpers.kill_qemu(_clone_name(src)))
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(bandwidth_mib=16),
                     progress=progress)
    assert fired and err.value.phase == 'memory'
    _assert_source_healthy(host, guests, src)


def test_nbd_connection_cut_during_disk_copy(host, guests):
    src = guests.boot(prefill_mib=64)
    progress, fired = _inject('disk-sync', lambda: src.guest.qmp(
        'yank', instances=[{'type': 'block-node', 'node-name': 'pwn-nbd-vda'}]))
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(disk_bandwidth_mib=8),
                     progress=progress)
    assert fired and err.value.phase == 'disk-sync'
    _assert_source_healthy(host, guests, src)


def test_migration_connection_cut_during_memory_copy(host, guests):
    src = guests.boot()
    progress, fired = _inject('memory', lambda: src.guest.qmp(
        'yank', instances=[{'type': 'migration'}]))
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(bandwidth_mib=16),
                     progress=progress)
    assert fired and err.value.phase == 'memory'
    # Whichever QEMU notices first: the source's migration fails, or the
    # clone's incoming side gives up and its QEMU exits.
    assert 'migration failed' in err.value.reason or 'stopped' in err.value.reason
    _assert_source_healthy(host, guests, src)


def test_timeout_rolls_back(host, guests):
    src = guests.boot()
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(bandwidth_mib=4, timeout_s=2))
    assert err.value.phase == 'memory' and 'timed out' in err.value.reason
    _assert_source_healthy(host, guests, src)


@pytest.fixture
def mount_point():
    """A directory on which tests mount a tmpfs in libvirtd's namespace."""
    path = '/var/lib/pwnetizer/mnt-%d' % os.getpid()
    os.makedirs(path, exist_ok=True)
    yield path
    subprocess.run(['nsenter', '-t', open(helpers.LIBVIRTD_PID).read().strip(), '-m',
                    'umount', path], capture_output=True)
    os.rmdir(path)


def test_unwritable_target_directory(host, guests, mount_point):
    helpers.in_libvirtd_mounts('mount', '-t', 'tmpfs', '-o', 'ro,size=1M', 'tmpfs',
                               mount_point)
    src = guests.boot()
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(disk_dir=mount_point))
    assert err.value.phase == 'prepare'
    assert 'Read-only' in err.value.reason or 'read-only' in err.value.reason
    _assert_source_healthy(host, guests, src)


def test_target_disk_full(host, guests, mount_point):
    helpers.in_libvirtd_mounts('mount', '-t', 'tmpfs', '-o', 'size=16M', 'tmpfs',
                               mount_point)
    src = guests.boot(prefill_mib=64)
    with pytest.raises(engine.CloneFailed) as err:
        engine.clone(src.guest, options=engine.CloneOptions(disk_dir=mount_point))
    assert err.value.phase == 'disk-sync'
    assert helpers.in_libvirtd_mounts('ls', '-A', mount_point).strip() == ''
    _assert_source_healthy(host, guests, src)


def _cli(*args):
    return subprocess.Popen([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer'] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_phase(proc, phase, timeout=120):
    seen = ''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if line.startswith('[%s]' % phase):
            return seen
        if not line and proc.poll() is not None:
            break
    raise AssertionError('CLI never reached %s:\n%s' % (phase, seen))


def test_cli_sigint_rolls_back(host, guests):
    src = guests.boot()
    # 1 MiB/s: the memory copy lasts long past the signal, even on a
    # loaded machine (at 8 MiB/s it once finished first)
    proc = _cli('clone', src.guest.name, '--bandwidth', '1')
    _wait_phase(proc, 'memory')
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 6, err
    assert 'clone failed during memory: interrupted' in err
    _assert_source_healthy(host, guests, src)


def _guardian_pid(cli_pid):
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            cmdline = open('/proc/%s/cmdline' % pid, 'rb').read().split(b'\0')
        except OSError:
            continue
        if any(b'engine import guardian' in arg for arg in cmdline) and \
                str(cli_pid).encode() in cmdline:
            return int(pid)
    return None


def test_cli_killed_outright_guardian_recovers(host, guests):
    src = guests.boot()
    proc = _cli('clone', src.guest.name, '--bandwidth', '24')
    _wait_phase(proc, 'memory')
    time.sleep(1)  # the migration is under way
    assert src.guest.migration_status().get('status') == 'active'
    proc.kill()
    proc.wait()
    helpers.wait_until(lambda: not host.exists(name=_clone_name(src))
                       and src.guest.migration_status().get('status') == 'cancelled',
                       60, 'the guardian to undo the clone')
    _assert_source_healthy(host, guests, src)


def test_cli_and_guardian_killed_then_cleanup(host, guests):
    src = guests.boot()
    proc = _cli('clone', src.guest.name, '--bandwidth', '24')
    _wait_phase(proc, 'memory')
    time.sleep(1)
    os.kill(_guardian_pid(proc.pid), signal.SIGKILL)
    proc.kill()
    proc.wait()
    clone_name = _clone_name(src)
    # Nobody finishes the switch-over: the source stays paused at
    # pre-switchover once the copy converges.  Only cleanup gets it back.
    helpers.wait_until(lambda: src.guest.migration_status().get('status')
                       == 'pre-switchover', 120, 'the orphaned migration to converge')
    assert src.guest.state == 'paused'
    listed = subprocess.run([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer', 'cleanup',
                             '--dry-run'], capture_output=True, text=True, check=True).stdout
    assert '%s: half-built clone' % clone_name in listed
    assert '%s: migration (pre-switchover)' % src.guest.name in listed
    done = subprocess.run([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer', 'cleanup'],
                          capture_output=True, text=True, check=True).stdout
    assert 'removed half-built clone %s' % clone_name in done
    _assert_source_healthy(host, guests, src)


def test_cleanup_never_resumes_a_pause_asked_of_libvirt(host, guests, tmp_path):
    # A source whose last migration completed (here one the engine's way,
    # through QMP), then paused by an admin through libvirt (Nova's pause):
    # the pause is the admin's, and cleanup must leave it.
    src = guests.boot()
    src.guest.qmp('migrate', uri='file:%s' % (tmp_path / 'state.bin'))
    helpers.wait_until(lambda: src.guest.migration_status().get('status') == 'completed',
                       60, 'the migration to a file to complete')
    src.guest.resume()
    src.guest.suspend()
    assert src.guest.paused_by_user()
    assert src.guest.migration_status().get('status') == 'completed'
    listed = subprocess.run([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer', 'cleanup',
                             '--dry-run'], capture_output=True, text=True, check=True).stdout
    assert src.guest.name not in listed, listed
    subprocess.run([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer', 'cleanup'],
                   capture_output=True, text=True, check=True)
    assert src.guest.state == 'paused'
    engine.recovery.recover_source(src.guest)   # what the source host runs
    assert src.guest.state == 'paused'
    src.guest.resume()
    _assert_source_healthy(host, guests, src)
