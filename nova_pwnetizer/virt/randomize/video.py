"""Video model: takes effect at the clone's next boot."""

from nova_pwnetizer.virt.randomize import base

PCI_LESS = {'ramfb'}


class VideoModel(base.DeviceRandomizer):
    device_class = 'video'
    known_models = ('vga', 'cirrus', 'virtio', 'qxl', 'bochs', 'vmvga', 'ramfb')
    nova_image_property = 'hw_video_model'

    def present(self, tree):
        model = tree.find('devices/video/model')
        return model is not None and model.get('type') not in (None, 'none')

    def current(self, tree):
        return tree.find('devices/video/model').get('type')

    def hypervisor_models(self, caps, tree):
        return caps.enum('video', 'modelType') & set(self.known_models)

    def apply(self, tree, model):
        video = tree.find('devices/video')
        old = video.find('model')
        was, primary = old.get('type'), old.get('primary')
        old.attrib.clear()
        for child in list(old):
            old.remove(child)  # <acceleration>, <resolution>: model specific
        old.set('type', model)
        if primary:
            old.set('primary', primary)
        address = video.find('address')
        if address is not None and (model in PCI_LESS or was in PCI_LESS):
            video.remove(address)  # ramfb is not a PCI device
