"""The live clone engine: libvirt + QEMU, no Nova.

    from nova_pwnetizer.virt.engine import clone, Host, CloneOptions
    result = clone(Host('qemu:///system').lookup('web-1'), options=CloneOptions())
"""

from nova_pwnetizer.virt.engine.exception import CloneFailed  # noqa: F401
from nova_pwnetizer.virt.engine.exception import DomainNotFound  # noqa: F401
from nova_pwnetizer.virt.engine.exception import InvalidOptions  # noqa: F401
from nova_pwnetizer.virt.engine.exception import NameInUse  # noqa: F401
from nova_pwnetizer.virt.engine.exception import PwnetizerError  # noqa: F401
from nova_pwnetizer.virt.engine.exception import SourceNotCloneable  # noqa: F401
from nova_pwnetizer.virt.engine.host import Host  # noqa: F401
from nova_pwnetizer.virt.engine.job import CloneJob  # noqa: F401
from nova_pwnetizer.virt.engine.options import CloneOptions  # noqa: F401
from nova_pwnetizer.virt.engine.result import CloneResult  # noqa: F401


def clone(source, target=None, options=None, progress=None):
    """Clone the running Guest ``source`` live; see :class:`CloneJob`."""
    return CloneJob(source, target, options, progress).run()
