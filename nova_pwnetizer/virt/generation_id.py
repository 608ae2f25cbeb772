"""The VM generation ID (``<genid>``) of every server the driver boots.

A guest reads its generation ID from a device QEMU gives it; a Linux guest
reseeds its RNG when the value changes, which is how a clone learns that it
is one.  Nova never writes ``<genid>``, so the driver adds one to every
guest XML it generates, and keeps the value in the instance's system
metadata (not writable through Nova's API): a hard reboot, a cold migration
or resize, an unshelve or a rebuild regenerates the XML with the same value,
and a live migration sends the running XML, which has it.  A clone gets a
value of its own (:mod:`.clone_spawn`).
"""

import typing
import uuid as uuidlib

from lxml import etree

SYSMETA_KEY = 'pwnetizer_genid'

# Where QEMU has no vmgenid device, libvirt refuses to start a domain that
# asks for one: only QEMU/KVM guests on x86 (the PC machines' ACPI device,
# known to work here) get one, so that no other guest stops booting.
VIRT_TYPES = ('kvm', 'qemu')
ARCHES = ('x86_64', 'i686')


def new() -> str:
    """A new random VM generation ID."""
    return str(uuidlib.uuid4())


def is_valid(value: typing.Any) -> bool:
    """Whether ``value`` is a UUID string (what libvirt takes as a genid)."""
    if not isinstance(value, str):
        return False
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def applies(virt_type: str, xml: str, default_arch: str) -> bool:
    """Whether a guest of ``virt_type`` whose XML is ``xml`` can have a
    genid: QEMU or KVM on x86 (the XML's ``<os><type arch>``, else
    ``default_arch``, the architecture Nova boots it with)."""
    if virt_type not in VIRT_TYPES:
        return False
    os_type = _parse(xml).find('os/type')
    arch = os_type.get('arch') if os_type is not None else None
    return (arch or default_arch) in ARCHES


def for_guest(xml: str, instance, virt_type: str, default_arch: str) -> str:
    """Nova's guest ``xml`` of ``instance`` with the instance's genid,
    where the guest can have one (:func:`applies`); else ``xml``."""
    if not applies(virt_type, xml, default_arch):
        return xml
    return with_genid(xml, of_instance(instance))


def of_instance(instance) -> str:
    """The generation ID stored with ``instance`` (a Nova Instance); the
    first time (or should the stored value not be a UUID) a new one,
    saved before any guest runs with it."""
    genid = instance.system_metadata.get(SYSMETA_KEY)
    if is_valid(genid):
        return genid
    instance.system_metadata[SYSMETA_KEY] = genid = new()
    instance.save()
    return genid


def with_genid(xml: str, genid: str) -> str:
    """``xml`` (a domain XML) with ``<genid>genid</genid>`` right after its
    ``<uuid>``, in place of any ``<genid>`` it had."""
    tree = _parse(xml)
    for old in tree.findall('genid'):
        tree.remove(old)
    element = etree.Element('genid')
    element.text = genid
    anchor = tree.find('uuid')
    if anchor is None:
        anchor = tree.find('name')
    tree.insert(tree.index(anchor) + 1 if anchor is not None else 0, element)
    return etree.tostring(tree, encoding='unicode', pretty_print=True)


def _parse(xml: str) -> etree._Element:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)
