"""Define and boot test guests on a libvirt host."""

import dataclasses
import json
import os
import subprocess

from nova_pwnetizer.testguest import agent as agent_mod
from nova_pwnetizer.testguest import console as console_mod
from nova_pwnetizer.virt.randomize import support

DEFAULT_BRIDGE = os.environ.get('PWN_BRIDGE', 'pwnbr0')
DEFAULT_WORKDIR = os.environ.get('PWN_WORKDIR', '/var/lib/pwnetizer/guests')

_DISK_TARGETS = {'virtio': 'vda', 'scsi': 'sda', 'sata': 'sda', 'ide': 'hda'}

# Every device model the test guest has a driver for (files/build-guest.sh).
GUEST_SUPPORT = {
    'nic': ['virtio', 'e1000', 'e1000e', 'rtl8139', 'ne2k_pci', 'pcnet', 'vmxnet3'],
    'disk_bus': ['virtio', 'scsi', 'sata', 'ide'],
    'video': ['vga', 'cirrus', 'virtio', 'qxl', 'bochs'],
    'input': ['usb-tablet', 'virtio-tablet', 'ps2'],
    'usb': ['piix3-uhci', 'piix4-uhci', 'ich9-ehci1', 'qemu-xhci', 'nec-xhci'],
}


@dataclasses.dataclass
class GuestSpec:
    name: str
    memory_mib: int = 256
    vcpus: int = 1
    machine: str = 'pc'
    domain_type: str = 'qemu'
    disk_bus: str = 'virtio'
    disk_format: str = 'overlay'   # overlay (qcow2 on the base), qcow2, raw
    nic_model: str = 'virtio'
    nics: int = 1
    bridge: str = DEFAULT_BRIDGE
    tick_ms: int = 100
    genid: bool = True
    extra_devices: str = ''
    extra_xml: str = ''            # top-level elements, e.g. <memoryBacking>
    prefill_mib: int = 0           # data written past the records before boot
    video: str = None              # e.g. 'vga'; None: no video device
    usb: str = None                # USB controller model; None: libvirt's default
    tablet: str = None             # 'usb' or 'virtio'; None: PS/2 only
    declare_support: bool = True   # declare GUEST_SUPPORT for randomization


def paths(workdir, name):
    """(disk, console, agent socket) of the test guest ``name``."""
    return (os.path.join(workdir, name + '.qcow2'),
            os.path.join(workdir, name + '.console'),
            os.path.join(workdir, name + '.agent.sock'))


def _disk_path(workdir, spec):
    disk = paths(workdir, spec.name)[0]
    return disk[:-len('.qcow2')] + '.raw' if spec.disk_format == 'raw' else disk


def _cmdline(spec):
    return ('console=ttyS0 loglevel=5 pwn.tick_us=%d pwn.hostname=%s'
            % (spec.tick_ms * 1000, spec.name))


def domain_xml(spec, image, workdir):
    disk, console, agent = paths(workdir, spec.name)
    disk = _disk_path(workdir, spec)
    fmt = 'raw' if spec.disk_format == 'raw' else 'qcow2'
    controller = ("<controller type='scsi' model='virtio-scsi'/>"
                  if spec.disk_bus == 'scsi' else '')
    extra = ''
    if spec.video:
        extra += "<video><model type='%s'/></video>" % spec.video
    if spec.usb:
        extra += "<controller type='usb' model='%s'/>" % spec.usb
    if spec.tablet:
        extra += "<input type='tablet' bus='%s'/>" % spec.tablet
    metadata = ('<metadata>%s</metadata>' % support.to_xml(GUEST_SUPPORT)
                if spec.declare_support else '')
    nics = ''.join(
        "<interface type='bridge'><source bridge='%s'/><model type='%s'/></interface>"
        % (spec.bridge, spec.nic_model) for _ in range(spec.nics))
    return f"""<domain type='{spec.domain_type}'>
  <name>{spec.name}</name>
  <memory unit='MiB'>{spec.memory_mib}</memory>
  <vcpu>{spec.vcpus}</vcpu>
  {'<genid/>' if spec.genid else ''}
  {metadata}
  <os>
    <type arch='x86_64' machine='{spec.machine}'>hvm</type>
    <kernel>{image.kernel}</kernel>
    <initrd>{image.initrd}</initrd>
    <cmdline>{_cmdline(spec)}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_crash>preserve</on_crash>
  {spec.extra_xml}
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='{fmt}' cache='none'/>
      <source file='{disk}'/>
      <target dev='{_DISK_TARGETS[spec.disk_bus]}' bus='{spec.disk_bus}'/>
    </disk>
    {controller}
    {nics}
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='{agent}'/><target port='1'/></serial>
    <memballoon model='none'/>
    {extra}
    {spec.extra_devices}
  </devices>
</domain>"""


