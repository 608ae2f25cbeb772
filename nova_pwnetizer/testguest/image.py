"""Build (once) and locate the cached test guest images.

Each kind of image is built by a script in ``files/`` into
``<cache_dir>/<kind>-<key>/``, the key a hash over the script and every
file it uses, so a change to any of them builds a new image:

* ``guest``: the busybox test guest (:func:`ensure_image`);
* ``debian``: a Debian 12 cloud image, a whole disk as tenants run
  (:func:`ensure_debian_image`).
"""

import fcntl
import hashlib
import json
import os
import subprocess
from typing import Callable, Optional, Sequence

FILES = os.path.join(os.path.dirname(__file__), 'files')
DEFAULT_CACHE = os.environ.get('PWN_CACHE_DIR', '/var/cache/pwnetizer')
_INPUTS = ('build-guest.sh', 'whole-disk.sh', 'init.sh', 'udhcpc.sh', 'pwn-dirty.c',
           'pwn-devices.sh')
_DEBIAN_INPUTS = ('build-debian.sh', 'whole-disk.sh', 'pwn-stateful-http.py',
                  'pwn-stateful-http.service')

Log = Optional[Callable[[str], object]]


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


class DebianImage:
    """Paths of one built Debian 12 cloud image (``build-debian.sh``)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        #: the whole disk (MBR, syslinux, boot and root partitions), qcow2
        self.disk = os.path.join(directory, 'disk.qcow2')
        self.manifest_path = os.path.join(directory, 'manifest.json')

    @property
    def manifest(self) -> dict:
        """Package versions, root label, kernel command line, build key."""
        with open(self.manifest_path) as f:
            return json.load(f)

    def is_complete(self) -> bool:
        return all(os.path.exists(p) for p in (self.disk, self.manifest_path))


def build_key(inputs: Sequence[str] = _INPUTS) -> str:
    """Hash of a builder's input files (in ``files/``): a change rebuilds the image."""
    digest = hashlib.sha256()
    for name in inputs:
        with open(os.path.join(FILES, name), 'rb') as f:
            digest.update(name.encode() + b'\0' + f.read())
    return digest.hexdigest()[:16]


def _ensure(image, script: str, log: Log, what: str, env: Optional[dict] = None):
    """Return ``image``, first building it with ``files/<script>`` if incomplete.

    The build writes ``<directory>.tmp``, renamed into place once done; a
    lock file next to it lets one process build while others wait.
    """
    if image.is_complete():
        return image
    os.makedirs(os.path.dirname(image.directory), exist_ok=True)
    with open(image.directory + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image.is_complete():  # built by another process meanwhile
            return image
        if log:
            log('building %s into %s' % (what, image.directory))
        tmp = image.directory + '.tmp'
        subprocess.run(['rm', '-rf', tmp], check=True)
        try:
            subprocess.run(['bash', os.path.join(FILES, script), tmp], check=True,
                           env=dict(os.environ, **(env or {})))
        except BaseException:
            subprocess.run(['rm', '-rf', tmp])
            raise
        subprocess.run(['rm', '-rf', image.directory], check=True)
        os.rename(tmp, image.directory)
    return image


def ensure_image(cache_dir=DEFAULT_CACHE, log=None):
    """Return the cached :class:`GuestImage`, building it if needed."""
    image = GuestImage(os.path.join(cache_dir, 'guest-' + build_key()))
    return _ensure(image, 'build-guest.sh', log, 'the test guest')


def ensure_debian_image(cache_dir: str = DEFAULT_CACHE, log: Log = None) -> DebianImage:
    """Return the cached :class:`DebianImage` (``debian-<key>/``), building it if needed.

    A cold build (debootstrap and the packages from the Debian mirror) takes
    minutes; a cached one returns at once.
    """
    key = build_key(_DEBIAN_INPUTS)
    image = DebianImage(os.path.join(cache_dir, 'debian-' + key))
    return _ensure(image, 'build-debian.sh', log, 'the Debian 12 cloud image',
                   env={'PWN_BUILD_KEY': key})
