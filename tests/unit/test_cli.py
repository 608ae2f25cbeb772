"""The CLI's parsing, output and exit codes (no libvirt)."""

import json

import pytest

from nova_pwnetizer.cmd import output
from nova_pwnetizer.cmd import pwnetizer
from nova_pwnetizer.virt.engine import result


def test_parser_reads_clone_options():
    args = pwnetizer.build_parser().parse_args(
        ['clone', 'web-1', '--count', '3', '--port-range', '50000-50010', '--json',
         '--target-connect', 'qemu+ssh://b/system', '--bandwidth', '100'])
    assert (args.source, args.count, args.port_range, args.json) == (
        'web-1', 3, (50000, 50010), True)
    assert args.target_connect == 'qemu+ssh://b/system' and args.bandwidth == 100


@pytest.mark.parametrize('argv', [
    ['clone'], ['clone', 'x', '--count', '0'], ['clone', 'x', '--port-range', '5'],
    ['bogus'],
])
def test_parser_rejects(argv, capsys):
    with pytest.raises(SystemExit) as err:
        pwnetizer.build_parser().parse_args(argv)
    assert err.value.code == 2


def test_unknown_domain_is_one_line_and_exit_3(monkeypatch, capsys):
    class Host:
        def __init__(self, uri):
            pass

        def lookup(self, name):
            from nova_pwnetizer.virt.engine import exception
            raise exception.DomainNotFound('no domain %r on test:///' % name)
    monkeypatch.setattr(pwnetizer.engine, 'Host', Host)
    assert pwnetizer.main(['clone', 'nope']) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["pwnetizer: error: no domain 'nope' on test:///"]


def _result():
    return result.CloneResult(
        name='web-1-clone-1', uuid='u', source='web-1', downtime_ms=12, source_paused_ms=9.5,
        time_to_running=1.1, time_to_ready=1.6, memory_bytes=100 << 20,
        memory_total_bytes=256 << 20, disk_bytes=1 << 20, disk_sync={'vda': 'top'},
        phases={'memory': 0.3}, nics=[{'old_mac': 'a', 'mac': 'b', 'model': 'virtio'}],
        nic_swap_s=0.5, family='f')


def test_figures_text():
    text = output.figures(_result())
    assert text.splitlines()[0] == 'web-1-clone-1 (u) ready in 1.60 s'
    assert 'source paused        9.5 ms (QEMU downtime 12 ms)' in text
    assert 'memory copied        100.0 MiB of 256.0 MiB' in text
    assert 'NIC                  a -> b (virtio)' in text


def test_json_is_one_object_per_line():
    line = output.as_json(_result())
    assert '\n' not in line and json.loads(line)['source_paused_ms'] == 9.5


def test_progress_prints_phase_changes_off_a_terminal(capsys):
    import sys
    progress = output.Progress(stream=sys.stderr)
    progress('memory', 0.1, 'a')
    progress('memory', 0.5, 'b')
    progress('switchover', None, 'c')
    assert capsys.readouterr().err == '[memory]  10% a\n[switchover] c\n'


def test_figures_text_has_the_genid_and_each_warning():
    r = _result()
    r.genid = 'a0000000-0000-4000-8000-00000000000a'
    assert 'generation ID        a0000000-0000-4000-8000-00000000000a' in output.figures(r)
    r.genid, r.warnings = None, ['the source has no VM generation ID, so ...']
    text = output.figures(r)
    assert 'generation ID        none' in text
    assert 'warning              the source has no VM generation ID, so ...' in text


def test_json_output_keeps_stdout_json_and_warns_on_stderr(capsys):
    r = _result()
    r.warnings = ['w1', 'w2']
    pwnetizer._print_result(r, as_json=True)
    out, err = capsys.readouterr()
    assert json.loads(out)['warnings'] == ['w1', 'w2']
    assert err == ('pwnetizer: warning: web-1-clone-1: w1\n'
                   'pwnetizer: warning: web-1-clone-1: w2\n')
    pwnetizer._print_result(_result(), as_json=True)
    assert capsys.readouterr().err == ''


def _options(argv, index=0):
    args = pwnetizer.build_parser().parse_args(['clone', 'web-1'] + argv)
    return pwnetizer._clone_options(args, pwnetizer._load_conf(args), index)


def test_the_guest_step_options_default_to_the_config():
    found = _options([])
    assert (found.guest_step, found.hostname, found.ssh_host_keys, found.cloud_init) == (
        'auto', None, False, 'keep')


def test_the_guest_step_flags_reach_the_engine_options():
    found = _options(['--guest-step', 'off', '--hostname', 'web-2', '--ssh-host-keys',
                      '--cloud-init', 'new'])
    assert (found.guest_step, found.hostname, found.ssh_host_keys, found.cloud_init) == (
        'off', 'web-2', True, 'new')
    assert found.validate().hostname == 'web-2'


def test_with_count_the_hostname_and_name_are_prefixes():
    argv = ['--count', '3', '--hostname', 'web', '--name', 'c']
    assert [(o.name, o.hostname) for o in (_options(argv, i) for i in range(3))] == [
        ('c-1', 'web-1'), ('c-2', 'web-2'), ('c-3', 'web-3')]
    # without them each clone keeps its defaults
    found = _options(['--count', '2'], 1)
    assert (found.name, found.hostname) == (None, None)


def test_with_one_clone_the_hostname_is_as_given():
    assert _options(['--hostname', 'web']).hostname == 'web'


@pytest.mark.parametrize('argv', [
    ['clone', 'x', '--guest-step', 'on'], ['clone', 'x', '--cloud-init', 'reset'],
])
def test_parser_rejects_bad_guest_step_choices(argv, capsys):
    with pytest.raises(SystemExit) as err:
        pwnetizer.build_parser().parse_args(argv)
    assert err.value.code == 2


def test_figures_text_has_the_guest_step():
    r = _result()
    assert 'guest step' not in output.figures(r)       # paused clone: no step
    r.guest_step = {'status': 'done', 'seconds': 1.234, 'lines': ['rebind: ok']}
    assert 'guest step           done, 1.23 s' in output.figures(r)
    r.guest_step = {'status': 'no-agent', 'seconds': 0.0, 'reason': 'no channel'}
    assert 'guest step           no-agent\n' in output.figures(r)


def test_json_has_the_guest_step_figures_only():
    r = _result()
    r.guest_step = {'status': 'failed', 'seconds': 2.5, 'lines': ['x'], 'reason': 'y'}
    assert r.figures()['guest_step'] == {'status': 'failed', 'seconds': 2.5}
    assert json.loads(output.as_json(r))['guest_step']['status'] == 'failed'