@dataclasses.dataclass
class TestGuest:
    """A running test guest and the host-side handles to watch it."""

    guest: object            # engine Guest
    console: console_mod.Console
    agent: agent_mod.Agent
    disk: str

    @classmethod
    def attach(cls, guest, workdir=DEFAULT_WORKDIR):
        """Handles for a test guest or one of its clones, from its live XML."""
        tree = guest.tree()
        console = tree.find("devices/serial[@type='file']/source").get('path')
        agent = tree.find("devices/serial[@type='unix']/source").get('path')
        disk = tree.find("devices/disk[@device='disk']/source").get('file')
        return cls(guest, console_mod.Console(console), agent_mod.Agent(agent), disk)


def create_disk(spec, image, workdir):
    path = _disk_path(workdir, spec)
    if spec.disk_format == 'overlay':
        cmd = ['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', image.base_disk,
               '-F', 'qcow2', path]
    else:
        size = str(_virtual_size(image.base_disk))
        cmd = ['qemu-img', 'create', '-q', '-f',
               'raw' if spec.disk_format == 'raw' else 'qcow2', path, size]
    subprocess.run(cmd, check=True)
    if spec.prefill_mib:
        # Past the workload's records (they start at sector 1).
        subprocess.run(['qemu-io', '-f', 'raw' if spec.disk_format == 'raw' else 'qcow2',
                        '-c', 'write -P 0xab 64M %dM' % spec.prefill_mib, path],
                       check=True, capture_output=True)
    return path


def _virtual_size(path):
    out = subprocess.run(['qemu-img', 'info', '--output=json', path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)['virtual-size']


def boot(host, spec, image, workdir=DEFAULT_WORKDIR, wait=True, timeout=120):
    """Define and start a test guest; wait for its first workload tick."""
    os.makedirs(workdir, exist_ok=True)
    _, console, _ = paths(workdir, spec.name)
    if os.path.exists(console):
        os.unlink(console)
    create_disk(spec, image, workdir)
    dom = host.conn.defineXML(domain_xml(spec, image, workdir))
    dom.create()
    test_guest = TestGuest.attach(host.lookup(spec.name), workdir)
    if wait:
        test_guest.console.wait_ticks(1, timeout=timeout)
    return test_guest


def remove(host, name, workdir=DEFAULT_WORKDIR):
    """Destroy and undefine a test guest and delete its files."""
    from nova_pwnetizer.virt.engine import exception
    try:
        guest = host.lookup(name)
    except exception.DomainNotFound:
        guest = None
    files = []
    if guest is not None:
        tree = guest.tree()
        files += [s.get('file') for s in tree.iterfind("devices/disk/source") if s.get('file')]
        files += [s.get('path') for s in tree.iterfind("devices/serial/source")
                  if s.get('path')]
        guest.destroy()
        guest.undefine()
    base = os.path.dirname(__file__)
    for path in files:
        if path and os.path.exists(path) and not path.startswith(base) \
                and '/guest-' not in path:
            os.unlink(path)
