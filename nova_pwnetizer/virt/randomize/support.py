"""What the guest OS supports, as declared on the source domain.

The declaration is a metadata element of its own namespace (libvirt keeps
one element per namespace), copied to every clone with the rest of the
metadata:

    <pwng:guest xmlns:pwng="http://openstack.org/xmlns/libvirt/pwnetizer/guest/1.0">
      <pwng:supports class="nic">virtio,e1000,rtl8139</pwng:supports>
      <pwng:supports class="disk_bus">virtio,sata</pwng:supports>
    </pwng:guest>
"""

from lxml import etree

NAMESPACE = 'http://openstack.org/xmlns/libvirt/pwnetizer/guest/1.0'
PREFIX = 'pwng'


def parse_list(text):
    """'a, b,c' -> ['a', 'b', 'c'] (empty items dropped)."""
    return [item.strip() for item in (text or '').split(',') if item.strip()]


def to_xml(support, qualified=True):
    ns = '{%s}' % NAMESPACE if qualified else ''
    root = etree.Element(ns + 'guest', nsmap={PREFIX: NAMESPACE} if qualified else None)
    for device_class, models in sorted(support.items()):
        el = etree.SubElement(root, ns + 'supports', **{'class': device_class})
        el.text = ','.join(models)
    return etree.tostring(root, encoding='unicode')


def from_element(root):
    ns = '{%s}' % NAMESPACE if etree.QName(root).namespace == NAMESPACE else ''
    return {el.get('class'): parse_list(el.text) for el in root.iterfind(ns + 'supports')}


def declared(tree):
    """{device class: [models]} declared in a domain tree ({} if none)."""
    root = tree.find('metadata/{%s}guest' % NAMESPACE)
    return from_element(root) if root is not None else {}


def declare(guest, support):
    """Write the declaration on a domain (running and persistent forms)."""
    xml = to_xml(support, qualified=False)
    live = guest.is_active()
    config = guest.is_persistent()
    guest.set_metadata(xml, PREFIX, NAMESPACE, live=live, config=config)
