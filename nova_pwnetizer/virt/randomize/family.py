"""A clone family: the root domain and every clone made from it or its clones.

Members are found by the engine's metadata (``<pwn:family>``) on the hosts
given; their device models come from that metadata or, for the root and
for clones made without randomization, from their domain XML.
"""

import dataclasses

from nova_pwnetizer.virt.engine import metadata


@dataclasses.dataclass
class Member:
    name: str
    uuid: str
    host: str
    generation: int
    state: str
    devices: dict


def family_id(tree):
    info = metadata.of_tree(tree)
    return info.family if info else tree.findtext('uuid')


def _devices(tree, info, randomizers):
    devices = {r.device_class: r.current(tree) for r in randomizers if r.present(tree)}
    if info and info.devices:
        devices.update(info.devices)
    return devices


def members(hosts, fid, randomizers):
    """Every domain of family ``fid`` on ``hosts`` (a list of Hosts)."""
    found, seen = [], set()
    for host in hosts:
        if host.uri in seen:
            continue
        seen.add(host.uri)
        for guest in host.list_guests():
            tree = guest.tree(inactive=guest.is_persistent() and not guest.is_active())
            info = metadata.of_tree(tree)
            if guest.uuid != fid and (info is None or info.family != fid):
                continue
            if info is not None and info.state == 'building':
                continue
            found.append(Member(name=guest.name, uuid=guest.uuid, host=host.uri,
                                generation=info.generation if info else 0,
                                state=guest.state,
                                devices=_devices(tree, info, randomizers)))
    return sorted(found, key=lambda m: (m.generation, m.name))


def counts(family_members, device_class):
    """{model: number of members using it} for one device class."""
    result = {}
    for member in family_members:
        model = member.devices.get(device_class)
        if model:
            result[model] = result.get(model, 0) + 1
    return result
