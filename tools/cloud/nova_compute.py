"""nova-compute of one test host of the cloud (tools/cloud/up.sh).

Both test hosts run in this machine's one UTS namespace, so both
libvirtds report the same host name, which Nova takes as the compute
node's name (and Placement's resource provider name, which must be
unique).  Each test host's node is named after its ``[DEFAULT] host``
instead, as if the two were separate machines; nothing else changes.
"""

import sys

from nova.cmd import compute  # first: applies Nova's threading set-up
from nova.virt.libvirt import host as libvirt_host
from oslo_config import cfg


def _hostname(self):
    return cfg.CONF.host


libvirt_host.Host.get_hostname = _hostname

if __name__ == '__main__':
    sys.exit(compute.main())
