"""The engine's <metadata> element: where a clone comes from.

    <pwn:clone xmlns:pwn="http://openstack.org/xmlns/libvirt/pwnetizer/1.0">
      <pwn:family>UUID of the family's root domain</pwn:family>
      <pwn:source uuid="..." name="..." host="..."/>
      <pwn:created>2026-11-27T10:00:00Z</pwn:created>
      <pwn:generation>1</pwn:generation>
      <pwn:state>building|ready</pwn:state>
      <pwn:owner pid="..." host="..."/>        (while building)
      <pwn:devices><pwn:device class="nic" model="e1000"/>...</pwn:devices>
    </pwn:clone>
"""

import dataclasses
import datetime

from lxml import etree

NAMESPACE = 'http://openstack.org/xmlns/libvirt/pwnetizer/1.0'
PREFIX = 'pwn'


def _q(tag, qualified=True):
    return '{%s}%s' % (NAMESPACE, tag) if qualified else tag


@dataclasses.dataclass
class CloneInfo:
    family: str
    source_uuid: str
    source_name: str
    source_host: str
    created: str
    generation: int = 1
    state: str = 'building'
    owner_pid: int = None
    owner_host: str = None
    devices: dict = dataclasses.field(default_factory=dict)

    def to_xml(self, qualified=True):
        """The element; ``qualified=False`` leaves the namespace out, as
        virDomainSetMetadata wants it."""
        def q(tag):
            return _q(tag, qualified)
        root = etree.Element(q('clone'), nsmap={PREFIX: NAMESPACE} if qualified else None)
        etree.SubElement(root, q('family')).text = self.family
        etree.SubElement(root, q('source'), uuid=self.source_uuid,
                         name=self.source_name, host=self.source_host or '')
        etree.SubElement(root, q('created')).text = self.created
        etree.SubElement(root, q('generation')).text = str(self.generation)
        etree.SubElement(root, q('state')).text = self.state
        if self.owner_pid:
            etree.SubElement(root, q('owner'), pid=str(self.owner_pid),
                             host=self.owner_host or '')
        if self.devices:
            devices = etree.SubElement(root, q('devices'))
            for device_class, model in sorted(self.devices.items()):
                etree.SubElement(devices, q('device'), **{'class': device_class,
                                                          'model': str(model)})
        return etree.tostring(root, encoding='unicode')

    @classmethod
    def from_xml(cls, xml):
        root = etree.fromstring(xml) if isinstance(xml, (str, bytes)) else xml
        # virDomainGetMetadata returns the element without its namespace.
        qualified = etree.QName(root).namespace == NAMESPACE

        def q(tag):
            return _q(tag, qualified)
        source = root.find(q('source'))
        owner = root.find(q('owner'))
        return cls(
            family=root.findtext(q('family')),
            source_uuid=source.get('uuid'), source_name=source.get('name'),
            source_host=source.get('host') or None,
            created=root.findtext(q('created')),
            generation=int(root.findtext(q('generation')) or 1),
            state=root.findtext(q('state')) or 'ready',
            owner_pid=int(owner.get('pid')) if owner is not None else None,
            owner_host=owner.get('host') if owner is not None else None,
            devices={d.get('class'): d.get('model')
                     for d in root.iterfind('%s/%s' % (q('devices'), q('device')))})


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def of_tree(tree):
    """The CloneInfo recorded in a domain XML tree, or None."""
    element = tree.find('metadata/' + _q('clone'))
    return CloneInfo.from_xml(element) if element is not None else None


def of_guest(guest):
    xml = guest.metadata(NAMESPACE)
    return CloneInfo.from_xml(xml) if xml else None
