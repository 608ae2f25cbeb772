"""The live clone engine: libvirt + QEMU, no Nova.

    from nova_pwnetizer.virt.engine import clone, Host, CloneOptions
    result = clone(Host('qemu:///system').lookup('web-1'), options=CloneOptions())
"""

from nova_pwnetizer.virt.engine.exception import (  # noqa: F401
    CloneFailed, DomainNotFound, InvalidOptions, NameInUse, PwnetizerError,
    SourceNotCloneable)
from nova_pwnetizer.virt.engine.host import Host  # noqa: F401
from nova_pwnetizer.virt.engine.job import CloneJob  # noqa: F401
from nova_pwnetizer.virt.engine.options import CloneOptions  # noqa: F401
from nova_pwnetizer.virt.engine.result import CloneResult  # noqa: F401


def clone(source, target=None, options=None, progress=None):
    """Clone the running Guest ``source`` live; see :class:`CloneJob`."""
    return CloneJob(source, target, options, progress).run()
