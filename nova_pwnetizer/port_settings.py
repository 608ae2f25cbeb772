"""What a clone's port takes from its own source port.

Nova makes a clone's ports from the clone action's network requests: one
per source port, on the same network, in the guest's order, and with one
list of security groups for the whole server (Nova's create takes no
more).  Before the clone runs, its target host sets each clone port to
what its source port has (``virt/clone_spawn``): its security groups, its
port security, its QoS policy and its subnets (with addresses of its
own); and its allowed address pairs only when the clone request asked for
them, since they let a port claim addresses that are not its own (the
source's virtual IPs).  The MAC and the addresses stay the clone's.
"""

import typing

#: the fields mirrored as they are
MIRRORED = ('security_groups', 'port_security_enabled', 'qos_policy_id')


class Mismatch(Exception):
    """A clone port that does not pair with its source port."""


def guest_order(vif_ids: typing.Sequence[str], ports: typing.Iterable[dict]) -> list:
    """``ports`` in the order of ``vif_ids`` (an instance's NICs, from its
    network info cache); the ports it does not name last, in the given
    order."""
    position = {vif: index for index, vif in enumerate(vif_ids)}
    return sorted(ports, key=lambda port: position.get(port['id'], len(position)))


def vif_ids(instance) -> list:
    """The port ids of ``instance``'s NICs in the guest's order (empty when
    its network info cache is not loaded)."""
    try:
        return [vif['id'] for vif in instance.info_cache.network_info]
    except Exception:   # no or no loaded cache
        return []


def nics_of(instance, ports: typing.Iterable[dict]) -> list:
    """The ports among ``ports`` that are ``instance``'s own NICs, in the
    guest's order: those its network info names, of its project and bound
    to it by Nova.  A port that only names the instance as its device is
    not one: any project that may make ports on a network can set that."""
    vifs = vif_ids(instance)
    own = [p for p in ports if p.get('id') in vifs
           and p.get('project_id', p.get('tenant_id')) == instance.project_id
           and str(p.get('device_owner') or '').startswith('compute:')]
    return guest_order(vifs, own)


def _subnets(port: dict) -> list:
    return sorted({ip['subnet_id'] for ip in port.get('fixed_ips') or []})


def changes(source_port: dict, clone_port: dict, address_pairs: bool = False) -> dict:
    """The Neutron port update that gives ``clone_port`` the settings of
    ``source_port`` (empty when it has them); raises :class:`Mismatch` for
    ports of different networks."""
    if source_port.get('network_id') != clone_port.get('network_id'):
        raise Mismatch('port %s of the clone is on network %s, its source port %s on %s'
                       % (clone_port.get('id'), clone_port.get('network_id'),
                          source_port.get('id'), source_port.get('network_id')))
    update = {}
    for field in MIRRORED:
        if field in source_port and source_port[field] != clone_port.get(field):
            update[field] = source_port[field]
    if sorted(update.get('security_groups', ())) == sorted(
            clone_port.get('security_groups') or ()):
        update.pop('security_groups', None)
    if update.get('port_security_enabled') is False:
        # Neutron refuses groups on a port without port security
        update['security_groups'] = []
    wanted = _subnets(source_port)
    if wanted and wanted != _subnets(clone_port):
        update['fixed_ips'] = [{'subnet_id': subnet} for subnet in wanted]
    if address_pairs:
        pairs = [_pair(pair, source_port.get('mac_address'))
                 for pair in source_port.get('allowed_address_pairs') or []]
        theirs = [_pair(pair, clone_port.get('mac_address'))
                  for pair in clone_port.get('allowed_address_pairs') or []]
        if pairs != theirs:
            update['allowed_address_pairs'] = pairs
    return update


def _pair(pair: dict, own_mac: typing.Optional[str]) -> dict:
    """An allowed address pair as a port update sets it: the port's own MAC
    (Neutron's default) left out, so that a clone's pair has the clone's."""
    found = {'ip_address': pair['ip_address']}
    if pair.get('mac_address') and pair['mac_address'] != own_mac:
        found['mac_address'] = pair['mac_address']
    return found
