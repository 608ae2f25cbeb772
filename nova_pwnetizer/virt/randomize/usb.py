"""USB controller model: takes effect at the clone's next boot."""

from nova_pwnetizer.virt.randomize import base

QEMU_DEVICES = {
    'piix3-uhci': 'piix3-usb-uhci', 'piix4-uhci': 'piix4-usb-uhci',
    'ich9-ehci1': 'ich9-usb-ehci1', 'qemu-xhci': 'qemu-xhci', 'nec-xhci': 'nec-usb-xhci',
}


class UsbController(base.DeviceRandomizer):
    device_class = 'usb'
    known_models = tuple(QEMU_DEVICES)
    # No nova_image_property: Nova renders hw_usb_model only for a guest
    # without USB devices (with a USB tablet it lets libvirt choose).

    @staticmethod
    def _controller(tree):
        return tree.find("devices/controller[@type='usb']")

    def present(self, tree):
        ctl = self._controller(tree)
        return ctl is not None and ctl.get('model') != 'none'

    def current(self, tree):
        return self._controller(tree).get('model', 'piix3-uhci')

    def hypervisor_models(self, caps, tree):
        return {m for m, dev in QEMU_DEVICES.items() if caps.has_device(dev)}

    def apply(self, tree, model):
        devices = tree.find('devices')
        if self._controller(tree) is None:  # implicit in migratable XML
            devices.append(devices.makeelement('controller', {'type': 'usb', 'index': '0'}))
        for ctl in devices.findall("controller[@type='usb']"):
            if ctl is not self._controller(tree):
                devices.remove(ctl)  # companion controllers of the old model
        ctl = self._controller(tree)
        ctl.set('model', model)
        address = ctl.find('address')
        if address is not None:
            ctl.remove(address)  # piix3-uhci sits in the south bridge's slot
        for master in ctl.findall('master'):
            ctl.remove(master)
