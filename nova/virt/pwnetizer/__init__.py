# The compute_driver shim of nova-pwnetizer: Nova imports compute drivers
# from nova.virt, so `compute_driver = pwnetizer.PwnetizerDriver` finds the
# driver here.  `pwnetizer-install-shim` copies this file into Nova's package.
from nova_pwnetizer.virt.driver import PwnetizerDriver  # noqa: F401

__all__ = ['PwnetizerDriver']
