"""The engine's metadata element round-trips, with or without namespace."""

from lxml import etree

from nova_pwnetizer.virt.engine import metadata


def _info():
    return metadata.CloneInfo(family='F', source_uuid='S', source_name='web', source_host='h',
                              created='2026-01-01T00:00:00Z', generation=2, state='ready',
                              devices={'nic0': 'e1000', 'disk_bus': 'sata'})


def test_round_trip_qualified():
    info = _info()
    again = metadata.CloneInfo.from_xml(info.to_xml())
    assert again == info
    assert etree.QName(etree.fromstring(info.to_xml())).namespace == metadata.NAMESPACE


def test_round_trip_unqualified_as_libvirt_returns_it():
    info = _info()
    xml = info.to_xml(qualified=False)
    assert 'xmlns' not in xml
    assert metadata.CloneInfo.from_xml(xml) == info


def test_owner_is_recorded_while_building():
    info = metadata.CloneInfo(family='F', source_uuid='S', source_name='w', source_host=None,
                              created='t', owner_pid=123, owner_host='box')
    again = metadata.CloneInfo.from_xml(info.to_xml())
    assert (again.state, again.owner_pid, again.owner_host) == ('building', 123, 'box')


def test_of_tree_finds_the_element_in_domain_xml():
    tree = etree.fromstring('<domain><metadata>%s</metadata></domain>' % _info().to_xml())
    assert metadata.of_tree(tree).family == 'F'
    assert metadata.of_tree(etree.fromstring('<domain/>')) is None
