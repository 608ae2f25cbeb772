"""The pwnetizer CLI against real libvirt and QEMU."""

import json
import subprocess
import sys

from tests.integration.conftest import assert_no_leftovers


def _run(*args, timeout=600):
    return subprocess.run([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer'] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def test_clone_count_json(host, guests):
    src = guests.boot()
    proc = _run('clone', src.guest.name, '--count', '2', '--name', src.guest.name + '-c',
                '--json')
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r['name'] for r in results] == [src.guest.name + '-c-1', src.guest.name + '-c-2']
    for r in results:
        assert r['running'] and r['persistent'] and r['source_paused_ms'] > 0
        guests.attach(r['name']).console.wait_ticks(2)
    assert proc.stderr == ''  # --json: no progress lines
    assert_no_leftovers(host, guests, [src], allowed=[r['name'] for r in results])


def test_clone_human_output_and_errors(host, guests):
    src = guests.boot()
    proc = _run('clone', src.guest.name)
    assert proc.returncode == 0, proc.stderr
    assert 'source paused' in proc.stdout and 'ready in' in proc.stdout
    assert '[memory]' in proc.stderr and '[nic-swap]' in proc.stderr

    proc = _run('clone', 'no-such-domain')
    assert proc.returncode == 3
    assert proc.stderr.strip() == "pwnetizer: error: no domain 'no-such-domain' on " \
                                  "qemu:///system"
    proc = _run('clone', src.guest.name, '--name', 'bad/name')
    assert proc.returncode == 2 and 'invalid clone name' in proc.stderr
    proc = _run('clone', src.guest.name, '--name', src.guest.name)
    assert proc.returncode == 5 and 'already exists' in proc.stderr
    proc = _run('cleanup', '--dry-run')
    assert proc.returncode == 0 and 'nothing left behind' in proc.stdout


def test_demo_runs_end_to_end(host):
    proc = _run('demo', timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'clone continues the workload' in proc.stdout
    assert 'clone network: eth0 ip=' in proc.stdout
    assert 'removed the demo guests' in proc.stdout
    assert not host.exists(name='pwnetizer-demo')
