"""NIC model: changed live (hot-swap at switch-over) and for next boot."""

from nova_pwnetizer.virt.randomize import base

# libvirt model name -> QEMU device type
QEMU_DEVICES = {
    'virtio': 'virtio-net-pci', 'e1000': 'e1000', 'e1000e': 'e1000e',
    'rtl8139': 'rtl8139', 'ne2k_pci': 'ne2k_pci', 'pcnet': 'pcnet',
    'vmxnet3': 'vmxnet3',
}
# Models libvirt lets into a PCIe root port: on q35 a hot-swapped NIC takes
# the slot of the NIC it replaces, so conventional PCI models cannot go there.
PCIE_MODELS = {'virtio', 'e1000e'}


class NicModel(base.DeviceRandomizer):
    device_class = 'nic'
    known_models = tuple(QEMU_DEVICES)
    live = True
    nova_image_property = 'hw_vif_model'

    def present(self, tree):
        return tree.find('devices/interface') is not None

    def current(self, tree):
        model = tree.find('devices/interface/model')
        return model.get('type') if model is not None else 'rtl8139'

    def hypervisor_models(self, caps, tree):
        models = {m for m, dev in QEMU_DEVICES.items() if caps.has_device(dev)}
        if caps.is_q35():
            models &= PCIE_MODELS
        return models

    def apply(self, tree, model):
        for iface in tree.iterfind('devices/interface'):
            el = iface.find('model')
            if el is None:
                el = iface.makeelement('model', {})
                iface.append(el)
            el.set('type', model)
            driver = iface.find('driver')
            if driver is not None and model != 'virtio':
                iface.remove(driver)
