"""The guest-side identity script (files/clone-identity.sh), run by dash and
bash against a fake root (PWN_GUEST_ROOT) with fake system commands on a
PATH that holds nothing else but a few plain tools, and the helper that
builds its arguments.

busybox sh runs its own applets (hostname, ip, arping, ifup, od, sed, ...)
before anything on PATH, so fakes cannot stand in for them there: it runs
only what touches the fake root alone (argument checks, a rebind where
systemd "runs", so hostnamectl rather than the hostname applet is used),
with busybox's sed, grep, awk and od."""

import ast
import json
import os
import pathlib
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time

import pytest

from nova_pwnetizer.virt.engine import clone_identity_script as cis

OLD = '52:54:00:ab:cd:0e'
NEW = 'fa:16:3e:ab:cd:ef'
OTHER = '52:54:00:aa:bb:cc'
OLD_ID = '0123456789abcdef0123456789abcdef'
SOURCE_IID = '8a4c1d2e-0000-4000-8000-000000000001'
CLONE_IID = '8a4c1d2e-0000-4000-8000-000000000002'
SEED = bytes(range(64))

SHELLS = [name for name in ('dash', 'bash') if shutil.which(name)]
BUSYBOX = shutil.which('busybox')
# what the script may run besides the faked commands: nothing else is on PATH
TOOLS = ('sed', 'grep', 'awk', 'od', 'tr', 'cat', 'cp', 'rm', 'ln', 'mkdir', 'mv',
         'dd', 'wc', 'sleep')
FAKES = ('systemctl', 'networkctl', 'hostnamectl', 'hostname', 'netplan', 'ssh-keygen',
         'python3', 'ip', 'arping', 'nmcli', 'ifup')

FAKE = '''#!%s
import json, os, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
entry = {'cmd': name, 'args': args}
for path in filter(None, os.environ.get('FAKE_SNAPSHOT', '').split(':')):
    with open(path) as f:
        entry.setdefault('snapshot', {})[path] = f.read()
with open(os.environ['FAKE_LOG'], 'a') as log:
    log.write(json.dumps(entry) + '\\n')
active = os.environ.get('FAKE_ACTIVE', '').split()
if name == 'systemctl' and args[:1] == ['is-active']:
    sys.exit(0 if args[-1] in active else 3)
if name == 'nmcli' and args[:1] == ['-t']:
    print('running' if 'NetworkManager' in active else 'stopped')
if name == 'ip' and 'addr' in args:
    sys.stdout.write(os.environ.get('FAKE_IP_ADDR', ''))
if name == 'ssh-keygen' and args[:1] == ['-A']:
    if os.environ.get('FAKE_SSH_KEYGEN_FAIL'):
        sys.exit(1)
    prefix = args[args.index('-f') + 1] if '-f' in args else ''
    for kind in ('ecdsa', 'ed25519', 'rsa'):
        path = prefix + '/etc/ssh/ssh_host_%%s_key' %% kind
        if not os.path.exists(path):
            for p in (path, path + '.pub'):
                with open(p, 'w') as f:
                    f.write('new\\n')
sys.exit(int(os.environ.get('FAKE_RC_' + name.replace('-', '_').upper(), '0')))
''' % sys.executable

NETWORKD = '''[Match]
MACAddress=%s
Name=ens3

[Network]
DHCP=ipv4
# not whole MACs: ff:%s, %s:01, %s0
''' % (OLD, OLD, OLD, OLD)


def _write(path, text, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)


