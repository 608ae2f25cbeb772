"""Build (once) and locate the cached test guest image."""

import hashlib
import json
import os
import subprocess

FILES = os.path.join(os.path.dirname(__file__), 'files')
DEFAULT_CACHE = os.environ.get('PWN_CACHE_DIR', '/var/cache/pwnetizer')
_INPUTS = ('build-guest.sh', 'whole-disk.sh', 'init.sh', 'udhcpc.sh', 'pwn-dirty.c',
           'pwn-devices.sh')


class GuestImage:
    """Paths of one built test guest."""

    def __init__(self, directory):
        self.directory = directory
        self.kernel = os.path.join(directory, 'vmlinuz')
        self.initrd = os.path.join(directory, 'initrd.img')
        self.base_disk = os.path.join(directory, 'base.qcow2')
        #: the same guest as a whole-disk image (boot loader, partitions)
        self.whole_disk = os.path.join(directory, 'disk.qcow2')
        self.manifest_path = os.path.join(directory, 'manifest.json')

    @property
    def manifest(self):
        with open(self.manifest_path) as f:
            return json.load(f)

    def is_complete(self):
        return all(os.path.exists(p) for p in
                   (self.kernel, self.initrd, self.base_disk, self.whole_disk,
                    self.manifest_path))


def build_key():
    """Hash of the builder's inputs: a change rebuilds the image."""
    digest = hashlib.sha256()
    for name in _INPUTS:
        with open(os.path.join(FILES, name), 'rb') as f:
            digest.update(name.encode() + b'\0' + f.read())
    return digest.hexdigest()[:16]


def ensure_image(cache_dir=DEFAULT_CACHE, log=None):
    """Return the cached :class:`GuestImage`, building it if needed."""
    image = GuestImage(os.path.join(cache_dir, 'guest-' + build_key()))
    if image.is_complete():
        return image
    if log:
        log('building the test guest into %s' % image.directory)
    tmp = image.directory + '.tmp'
    subprocess.run(['rm', '-rf', tmp], check=True)
    subprocess.run(['bash', os.path.join(FILES, 'build-guest.sh'), tmp], check=True)
    subprocess.run(['rm', '-rf', image.directory], check=True)
    os.rename(tmp, image.directory)
    return image
