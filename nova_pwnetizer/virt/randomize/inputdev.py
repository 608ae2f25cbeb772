"""Pointer device (tablet): takes effect at the clone's next boot.

``ps2`` means no tablet: the implicit PS/2 mouse of an x86 machine.
"""

from lxml import etree

from nova_pwnetizer.virt.randomize import base

QEMU_DEVICES = {'usb-tablet': 'usb-tablet', 'virtio-tablet': 'virtio-tablet-pci',
                'ps2': None}


class InputDevice(base.DeviceRandomizer):
    device_class = 'input'
    known_models = tuple(QEMU_DEVICES)
    # No nova_image_property: Nova's hw_input_bus names a bus (usb, virtio),
    # not these models, and none of its values means ps2.

    def present(self, tree):
        return tree.find('os/type').get('arch') in ('x86_64', 'i686')

    def current(self, tree):
        for inp in tree.iterfind('devices/input'):
            if inp.get('type') == 'tablet':
                return '%s-tablet' % inp.get('bus', 'usb')
        return 'ps2'

    def hypervisor_models(self, caps, tree):
        models = {m for m, dev in QEMU_DEVICES.items() if dev is None or caps.has_device(dev)}
        usb = tree.find("devices/controller[@type='usb']")
        if usb is None or usb.get('model') == 'none':
            models.discard('usb-tablet')
        return models

    def apply(self, tree, model):
        devices = tree.find('devices')
        for inp in devices.findall('input'):
            if inp.get('type') == 'tablet':
                devices.remove(inp)
        if model != 'ps2':
            etree.SubElement(devices, 'input', type='tablet', bus=model.split('-')[0])
