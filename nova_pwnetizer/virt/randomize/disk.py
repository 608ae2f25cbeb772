"""Disk bus of the clone's hard disks: takes effect at its next boot."""

from lxml import etree

from nova_pwnetizer.virt.randomize import base

PREFIX = {'virtio': 'vd', 'scsi': 'sd', 'sata': 'sd', 'ide': 'hd'}


def _dev_name(prefix, taken):
    for i in range(26):
        name = prefix + chr(ord('a') + i)
        if name not in taken:
            return name
    raise ValueError('no free device name with prefix %s' % prefix)


class DiskBus(base.DeviceRandomizer):
    device_class = 'disk_bus'
    known_models = ('virtio', 'scsi', 'sata', 'ide')
    nova_image_property = 'hw_disk_bus'

    @staticmethod
    def _disks(tree):
        return [d for d in tree.iterfind('devices/disk') if d.get('device', 'disk') == 'disk']

    def present(self, tree):
        return bool(self._disks(tree))

    def current(self, tree):
        return self._disks(tree)[0].find('target').get('bus')

    def hypervisor_models(self, caps, tree):
        return caps.enum('disk', 'bus') & set(self.known_models)

    def apply(self, tree, model):
        disks = self._disks(tree)
        taken = {d.find('target').get('dev') for d in tree.iterfind('devices/disk')
                 if d not in disks}
        for disk in disks:
            target = disk.find('target')
            if target.get('bus') == model:
                taken.add(target.get('dev'))
                continue
            name = _dev_name(PREFIX[model], taken)
            taken.add(name)
            target.set('bus', model)
            target.set('dev', name)
            address = disk.find('address')
            if address is not None:
                disk.remove(address)  # a PCI slot or a drive unit: libvirt re-assigns
        if model == 'scsi' and tree.find(
                "devices/controller[@type='scsi'][@model='virtio-scsi']") is None:
            devices = tree.find('devices')
            for old in devices.findall("controller[@type='scsi']"):
                devices.remove(old)
            etree.SubElement(devices, 'controller', type='scsi', index='0',
                             model='virtio-scsi')
