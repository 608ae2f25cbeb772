"""I/O device randomization on real guests: drivers bound, DHCP on the new
NIC, next boot on the new device set, diversity, refusals."""

import re

import pytest

from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.randomize import family
from nova_pwnetizer.virt.randomize import planner
from tests.integration.conftest import assert_no_leftovers
from tests.integration import helpers

NIC_DRIVERS = {'virtio': 'virtio_net', 'e1000': 'e1000', 'e1000e': 'e1000e',
               'rtl8139': '8139cp', 'ne2k_pci': 'ne2k-pci', 'pcnet': 'pcnet32',
               'vmxnet3': 'vmxnet3'}


def _randomized_clone(host, src, requested, seed=None, **options):
    plan = planner.plan(src.guest, host, planner.Policy(requested=requested, seed=seed))
    result = engine.clone(src.guest, options=engine.CloneOptions(
        nic_models=plan.nic_models(1), device_models=plan.models,
        persistent_rewrite=plan.rewrite, **options))
    return plan, result


def _devices_line(console, after=0):
    lines = console.wait_for(lambda c: c.lines('PWN DEVICES')[after:], 90,
                             'the device report')
    return dict(field.split('=', 1) for field in lines[-1].split()[2:])


@pytest.mark.parametrize('model', ['e1000', 'rtl8139', 'ne2k_pci', 'pcnet', 'vmxnet3',
                                   'e1000e'])
def test_hot_swapped_nic_model_is_bound_and_gets_a_lease(host, guests, model):
    src = guests.boot(memory_mib=192)
    plan, result = _randomized_clone(host, src, {'nic': {model}})
    assert plan.models['nic'] == model and result.nics[0]['model'] == model
    clone = guests.attach(result.name)
    mac = result.nics[0]['mac']
    line = clone.console.wait_for(
        lambda c: [x for x in c.lines('PWN NIC ') if mac in x], 60, 'the new NIC')[-1]
    driver = re.search(r'driver=(\S+)', line).group(1)
    assert driver == NIC_DRIVERS[model] or (model == 'rtl8139' and driver == '8139too')
    ip = clone.console.wait_for(lambda c: c.lines('PWN DHCP'), 60, 'a lease')[-1]
    ip = ip.split('ip=')[1].strip()
    assert '%s %s' % (mac, ip) in open('/var/lib/pwnetizer/dnsmasq.leases').read()
    assert helpers.netns_run('ping', '-c', '2', '-W', '5', ip).returncode == 0
    assert result.devices['nic'] == model
    assert clone.guest.tree(inactive=True).find('devices/interface/model').get(
        'type') == model


def test_next_boot_runs_on_the_randomized_device_set(host, guests):
    src = guests.boot(video='vga', usb='piix3-uhci', tablet='usb')
    before = _devices_line(src.console)
    assert before['disk'].startswith('vda:virtio_blk') and before['video'].startswith('bochs')
    requested = {'disk_bus': {'sata'}, 'video': {'cirrus'}, 'usb': {'qemu-xhci'},
                 'input': {'virtio-tablet'}, 'nic': {'e1000'}}
    plan, result = _randomized_clone(host, src, requested)
    assert {k: plan.models[k] for k in requested} == {k: min(v) for k, v in requested.items()}
    clone = guests.attach(result.name)
    clone.console.wait_ticks(3)
    persistent = clone.guest.tree(inactive=True)
    assert persistent.find("devices/disk[@device='disk']/target").get('bus') == 'sata'
    assert persistent.find('devices/video/model').get('type') == 'cirrus'

    clone.guest.destroy()
    last = max(helpers.read_records(clone.disk))
    clone.guest.dom.create()
    boot = clone.console.wait_for(lambda c: c.lines('PWN DISK'), 120, 'the clone to boot')
    assert boot[-1] == 'PWN DISK /dev/sda last=%d' % last  # its data, on the new bus
    after = _devices_line(clone.console)
    assert 'ahci' in after['disk']
    assert after['video'].startswith('cirrus')
    assert after['usb'] == 'xhci_hcd'
    assert 'Virtio_Tablet' in after['input'] or 'virtio' in after['input'].lower()
    assert after['nic'].endswith(':e1000')
    first = clone.console.wait_for(lambda c: [t for t in c.ticks() if t[0] == 1], 60,
                                   'the first tick after boot')[0]
    assert first[1] == last + 1
    assert clone.console.errors() == []


