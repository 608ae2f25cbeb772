"""Options of the Nova integration (API action, scheduler, compute driver),
group [pwnetizer]."""

from oslo_config import cfg

from nova_pwnetizer.conf import engine

GROUP = engine.GROUP

#: the default of max_clones_per_request (clients that cannot read the
#: cloud's setting assume it)
MAX_CLONES_PER_REQUEST_DEFAULT = 8

OPTS = [
    cfg.StrOpt('clone_secret', secret=True,
               help='Secret shared by nova-api, nova-scheduler and the compute hosts '
                    'that run the pwnetizer driver. The API signs each clone '
                    'contract and clone placement with it; the scheduler and the '
                    'compute hosts refuse what does not verify. At least 32 '
                    'characters, random (e.g. "openssl rand -hex 32"): while it is '
                    'unset, shorter or a well-known default, clone actions are '
                    'refused with 409 and an error is logged. To rotate it, set '
                    'the new secret everywhere with the old one in '
                    'clone_secret_previous, then remove the old one once every '
                    'clone made before has finished (contract_ttl at most).'),
    cfg.ListOpt('clone_secret_previous', default=[], secret=True,
                help='Earlier values of clone_secret whose signatures are still '
                     'accepted, during a rotation; nothing is signed with them.'),
    cfg.StrOpt('contract_version', choices=('1.0', '1.1'),
               help='The version of the clone contract nova-api signs; unset, its '
                    'newest. During a rolling upgrade, pin it to the version the '
                    'oldest compute host reads (its release notes say), so that '
                    'every host reads every field of it; unset it once all are '
                    'upgraded. A host reads a newer contract too, without the '
                    'fields it does not know.'),
    cfg.IntOpt('contract_ttl', default=3600, min=60,
               help='Seconds a clone contract (and its placement) is valid after '
                    'the API made it: a clone that has not started on its host '
                    'by then is refused.'),
    cfg.IntOpt('max_clones_per_request', default=MAX_CLONES_PER_REQUEST_DEFAULT, min=1, max=64,
               help='Largest "count" one clone action may ask for.'),
    cfg.IntOpt('max_clones_in_flight_per_server', default=8, min=1,
               help='Most clones of one server that may be building at once. A '
                    'source is cloned one clone at a time, and each clone waiting '
                    'for it holds one of its target host\'s max_concurrent_builds '
                    'slots: a request that would pass this is refused (409).'),
    cfg.IntOpt('max_clones_in_flight_per_project', default=16, min=1,
               help='Most clones one project may have building at once, across '
                    'its servers (409 past it), so that one tenant cannot hold '
                    'many hosts\' build slots with waiting clones.'),
    cfg.FloatOpt('family_weight_multiplier', default=1.0,
                 help='Multiplier of the CloneFamilyWeigher: positive spreads a '
                      'clone family over hosts (or packs it for placement "pack"), '
                      'negative does the opposite, 0 turns it off.'),
    cfg.StrOpt('source_uri_template', default='qemu+tcp://%s/system',
               help='libvirt URI of a source host\'s libvirtd, as the target compute '
                    'host opens it to pull a clone; %s is the source host\'s '
                    'migration address (its [libvirt] live_migration_inbound_addr, '
                    'else its host name). Like [libvirt] live_migration_uri.'),
    cfg.BoolOpt('clone_guardian', default=True,
                help='Watch each clone from a small separate process that undoes it '
                     '(source resumed, clone and its files removed) if nova-compute '
                     'is killed in the middle of it.'),
    cfg.StrOpt('rpc_topic', default='pwnetizer',
               help='oslo.messaging topic of the clone coordination endpoint each '
                    'compute host serves (the server is the host name).'),
    cfg.IntOpt('rpc_timeout', default=60, min=1,
               help='Seconds a compute host waits for an answer of another compute '
                    'host\'s clone endpoint.'),
    cfg.StrOpt('fanout', default='tree', choices=[
                   ('tree', 'the clones of one request form a doubling tree: the '
                            'first is cloned from the source (its only pause), and '
                            'each later one from an earlier clone once that one is '
                            'ACTIVE, so N clones take 1 + ceil(log2 N) rounds'),
                   ('source', 'every clone is cloned from the source, one after '
                              'the other (N pauses of the source)')],
               help='How the clones of one clone request (count above 1) are made.'),
]


UPGRADE_LEVELS_GROUP = 'upgrade_levels'
UPGRADE_LEVELS_OPTS = [
    cfg.StrOpt('pwnetizer',
               help='The highest version of the clone coordination RPC API (topic '
                    '[pwnetizer] rpc_topic) that this host sends, during a rolling '
                    'upgrade of the compute hosts; unset: the newest.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)
    conf.register_opts(UPGRADE_LEVELS_OPTS, group=UPGRADE_LEVELS_GROUP)
