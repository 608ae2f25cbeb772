"""Sound card model: takes effect at the clone's next boot."""

from nova_pwnetizer.virt.randomize import base

QEMU_DEVICES = {'ich6': 'intel-hda', 'ich9': 'ich9-intel-hda', 'ac97': 'AC97',
                'es1370': 'ES1370'}


class SoundModel(base.DeviceRandomizer):
    device_class = 'sound'
    known_models = tuple(QEMU_DEVICES)
    nova_image_property = 'hw_sound_model'

    def present(self, tree):
        return tree.find('devices/sound') is not None

    def current(self, tree):
        return tree.find('devices/sound').get('model')

    def hypervisor_models(self, caps, tree):
        return {m for m, dev in QEMU_DEVICES.items() if caps.has_device(dev)}

    def apply(self, tree, model):
        for sound in tree.iterfind('devices/sound'):
            sound.set('model', model)
            if model not in ('ich6', 'ich9'):
                for codec in sound.findall('codec'):
                    sound.remove(codec)
            address = sound.find('address')
            if address is not None:
                sound.remove(address)