def test_family_spreads_over_the_candidates(host, guests):
    src = guests.boot(memory_mib=192)
    names = []
    for i in range(4):
        plan, result = _randomized_clone(host, src, {'nic': {'e1000', 'rtl8139', 'virtio'}})
        names.append(result.name)
    members = family.members([host], src.guest.uuid, planner.load_randomizers())
    assert sorted(m.name for m in members) == sorted(names + [src.guest.name])
    counts = family.counts(members, 'nic')
    assert sorted(counts) == ['e1000', 'rtl8139', 'virtio']
    assert max(counts.values()) - min(counts.values()) <= 1
    assert_no_leftovers(host, guests, [src], allowed=names)


@pytest.mark.parametrize('requested, error, message', [
    ({'nic': {'tulip'}}, engine.InvalidOptions, 'unknown nic model tulip'),
    ({'disk_bus': {'ide'}}, planner.NoCandidates, 'not offered by the hypervisor'),
    ({'nic': {'rtl8139'}}, planner.NoCandidates, 'not offered by the hypervisor'),
])
def test_refusals_on_q35_touch_nothing(host, guests, requested, error, message):
    src = guests.boot(machine='q35', memory_mib=192)
    with pytest.raises(error, match=message):
        planner.plan(src.guest, host, planner.Policy(requested=requested))
    assert_no_leftovers(host, guests, [src])


def test_guest_declaration_that_excludes_everything(host, guests):
    from nova_pwnetizer.virt.randomize import support
    src = guests.boot(memory_mib=192, declare_support=False)
    support.declare(src.guest, {'nic': ['ne2k_pci']})
    with pytest.raises(planner.NoCandidates, match='guest: ne2k_pci'):
        planner.plan(src.guest, host, planner.Policy(denied={'nic': {'ne2k_pci'}}))
    with pytest.raises(planner.NoCandidates, match='requested: e1000'):
        planner.plan(src.guest, host, planner.Policy(requested={'nic': {'e1000'}}))
    assert_no_leftovers(host, guests, [src])


def test_cli_randomize_family_and_supports(host, guests):
    import json
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, '-m', 'nova_pwnetizer.cmd.pwnetizer']
                              + list(args), capture_output=True, text=True, timeout=600)
    src = guests.boot(memory_mib=192, declare_support=False)
    name = src.guest.name
    proc = run('supports', name)
    assert 'no declaration' in proc.stdout
    proc = run('supports', name, '--nic-models', 'virtio,e1000,rtl8139')
    assert proc.returncode == 0 and 'nic: virtio,e1000,rtl8139' in proc.stdout
    assert run('supports', name, '--nic-models', 'tulip').returncode == 2

    proc = run('clone', name, '--randomize', '--count', '2', '--seed', '7', '--json')
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r['devices']['nic'] for r in results} == {'e1000', 'rtl8139'}
    proc = run('family', name)
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ['NAME', 'GEN', 'STATE', 'DISK_BUS']
    assert len(lines) == 4 and any(' e1000 ' in line for line in lines)

    proc = run('clone', name, '--nic-models', 'e1000')
    assert proc.returncode == 2 and 'need --randomize' in proc.stderr
    proc = run('clone', name, '--randomize', '--nic-models', 'vmxnet3')
    assert proc.returncode == 4 and 'no nic model is left' in proc.stderr
    assert_no_leftovers(host, guests, [src], allowed=[r['name'] for r in results])