class Guest:
    """A fake guest root and a way to run the script on it."""

    def __init__(self, base, shell):
        self.shell = shell
        self.root = base / 'root'
        self.log = base / 'log'
        self.bin = base / 'bin'
        self.tools = base / 'tools'
        self.tmp = base / 'tmp'
        for d in (self.root, self.bin, self.tools, self.tmp):
            d.mkdir()
        self.log.write_text('')
        fake = base / 'fake'
        fake.write_text(FAKE)
        fake.chmod(0o755)
        self.fakes = set()
        for name in FAKES:
            self.add(name)
        for name in TOOLS:
            (self.tools / name).symlink_to(shutil.which(name))
        self.env = {'FAKE_ACTIVE': 'systemd-networkd'}

    def add(self, name):
        (self.bin / name).symlink_to('../fake')
        self.fakes.add(name)

    def remove(self, name):
        (self.bin / name).unlink()
        self.fakes.discard(name)

    def path(self, rel):
        return self.root / rel

    def write(self, rel, text, mode=None):
        _write(self.path(rel), text, mode)

    def read(self, rel):
        return self.path(rel).read_text()

    def run(self, *args, **env):
        text = cis.script_text()
        shell = [shutil.which('busybox'), 'sh'] if self.shell == 'busybox' else [
            shutil.which(self.shell)]
        environ = {'PATH': '%s:%s' % (self.bin, self.tools), 'PWN_GUEST_ROOT': str(self.root),
                   'FAKE_LOG': str(self.log), 'TMPDIR': str(self.tmp), 'HOME': str(self.tmp)}
        environ.update(self.env)
        environ.update(env)
        self.log.write_text('')
        return subprocess.run(shell + ['-c', text, cis.ARGV0] + list(args), env=environ,
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def calls(self, cmd=None):
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [e for e in entries if cmd is None or e['cmd'] == cmd]

    def argvs(self, cmd):
        return [e['args'] for e in self.calls(cmd)]


def _guest(base, shell):
    g = Guest(base, shell)
    g.write('run/systemd/system/.keep', '')
    g.write('etc/machine-id', OLD_ID + '\n', 0o444)
    g.path('var/lib/dbus').mkdir(parents=True)
    g.path('var/lib/dbus/machine-id').symlink_to('/etc/machine-id')
    g.write('etc/systemd/network/10-cloud-init-ens3.network', NETWORKD, 0o644)
    g.write('etc/systemd/network/20-other.network',
            '[Match]\nMACAddress=%s\n' % OTHER)
    g.write('proc/sys/kernel/random/uuid', '7c9e6679-7425-40de-944b-e07fc1f90ae7\n')
    g.write('proc/sys/kernel/hostname', 'web-1\n')
    g.write('sys/class/net/lo/address', '00:00:00:00:00:00\n')
    g.write('sys/class/net/ens3/address', NEW + '\n')
    g.write('sys/class/net/ens4/address', OTHER + '\n')
    return g


@pytest.fixture(params=SHELLS)
def guest(request, tmp_path):
    return _guest(tmp_path, request.param)


@pytest.fixture
def busybox_guest(tmp_path):
    if not BUSYBOX:
        pytest.skip('no busybox')
    return _guest(tmp_path, 'busybox')


def rebind(guest, *extra, **env):
    return guest.run('rebind', '--mac', '%s=%s' % (OLD, NEW), *extra, **env)


def lines(done, key):
    prefix = key + ': '
    return [line[len(prefix):] for line in done.stdout.splitlines() if line.startswith(prefix)]


def tree(root):
    """Every path under root with its kind and content, to compare."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = pathlib.Path(dirpath, name)
            st = p.lstat()
            if p.is_symlink():
                out[str(p)] = ('link', os.readlink(p))
            elif p.is_file():
                out[str(p)] = ('file', stat.S_IMODE(st.st_mode), p.read_bytes())
            else:
                out[str(p)] = ('dir', stat.S_IMODE(st.st_mode))
    return out


# --- rebind: network configuration ---------------------------------------------

def test_networkd_file_rebound_whole_macs_only(guest):
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    text = guest.read('etc/systemd/network/10-cloud-init-ens3.network')
    assert 'MACAddress=%s\n' % NEW in text
    assert 'MACAddress=%s' % OLD not in text
    # parts of longer addresses are no MACs of their own
    assert '# not whole MACs: ff:%s, %s:01, %s0\n' % (OLD, OLD, OLD) in text
    assert guest.read('etc/systemd/network/20-other.network') == (
        '[Match]\nMACAddress=%s\n' % OTHER)
    assert stat.S_IMODE(
        guest.path('etc/systemd/network/10-cloud-init-ens3.network').stat().st_mode) == 0o644
    assert lines(done, 'network-config') == [
        'rebound /etc/systemd/network/10-cloud-init-ens3.network']


def test_two_macs_next_to_each_other_and_several_pairs(guest):
    guest.write('run/systemd/network/10-netplan-ens3.network',
                'MACAddress=%s %s\nx=%s,%s,%s\n' % (OLD, OTHER, OLD, OLD, OLD))
    done = guest.run('rebind', '--mac', '%s=%s' % (OLD, NEW),
                     '--mac', '%s=fa:16:3e:00:00:02' % OTHER)
    assert done.returncode == 0, done.stderr
    assert guest.read('run/systemd/network/10-netplan-ens3.network') == (
        'MACAddress=%s fa:16:3e:00:00:02\nx=%s,%s,%s\n' % (NEW, NEW, NEW, NEW))
    assert guest.read('etc/systemd/network/20-other.network') == (
        '[Match]\nMACAddress=fa:16:3e:00:00:02\n')


def test_netplan_rebound_and_generated(guest):
    guest.write('etc/netplan/50-cloud-init.yaml',
                'network:\n  ethernets:\n    ens3:\n      match:\n'
                '        macaddress: %s\n      set-name: ens3\n  version: 2\n' % OLD, 0o600)
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    text = guest.read('etc/netplan/50-cloud-init.yaml')
    assert 'macaddress: %s\n' % NEW in text and OLD not in text
    assert stat.S_IMODE(guest.path('etc/netplan/50-cloud-init.yaml').stat().st_mode) == 0o600
    assert guest.argvs('netplan') == [['generate']]
    assert 'generated' in lines(done, 'netplan')


def test_netplan_not_generated_when_no_yaml_changed(guest):
    guest.write('etc/netplan/60-other.yaml', 'macaddress: %s\n' % OTHER)
    assert rebind(guest).returncode == 0
    assert guest.argvs('netplan') == []


def test_networkmanager_upper_case_keeps_its_case(guest):
    name = 'etc/NetworkManager/system-connections/Wired connection 1.nmconnection'
    guest.write(name, '[ethernet]\nmac-address=%s\n' % OLD.upper(), 0o600)
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    text = guest.read(name)
    assert 'mac-address=%s\n' % NEW.upper() in text
    assert OLD.upper() not in text
    assert stat.S_IMODE(guest.path(name).stat().st_mode) == 0o600
    assert 'rebound /' + name in lines(done, 'network-config')


def test_mixed_case_becomes_lower_case_in_every_kind_of_file(guest):
    mixed = '52:54:00:Ab:cD:0e'
    files = {
        'etc/network/interfaces': 'iface ens3 inet dhcp\n  hwaddress ether %s\n' % mixed,
        'etc/network/interfaces.d/50-cloud-init': 'hwaddress %s\n' % OLD,
        'etc/udev/rules.d/70-persistent-net.rules':
            'SUBSYSTEM=="net", ATTR{address}=="%s", NAME="eth0"\n' % OLD,
        'etc/sysconfig/network-scripts/ifcfg-eth0': 'HWADDR="%s"\nMACADDR=%s\n' % (
            OLD.upper(), OLD),
        'etc/systemd/network/10-ens3.link': '[Match]\nMACAddress=%s\n' % OLD,
    }
    for rel, text in files.items():
        guest.write(rel, text)
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    for rel in files:
        text = guest.read(rel)
        assert OLD not in text.lower(), rel
        assert NEW in text.lower(), rel
    assert 'HWADDR="%s"' % NEW.upper() in guest.read('etc/sysconfig/network-scripts/ifcfg-eth0')


def test_symlinked_config_is_written_through(guest):
    guest.write('etc/real.network', '[Match]\nMACAddress=%s\n' % OLD)
    guest.path('etc/systemd/network/30-linked.network').symlink_to(guest.path('etc/real.network'))
    assert rebind(guest).returncode == 0
    assert guest.path('etc/systemd/network/30-linked.network').is_symlink()
    assert guest.read('etc/real.network') == '[Match]\nMACAddress=%s\n' % NEW


def test_name_match_that_the_new_nic_misses_is_reported(guest):
    guest.write('sys/class/net/ens3/address', '00:00:00:00:00:01\n')
    guest.write('sys/class/net/ens7/address', NEW + '\n')
    done = rebind(guest)
    assert done.returncode == 0
    assert 'Name=ens3 but %s is ens7' % NEW in done.stderr


def test_nothing_to_rebind_is_no_failure(guest):
    guest.path('etc/systemd/network/10-cloud-init-ens3.network').unlink()
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    assert lines(done, 'network-config') == ['nothing bound to the old MACs']


# --- rebind: identity -------------------------------------------------------------

def test_machine_id_changes_and_dbus_symlink_is_left(guest):
    done = rebind(guest, '--seed', SEED.hex())
    assert done.returncode == 0, done.stderr
    new_id = guest.read('etc/machine-id').strip()
    assert len(new_id) == 32 and set(new_id) <= set('0123456789abcdef')
    assert new_id != OLD_ID
    assert new_id[12] == '4' and new_id[16] in '89ab'  # shaped as a v4 UUID
    assert stat.S_IMODE(guest.path('etc/machine-id').stat().st_mode) == 0o444
    assert os.readlink(guest.path('var/lib/dbus/machine-id')) == '/etc/machine-id'
    assert lines(done, 'machine-id') == ['changed']
    assert lines(done, 'dbus-machine-id') == ['left (a symlink)']
    again = rebind(guest, '--seed', SEED.hex())
    assert guest.read('etc/machine-id').strip() != new_id, again.stderr


def test_dbus_machine_id_file_gets_the_same_id(guest):
    guest.path('var/lib/dbus/machine-id').unlink()
    guest.write('var/lib/dbus/machine-id', OLD_ID + '\n')
    assert rebind(guest).returncode == 0
    assert guest.read('var/lib/dbus/machine-id') == guest.read('etc/machine-id')
    assert guest.read('etc/machine-id').strip() != OLD_ID


def test_machine_id_from_the_kernel_uuid_without_od(guest):
    (guest.tools / 'od').unlink()
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    assert guest.read('etc/machine-id') == '7c9e6679742540de944be07fc1f90ae7\n'


def test_machine_id_not_written_fails(guest):
    guest.path('etc/machine-id').unlink()
    guest.path('etc/machine-id').mkdir()
    done = rebind(guest)
    assert done.returncode == 1
    assert 'machine-id' in done.stderr


def test_networkd_restarted_after_the_files_and_the_machine_id(guest):
    network = guest.path('etc/systemd/network/10-cloud-init-ens3.network')
    done = rebind(guest, FAKE_SNAPSHOT='%s:%s' % (network, guest.path('etc/machine-id')))
    assert done.returncode == 0, done.stderr
    restarts = [e for e in guest.calls('systemctl')
                if e['args'] == ['restart', 'systemd-networkd']]
    assert len(restarts) == 1
    seen = restarts[0]['snapshot']
    assert 'MACAddress=%s' % NEW in seen[str(network)]
    assert seen[str(guest.path('etc/machine-id'))].strip() != OLD_ID


def test_networkd_not_restarted_when_inactive(guest):
    assert rebind(guest, FAKE_ACTIVE='').returncode == 0
    assert ['restart', 'systemd-networkd'] not in guest.argvs('systemctl')


def test_dhcp_leases_removed_and_networkmanager_reloaded(guest):
    guest.write('var/lib/dhcp/dhclient.ens3.leases', 'default-duid "\\000\\001";\n')
    guest.write('var/lib/NetworkManager/internal-x-ens3.lease', 'ADDRESS=10.0.0.7\n')
    guest.write('var/lib/NetworkManager/secret_key', 'k')
    done = rebind(guest, FAKE_ACTIVE='NetworkManager')
    assert done.returncode == 0, done.stderr
    assert not guest.path('var/lib/dhcp/dhclient.ens3.leases').exists()
    assert not guest.path('var/lib/NetworkManager/internal-x-ens3.lease').exists()
    assert guest.path('var/lib/NetworkManager/secret_key').exists()
    assert ['connection', 'reload'] in guest.argvs('nmcli')


def test_rng_reseeded_with_python(guest):
    done = rebind(guest, '--seed', SEED.hex())
    assert done.returncode == 0, done.stderr
    (argv,) = guest.argvs('python3')
    assert argv[:3] == ['-I', '-S', '-c'] and argv[4:] == [SEED.hex()]
    assert 'RNDADDENTROPY' in argv[3]
    assert lines(done, 'rng') == ['reseeded (ioctl)']


def test_rng_mixed_without_python(guest):
    guest.remove('python3')
    done = rebind(guest, '--seed', SEED.hex())
    assert done.returncode == 0, done.stderr
    assert lines(done, 'rng') == ['mixed (no python3)']


def test_no_python_when_the_kernel_reseeded_on_the_new_genid(guest):
    guest.write('sys/bus/acpi/drivers/vmgenid/uevent', '')
    done = rebind(guest, '--seed', SEED.hex(), '--genid-changed')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('python3') == []
    assert lines(done, 'rng') == ['mixed (the kernel reseeded on the new VM generation ID)']


def test_a_new_genid_without_the_vmgenid_driver_still_reseeds(guest):
    done = rebind(guest, '--seed', SEED.hex(), '--genid-changed')
    assert lines(done, 'rng') == ['reseeded (ioctl)']


def test_rng_mixed_when_the_ioctl_fails(guest):
    done = rebind(guest, '--seed', SEED.hex(), FAKE_RC_PYTHON3='1')
    assert lines(done, 'rng') == ['mixed (ioctl failed)']


def test_rng_program_packs_rand_pool_info(guest):
    """The python program the script runs, with fcntl and os stubbed."""
    rebind(guest, '--seed', SEED.hex())
    (argv,) = guest.argvs('python3')
    stub = '''
import fcntl, os, sys
calls = []
os.open = lambda path, flags: calls.append(('open', path, flags)) or 7
os.close = lambda fd: calls.append(('close', fd))
fcntl.ioctl = lambda fd, req, arg=0: calls.append(('ioctl', fd, req, arg))
sys.argv = ['-c', sys.argv[1]]
exec(compile(sys.stdin.read(), '<rng>', 'exec'))
print(repr(calls))
'''
    done = subprocess.run([sys.executable, '-c', stub, argv[4]], input=argv[3],
                          capture_output=True, text=True, check=True)
    calls = ast.literal_eval(done.stdout)
    assert calls[0] == ('open', '/dev/urandom', os.O_WRONLY)
    assert calls[1] == ('ioctl', 7, 0x40085203,
                        struct.pack('ii', 8 * len(SEED), len(SEED)) + SEED)
    assert calls[2] == ('ioctl', 7, 0x5207, 0)
    assert calls[3] == ('close', 7)


def test_random_seed_rewritten_same_size_and_mode(guest):
    guest.write('var/lib/systemd/random-seed', '\0' * 512, 0o600)
    done = rebind(guest)
    assert done.returncode == 0, done.stderr
    data = guest.path('var/lib/systemd/random-seed').read_bytes()
    assert len(data) == 512 and data != b'\0' * 512
    assert stat.S_IMODE(guest.path('var/lib/systemd/random-seed').stat().st_mode) == 0o600


def test_hostname_with_hostnamectl_and_hosts_updated(guest):
    guest.write('etc/hostname', 'web-1\n')
    guest.write('etc/hosts', '127.0.0.1 localhost\n127.0.1.1 web-1.example.com web-1\n'
                '10.0.0.9 web-1-db\n')
    done = rebind(guest, '--hostname', 'web-2.example.com')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('hostnamectl') == [['set-hostname', 'web-2.example.com']]
    assert guest.read('etc/hosts') == ('127.0.0.1 localhost\n'
                                       '127.0.1.1 web-2.example.com web-2\n'
                                       '10.0.0.9 web-1-db\n')
    assert lines(done, 'hostname') == ['web-2.example.com']


def test_hostname_without_systemd(guest):
    shutil.rmtree(guest.path('run/systemd'))
    guest.remove('hostname')
    guest.write('etc/hostname', 'web-1\n')
    done = rebind(guest, '--hostname', 'web-2')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('hostnamectl') == []
    assert guest.read('etc/hostname') == 'web-2\n'
    assert guest.read('proc/sys/kernel/hostname') == 'web-2'


def test_hostname_command_used_when_there(guest):
    shutil.rmtree(guest.path('run/systemd'))
    assert rebind(guest, '--hostname', 'web-2').returncode == 0
    assert guest.argvs('hostname') == [['web-2']]


def test_ssh_host_keys_only_with_the_flag(guest):
    for kind in ('ed25519', 'rsa'):
        guest.write('etc/ssh/ssh_host_%s_key' % kind, 'old\n', 0o600)
        guest.write('etc/ssh/ssh_host_%s_key.pub' % kind, 'old\n')
    guest.write('etc/ssh/sshd_config', 'old\n')
    assert rebind(guest).returncode == 0
    assert guest.argvs('ssh-keygen') == []
    assert guest.read('etc/ssh/ssh_host_rsa_key') == 'old\n'

    done = rebind(guest, '--ssh-host-keys')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('ssh-keygen') == [['-A', '-f', str(guest.root)]]
    for kind in ('ed25519', 'rsa', 'ecdsa'):
        assert guest.read('etc/ssh/ssh_host_%s_key' % kind) == 'new\n'
        assert guest.read('etc/ssh/ssh_host_%s_key.pub' % kind) == 'new\n'
    assert guest.read('etc/ssh/sshd_config') == 'old\n'
    assert not list(guest.path('etc/ssh').glob('*clone-old'))
    assert ['try-reload-or-restart', 'ssh'] in guest.argvs('systemctl')
    assert lines(done, 'ssh-host-keys') == ['regenerated']


def test_ssh_keygen_failure_puts_the_old_keys_back(guest):
    guest.write('etc/ssh/ssh_host_ed25519_key', 'old\n', 0o600)
    done = rebind(guest, '--ssh-host-keys', FAKE_SSH_KEYGEN_FAIL='1')
    assert done.returncode == 0
    assert guest.read('etc/ssh/ssh_host_ed25519_key') == 'old\n'
    assert 'old keys are back' in done.stderr


def _cloud(guest):
    inst = 'var/lib/cloud/instances/' + SOURCE_IID
    guest.write(inst + '/sem/config_ssh', 'done\n')
    guest.write(inst + '/sem/consume_data', 'done\n')
    guest.write(inst + '/user-data.txt', '#cloud-config\n')
    guest.write(inst + '/obj.pkl', 'pickle')
    guest.write('var/lib/cloud/data/instance-id', SOURCE_IID + '\n')
    guest.write('var/lib/cloud/data/previous-instance-id', 'iid-datasource-none\n')
    guest.path('var/lib/cloud/instance').symlink_to('/var/lib/cloud/instances/' + SOURCE_IID)
    return inst


def test_cloud_init_keep_records_the_new_instance(guest):
    inst = _cloud(guest)
    done = rebind(guest, '--cloud-init', 'keep', '--instance-id', CLONE_IID)
    assert done.returncode == 0, done.stderr
    new = 'var/lib/cloud/instances/' + CLONE_IID
    assert guest.read(new + '/sem/config_ssh') == 'done\n'
    assert guest.read(new + '/sem/consume_data') == 'done\n'
    assert guest.read(new + '/user-data.txt') == '#cloud-config\n'
    assert not guest.path(new + '/obj.pkl').exists()
    assert guest.read(inst + '/obj.pkl') == 'pickle'  # the source's stays
    assert os.readlink(guest.path('var/lib/cloud/instance')) == '/' + new
    assert guest.read('var/lib/cloud/data/instance-id') == CLONE_IID + '\n'
    assert guest.read('var/lib/cloud/data/previous-instance-id') == SOURCE_IID + '\n'
    assert lines(done, 'cloud-init') == [
        'kept (instance %s recorded as %s)' % (SOURCE_IID, CLONE_IID)]


def test_cloud_init_keep_is_the_default(guest):
    _cloud(guest)
    assert rebind(guest, '--instance-id', CLONE_IID).returncode == 0
    assert guest.read('var/lib/cloud/data/instance-id') == CLONE_IID + '\n'


def test_cloud_init_new_leaves_it(guest):
    _cloud(guest)
    before = tree(guest.path('var/lib/cloud'))
    done = rebind(guest, '--cloud-init', 'new')
    assert done.returncode == 0, done.stderr
    assert tree(guest.path('var/lib/cloud')) == before
    assert lines(done, 'cloud-init')[0].startswith('new instance at next boot')


# --- arguments ----------------------------------------------------------------------

BAD = [
    [],
    ['reboot', '--mac', '%s=%s' % (OLD, NEW)],
    ['online'],
    ['rebind', '--mac'],
    ['rebind', '--mac', OLD],
    ['rebind', '--mac', '%s=%s' % (OLD.upper(), NEW)],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW + '0')],
    ['rebind', '--mac', '%s=%s' % (OLD, 'fa:16:3e:ab:cd')],
    ['rebind', '--mac', '%s=%s' % (OLD, 'fa-16-3e-ab-cd-ef')],
    ['rebind', '--mac', '%s=%s' % (OLD, OLD)],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--mac', '%s=%s' % (OTHER, NEW)],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--mac', '%s=%s' % (NEW, OTHER)],
    ['rebind', '--mac', '%s=%s;reboot' % (OLD, NEW)],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', '-web'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'web_2'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'web..example'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'web.'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'a' * 64],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', '.'.join(['a' * 63] * 4)],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'web 2'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', ''],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--seed', 'xyz0'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--seed', 'abc'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--seed', '00' * 257],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--seed', ''],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--cloud-init', 'maybe'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--instance-id', '../../etc'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--instance-id', 'a' * 65],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--cloud-init', 'new', '--instance-id', 'x'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'a', '--hostname', 'b'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), '--reboot'],
    ['rebind', '--mac', '%s=%s' % (OLD, NEW), 'extra'],
    ['online', '--mac', '%s=%s' % (OLD, NEW), '--hostname', 'web-2'],
    ['online', '--mac', '%s=%s' % (OLD, NEW), '--ssh-host-keys'],
    ['online'],
]


@pytest.mark.parametrize('args', BAD, ids=lambda a: ' '.join(a)[:60] or 'none')
def test_bad_arguments_exit_2_and_change_nothing(guest, args):
    _cloud(guest)
    guest.write('etc/ssh/ssh_host_rsa_key', 'old\n')
    before = tree(guest.root)
    done = guest.run(*args, '--seed', '00' * 8)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ''
    assert done.stderr.startswith('usage: ')
    assert tree(guest.root) == before
    assert guest.calls() == []


@pytest.mark.parametrize('args', BAD[::4], ids=lambda a: ' '.join(a)[:60] or 'none')
def test_busybox_bad_arguments_exit_2_and_change_nothing(busybox_guest, args):
    before = tree(busybox_guest.root)
    done = busybox_guest.run(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert tree(busybox_guest.root) == before
    assert busybox_guest.calls() == []


def test_busybox_rebind(busybox_guest):
    guest = busybox_guest
    _cloud(guest)
    name = 'etc/NetworkManager/system-connections/Wired connection 1.nmconnection'
    guest.write(name, '[ethernet]\nmac-address=%s\n' % OLD.upper(), 0o600)
    guest.write('etc/netplan/50-cloud-init.yaml', 'macaddress: %s\n' % OLD)
    guest.write('etc/hostname', 'web-1\n')
    guest.write('etc/hosts', '127.0.1.1 web-1\n')
    guest.write('etc/ssh/ssh_host_rsa_key', 'old\n')
    done = rebind(guest, '--seed', SEED.hex(), '--hostname', 'web-2', '--ssh-host-keys',
                  '--instance-id', CLONE_IID)
    assert done.returncode == 0, done.stderr
    text = guest.read('etc/systemd/network/10-cloud-init-ens3.network')
    assert 'MACAddress=%s\n' % NEW in text
    assert '# not whole MACs: ff:%s, %s:01, %s0\n' % (OLD, OLD, OLD) in text
    assert 'mac-address=%s\n' % NEW.upper() in guest.read(name)
    assert guest.read('etc/netplan/50-cloud-init.yaml') == 'macaddress: %s\n' % NEW
    new_id = guest.read('etc/machine-id').strip()
    assert len(new_id) == 32 and new_id != OLD_ID
    assert guest.argvs('hostnamectl') == [['set-hostname', 'web-2']]
    assert guest.read('etc/hosts') == '127.0.1.1 web-2\n'
    assert guest.read('etc/ssh/ssh_host_rsa_key') == 'new\n'
    assert guest.read('var/lib/cloud/data/instance-id') == CLONE_IID + '\n'
    assert ['restart', 'systemd-networkd'] in guest.argvs('systemctl')


def test_good_arguments_at_their_limits(guest):
    done = rebind(guest, '--hostname', '.'.join(['a' * 63] * 3 + ['b' * 61]),
                  '--seed', 'aB' * 256, '--instance-id', 'i' * 64)
    assert done.returncode == 0, done.stderr


# --- online -----------------------------------------------------------------------

IP_ADDR = ('1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n'
           '3: ens3    inet 10.0.0.7/24 brd 10.0.0.255 scope global dynamic ens3\\'
           '       valid_lft 86313sec preferred_lft 86313sec\n')


def test_online_reconfigures_the_interface_and_prints_its_address(guest):
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR)
    assert done.returncode == 0, done.stderr
    assert guest.argvs('networkctl') == [['reconfigure', 'ens3']]
    assert ['neigh', 'flush', 'all'] in guest.argvs('ip')
    assert lines(done, 'interface') == ['%s ens3' % NEW]
    assert lines(done, 'address') == ['ens3 10.0.0.7']
    assert guest.argvs('arping') == [['-U', '-c', '1', '-I', 'ens3', '10.0.0.7']]
    assert lines(done, 'announce') == ['ens3 10.0.0.7 (arping)']


def test_online_with_networkmanager(guest):
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR,
                     FAKE_ACTIVE='NetworkManager')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('networkctl') == []
    assert ['device', 'connect', 'ens3'] in guest.argvs('nmcli')


def test_online_with_networkmanager_without_systemd(guest):
    shutil.rmtree(guest.path('run/systemd'))
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR,
                     FAKE_ACTIVE='NetworkManager')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('systemctl') == []
    assert ['-t', '-f', 'RUNNING', 'general'] in guest.argvs('nmcli')
    assert ['device', 'connect', 'ens3'] in guest.argvs('nmcli')


def test_online_with_ifupdown(guest):
    guest.write('etc/network/interfaces', 'auto ens3\niface ens3 inet dhcp\n')
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR,
                     FAKE_ACTIVE='')
    assert done.returncode == 0, done.stderr
    assert guest.argvs('ifup') == [['ens3']]


def test_online_announces_with_python_without_arping(guest):
    guest.remove('arping')
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR)
    assert done.returncode == 0, done.stderr
    (argv,) = guest.argvs('python3')
    assert argv[4:] == ['ens3', NEW, '10.0.0.7']
    assert 'AF_PACKET' in argv[3]
    assert lines(done, 'announce') == ['ens3 10.0.0.7 (gratuitous ARP)']

    guest.remove('python3')
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR)
    assert lines(done, 'announce') == ['skipped (no arping or python3)']


def test_arp_program_sends_a_gratuitous_arp(guest):
    guest.remove('arping')
    guest.run('online', '--mac', '%s=%s' % (OLD, NEW), FAKE_IP_ADDR=IP_ADDR)
    (argv,) = guest.argvs('python3')
    stub = '''
import socket, sys
sent = []
class Sock:
    def __init__(self, family, kind):
        sent.append((int(family), int(kind)))
    def bind(self, addr):
        sent.append(addr)
    def send(self, frame):
        sent.append(frame)
    def close(self):
        pass
socket.socket = Sock
sys.argv = ['-c'] + sys.argv[1:]
exec(compile(sys.stdin.read(), '<arp>', 'exec'))
print(repr(sent))
'''
    done = subprocess.run([sys.executable, '-c', stub] + argv[4:], input=argv[3],
                          capture_output=True, text=True, check=True)
    family, addr, frame = ast.literal_eval(done.stdout)
    assert family == (socket.AF_PACKET, socket.SOCK_RAW)
    assert addr == ('ens3', 0)
    hw = bytes.fromhex(NEW.replace(':', ''))
    ip = bytes([10, 0, 0, 7])
    assert frame == (b'\xff' * 6 + hw + b'\x08\x06' + b'\x00\x01\x08\x00\x06\x04\x00\x01'
                     + hw + ip + b'\x00' * 6 + ip)


def test_online_without_address_waits_three_seconds_at_most(guest):
    guest.path('proc/uptime').symlink_to('/proc/uptime')
    start = time.monotonic()
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW))
    took = time.monotonic() - start
    assert done.returncode == 0
    assert 'no IPv4 address on ens3 within 3 s' in done.stderr
    assert lines(done, 'address') == []
    assert guest.argvs('arping') == []
    assert 2.9 < took < 4.5


def test_online_wait_is_bounded_without_uptime_too(guest):
    """Without /proc/uptime it polls 30 times after the first look."""
    done = guest.run('online', '--mac', '%s=%s' % (OLD, NEW))
    assert done.returncode == 0
    assert len([a for a in guest.argvs('ip') if 'addr' in a]) == 31


def test_online_without_the_nic_fails(guest):
    done = guest.run('online', '--mac', '%s=%s' % (OTHER, '02:00:00:00:00:09'))
    assert done.returncode == 1
    assert 'no interface has 02:00:00:00:00:09' in done.stderr
    assert guest.calls('networkctl') == []


def test_rebind_is_fast(guest):
    """No waits in rebind: the fakes' python start-ups dominate here."""
    start = time.monotonic()
    assert rebind(guest, '--seed', SEED.hex(), '--hostname', 'web-2').returncode == 0
    assert time.monotonic() - start < 5


# --- the Python helper ----------------------------------------------------------------

def test_script_text_is_the_shipped_file():
    path = pathlib.Path(cis.__file__).parent / 'files' / 'clone-identity.sh'
    assert cis.script_text() == path.read_text()
    assert cis.script_text().startswith('#!/bin/sh\n')
    assert len(cis.script_text().encode()) < cis.MAX_ARG_BYTES
    args = cis.exec_args(['online', '--mac', '%s=%s' % (OLD, NEW)])
    assert args[:3] == ['-c', cis.script_text(), 'clone-identity']
    assert args[3:] == ['online', '--mac', '%s=%s' % (OLD, NEW)]


def test_rebind_args():
    assert cis.rebind_args({OLD.upper(): NEW, OTHER: '02:00:00:00:00:01'}, 'web-2.example',
                           b'\x00\xff', True, 'keep', CLONE_IID) == [
        'rebind', '--mac', '%s=%s' % (OLD, NEW), '--mac', '%s=02:00:00:00:00:01' % OTHER,
        '--hostname', 'web-2.example', '--seed', '00ff', '--ssh-host-keys',
        '--cloud-init', 'keep', '--instance-id', CLONE_IID]
    assert cis.rebind_args({OLD: NEW}, None, b'', False, 'new', None) == [
        'rebind', '--mac', '%s=%s' % (OLD, NEW), '--cloud-init', 'new']


def test_rebind_args_without_nics():
    # a clone without NICs still gets a new machine-id, seed and host name
    assert cis.rebind_args({}, 'web-2', b'', False, 'keep', None) == [
        'rebind', '--hostname', 'web-2', '--cloud-init', 'keep']


@pytest.mark.parametrize('kwargs', [
    {'macs': {OLD: 'nope'}},
    {'macs': {OLD: OLD}},
    {'macs': {OLD: NEW, OTHER: NEW}},
    {'hostname': 'web_2'},
    {'hostname': 'a' * 64},
    {'hostname': '-a'},
    {'hostname': ''},
    {'seed': b'\0' * 257},
    {'cloud_init': 'maybe'},
    {'cloud_init': 'new', 'instance_id': 'x'},
    {'instance_id': '../x'},
    {'instance_id': 'a' * 65},
])
def test_rebind_args_refuses(kwargs):
    args = dict(macs={OLD: NEW}, hostname=None, seed=b'', ssh_host_keys=False,
                cloud_init='keep', instance_id=None)
    args.update(kwargs)
    with pytest.raises(ValueError):
        cis.rebind_args(**args)


def test_online_args():
    assert cis.online_args({OLD: NEW}) == ['online', '--mac', '%s=%s' % (OLD, NEW)]
    with pytest.raises(ValueError):
        cis.online_args({})


def test_the_helper_and_the_script_agree(tmp_path):
    """What rebind_args builds, the script takes."""
    guest = Guest(tmp_path, SHELLS[0])
    guest.write('etc/machine-id', OLD_ID + '\n')
    done = guest.run(*cis.rebind_args({OLD: NEW}, 'a' * 63, os.urandom(256), True, 'keep',
                                      'i' * 64))
    assert done.returncode == 0, done.stderr


def test_rebind_args_say_when_the_genid_changed():
    args = cis.rebind_args({OLD: NEW}, None, b'\1', False, 'new', None, genid_changed=True)
    assert args[-1] == '--genid-changed'
    assert '--genid-changed' not in cis.rebind_args({OLD: NEW}, None, b'\1', False, 'new',
                                                    None)
