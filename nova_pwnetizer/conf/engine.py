"""Options of the live clone engine, group [pwnetizer]."""

from oslo_config import cfg

GROUP = cfg.OptGroup('pwnetizer', title='Live clone engine',
                     help='How nova-pwnetizer clones running domains live.')

OPTS = [
    cfg.HostAddressOpt(
        'migration_address',
        help='Address of the target host that the source connects to for the '
             'memory and disk streams. Default: 127.0.0.1 for a clone on the '
             'same host, else the host name of the target libvirt URI.'),
    cfg.PortOpt('port_min', default=49152,
                help='Lowest TCP port the clone listens on for the streams.'),
    cfg.PortOpt('port_max', default=49215,
                help='Highest TCP port the clone listens on for the streams.'),
    cfg.IntOpt('downtime_limit_ms', default=50, min=1, max=60000,
               help='Longest pause of the source that QEMU may plan for the final '
                    'memory copy, in milliseconds.'),
    cfg.IntOpt('bandwidth_mib', default=0, min=0,
               help='Bandwidth cap of the memory copy in MiB/s; 0 means none.'),
    cfg.IntOpt('disk_bandwidth_mib', default=0, min=0,
               help='Bandwidth cap of the disk copy in MiB/s per disk; 0 means none.'),
    cfg.BoolOpt('auto_converge', default=True,
                help='Throttle the source vCPUs when the memory copy does not '
                     'converge (busy guests).'),
    cfg.BoolOpt('xbzrle', default=False,
                help='Send only the changed bytes of pages dirtied again (uses CPU '
                     'and a cache on both sides).'),
    cfg.StrOpt('disk_dir',
               help='Directory for the clone disks on the target host. Default: '
                    'the directory of each source disk.'),
    cfg.IntOpt('clone_timeout', default=600, min=1,
               help='Seconds any one wait of a clone may take (disk copy, memory '
                    'copy, switch-over) before the clone is rolled back.'),
    cfg.IntOpt('switchover_timeout', default=10, min=1,
               help='Seconds a wait may take while the source is paused at the '
                    'switch-over (finishing the disk copies, the final memory '
                    'copy); past it the clone is rolled back and the source '
                    'resumed.'),
    cfg.IntOpt('unplug_timeout', default=20, min=1,
               help='Seconds the guest has to release an inherited NIC.'),
    cfg.StrOpt('guest_step', default='auto', choices=[
        ('auto', "run the guest step when the clone's QEMU guest agent answers; "
                 "its NICs stay link-down until it ran"),
        ('off', 'never: the clone gets its NICs link-up at once')],
        help="The guest-side step that makes a clone itself: run through the "
             "clone's QEMU guest agent right after the switch-over, it rebinds "
             "the guest's network configuration to the clone's MACs, gives it a "
             "new machine-id (and DHCP DUID), reseeds its RNG from the host, "
             "sets its clock and host name, and renews its DHCP lease."),
    cfg.IntOpt('guest_step_timeout', default=60, min=1,
               help='Seconds the guest step may take in all; past it the '
                    "clone's links are set up anyway and the clone reports the "
                    'step failed.'),
    cfg.BoolOpt('guest_ssh_host_keys', default=False,
                help='Give each clone new SSH host keys in the guest step. Off by '
                     'default: clients that know the source keep trusting its '
                     'clones, as after a restore.'),
    cfg.StrOpt('guest_cloud_init', default='keep', choices=[
        ('keep', "the clone's instance id counts as initialised: its next boot "
                 "does not run the source's per-instance modules and user data "
                 "again"),
        ('new', "the clone's next boot is cloud-init's first boot of a new "
                "instance")],
        help='What the guest step tells cloud-init about the clone.'),
    cfg.BoolOpt('persistent', default=True,
                help='Define clones persistently (they survive a libvirtd restart '
                     'and can be started again).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)
