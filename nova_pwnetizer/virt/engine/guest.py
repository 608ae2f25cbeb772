"""A thin wrapper around one libvirt domain and its QEMU monitor."""

import json

import libvirt
import libvirt_qemu
from lxml import etree

from nova_pwnetizer.virt.engine import exception

STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'nostate',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutdown',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shutoff',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'pmsuspended',
}


class Guest:
    """One domain on one :class:`~.host.Host`."""

    def __init__(self, host, dom):
        self.host = host
        self.dom = dom

    def __repr__(self):
        return '<Guest %s on %s>' % (self.name, self.host.uri)

    @property
    def name(self):
        return self.dom.name()

    @property
    def uuid(self):
        return self.dom.UUIDString()

    def xml(self, migratable=False, inactive=False):
        flags = libvirt.VIR_DOMAIN_XML_SECURE
        if migratable:
            flags |= libvirt.VIR_DOMAIN_XML_MIGRATABLE
        if inactive:
            flags |= libvirt.VIR_DOMAIN_XML_INACTIVE
        return self.dom.XMLDesc(flags)

    def tree(self, **kwargs):
        return etree.fromstring(self.xml(**kwargs))

    @property
    def state(self):
        """The domain state's name: 'running', 'paused', 'shutoff', ..."""
        return STATE_NAMES.get(self.dom.state()[0], 'unknown')

    def paused_by_user(self) -> bool:
        """Whether someone paused the domain through libvirt (Nova's pause,
        ``virsh suspend``): a pause the engine must never undo."""
        state, reason = self.dom.state()[:2]
        return state == libvirt.VIR_DOMAIN_PAUSED and reason == libvirt.VIR_DOMAIN_PAUSED_USER

    def libvirt_job_active(self) -> bool:
        """Whether libvirt itself runs a job on the domain (Nova's live
        migration, a save, a snapshot); the engine's own migrations go
        through QMP and are no libvirt job."""
        try:
            return self.dom.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE
        except libvirt.libvirtError:
            return False

    def is_active(self):
        """Running or paused; False also once a transient domain is gone."""
        try:
            return bool(self.dom.isActive())
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return False
            raise

    def is_persistent(self):
        return bool(self.dom.isPersistent())

    def qmp(self, command, **arguments):
        """Run one QMP command through libvirt; return its 'return' value."""
        request = {'execute': command}
        if arguments:
            request['arguments'] = arguments
        try:
            reply = libvirt_qemu.qemuMonitorCommand(self.dom, json.dumps(request), 0)
        except libvirt.libvirtError as e:
            raise exception.QMPError(command, 'libvirt', e.get_error_message())
        reply = json.loads(reply)
        if 'error' in reply:
            raise exception.QMPError(command, reply['error'].get('class'),
                                     reply['error'].get('desc'))
        return reply.get('return')

    def migration_status(self):
        return self.qmp('query-migrate')

    def block_nodes(self):
        """Map each disk's qdev path to its top node name (query-block)."""
        nodes = {}
        for dev in self.qmp('query-block'):
            inserted = dev.get('inserted')
            if inserted and dev.get('qdev'):
                nodes[dev['qdev']] = inserted['node-name']
        return nodes

    def node_for_alias(self, alias):
        """Top block node name of the disk whose device alias is ``alias``."""
        for qdev, node in self.block_nodes().items():
            parts = qdev.split('/')
            if alias in parts:
                return node
        raise exception.PwnetizerError(
            'no block node for disk %s of %s' % (alias, self.name))

    def resume(self):
        self.dom.resume()

    def suspend(self):
        self.dom.suspend()

    def destroy(self):
        """Stop the domain at once; a domain already stopped is fine."""
        try:
            self.dom.destroy()
        except libvirt.libvirtError as e:
            if e.get_error_code() not in (libvirt.VIR_ERR_OPERATION_INVALID,
                                          libvirt.VIR_ERR_NO_DOMAIN):
                raise

    def undefine(self):
        try:
            self.dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
                                   | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        except libvirt.libvirtError as e:
            if e.get_error_code() not in (libvirt.VIR_ERR_OPERATION_INVALID,
                                          libvirt.VIR_ERR_NO_DOMAIN):
                raise

    def attach_device(self, xml, live=True, config=False):
        self.dom.attachDeviceFlags(xml, self._affect(live, config))

    def detach_device(self, xml, live=True, config=False):
        self.dom.detachDeviceFlags(xml, self._affect(live, config))

    def update_device(self, xml, live=True, config=False):
        self.dom.updateDeviceFlags(xml, self._affect(live, config))

    @staticmethod
    def _affect(live, config):
        flags = 0
        if live:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        if config:
            flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
        return flags

    def metadata(self, namespace, live=True):
        """The metadata element of ``namespace`` as a string, or None."""
        flags = (libvirt.VIR_DOMAIN_AFFECT_LIVE if live and self.is_active()
                 else libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        try:
            return self.dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, namespace, flags)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                return None
            raise

    def set_metadata(self, xml, prefix, namespace, live=True, config=False):
        self.dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, xml, prefix,
                             namespace, self._affect(live, config))

    def block_info(self, path):
        """(capacity, allocation, physical) in bytes of the disk at ``path``."""
        return tuple(self.dom.blockInfo(path, 0))
