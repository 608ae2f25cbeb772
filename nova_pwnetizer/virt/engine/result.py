"""What a clone job reports: the clone's identity and measured figures."""

import dataclasses


@dataclasses.dataclass
class CloneResult:
    """Figures of one clone.  Times in seconds unless the name says ms."""

    name: str = None
    uuid: str = None
    source: str = None
    source_uuid: str = None
    target_uri: str = None
    family: str = None
    genid: str = None                  # the clone's VM generation ID; None: it has none
    downtime_ms: float = None          # as QEMU reports it
    source_paused_ms: float = None     # STOP to RESUME of the source (QEMU clock)
    source_stopped_at: float = None    # the STOP and RESUME (epoch s, QEMU clock)
    source_resumed_at: float = None
    switchover_ms: float = None        # pre-switchover event to source resumed
    switchover_steps: dict = dataclasses.field(default_factory=dict)  # name -> ms
    time_to_running: float = None      # start to clone CPUs running
    time_to_ready: float = None        # start to clone with own NICs, defined
    memory_bytes: int = 0
    disk_bytes: int = 0
    memory_total_bytes: int = 0
    disk_sync: dict = dataclasses.field(default_factory=dict)   # dev -> top/full
    phases: dict = dataclasses.field(default_factory=dict)      # name -> seconds
    nics: list = dataclasses.field(default_factory=list)        # old/new MAC, model
    devices: dict = dataclasses.field(default_factory=dict)     # class -> model
    nic_swap_s: float = None
    # the guest step (guest_step.GuestStepReport as a dict): status,
    # seconds, what the guest said
    guest_step: dict = dataclasses.field(default_factory=dict)
    persistent: bool = False
    running: bool = False
    warnings: list = dataclasses.field(default_factory=list)    # for its user to read

    def to_dict(self):
        return dataclasses.asdict(self)

    FIGURES = ('downtime_ms', 'source_paused_ms', 'switchover_ms', 'time_to_running',
               'time_to_ready', 'memory_bytes', 'disk_bytes', 'nic_swap_s')

    def figures(self):
        """The measured figures only (small enough to store with a server)."""
        figures = {k: getattr(self, k) for k in self.FIGURES}
        figures['phases'] = dict(self.phases)
        figures['devices'] = dict(self.devices)
        figures['switchover_steps'] = dict(self.switchover_steps)
        # whether the clone got a generation ID, not the value: the figures
        # are logged and sent to the source's host, and the value is what
        # tells the clone's RNG apart from its siblings'
        figures['new_genid'] = self.genid is not None
        figures['warnings'] = list(self.warnings)
        figures['guest_step'] = {k: self.guest_step[k] for k in ('status', 'seconds')
                                 if k in self.guest_step}
        return figures
