"""A thin wrapper around a libvirt connection (one hypervisor host)."""

import functools
import os
import threading
import time
import urllib.parse
import uuid as uuidlib

import libvirt
from lxml import etree

from nova_pwnetizer.virt.engine import events
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import guest as guest_mod


def _ignore_libvirt_error(_ctx, _err):
    """libvirt prints every error to stderr unless a handler is set."""


libvirt.registerErrorHandler(_ignore_libvirt_error, None)


# libvirt's client sends no keepalive of its own: a call on a connection
# whose link went dead (a remote source host unreachable mid-clone) waits
# until TCP gives up, a quarter of an hour.  With these, a dead connection
# fails every call on it after about interval * (count + 1) seconds, and
# the job rolls back.
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3


def _split_version(number):
    return (number // 1000000, (number // 1000) % 1000, number % 1000)


class Host:
    """One libvirt connection, with the queries the clone engine needs."""

    def __init__(self, uri=None, conn=None, keepalive=(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)):
        self._conn = conn
        self._uri = uri
        self._owned = conn is None  # a connection we opened is ours to reopen
        self._keepalive = keepalive  # (interval s, count) or None
        self._storage_lock = threading.Lock()  # parallel jobs share pools

    def _alive(self):
        try:
            return self._conn.isAlive() == 1
        except libvirt.libvirtError:
            return False

    @property
    def conn(self):
        if self._conn is not None and self._owned and not self._alive():
            self._conn = None  # libvirtd restarted: reconnect
        if self._conn is None:
            events.start_event_loop()  # before open, or the connection has no events
            try:
                self._conn = libvirt.open(self._uri)
            except libvirt.libvirtError as e:
                raise exception.PwnetizerError(
                    'cannot connect to libvirt at %s: %s'
                    % (self._uri or 'the default URI', e.get_error_message()))
            if self._keepalive:
                try:
                    self._conn.setKeepAlive(*self._keepalive)
                except (libvirt.libvirtError, AttributeError):
                    pass  # a driver without keepalive (test:///, a local one, a fake)
        return self._conn

    @property
    def uri(self):
        return self.conn.getURI()

    @property
    def hostname(self):
        """Host name from the URI for remote connections, else the local one."""
        parsed = urllib.parse.urlparse(self.uri)
        return parsed.hostname or None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def same_as(self, other):
        """True when both wrappers talk to the same libvirtd."""
        return self is other or self.conn is other.conn or self.uri == other.uri

    @functools.cached_property
    def qemu_version(self):
        return _split_version(self.conn.getVersion())

    @functools.cached_property
    def libvirt_version(self):
        return _split_version(self.conn.getLibVersion())

    @functools.cached_property
    def capabilities(self):
        return etree.fromstring(self.conn.getCapabilities())

    def machine_types(self, arch, domain_type):
        """Machine types (names and canonical names) QEMU offers for ``arch``."""
        names = set()
        for arch_el in self.capabilities.iterfind('guest/arch'):
            if (arch_el.get('name') != arch
                    or arch_el.find("domain[@type='%s']" % domain_type) is None):
                continue
            for machine in arch_el.iterfind('machine'):
                names.add(machine.text)
                if machine.get('canonical'):
                    names.add(machine.get('canonical'))
        return names

    def domain_capabilities(self, arch, domain_type, machine=None):
        return etree.fromstring(self.conn.getDomainCapabilities(
            None, arch, machine, domain_type, 0))

    # -- domains ---------------------------------------------------------

    def lookup(self, name_or_uuid):
        """Find a domain by name or UUID; raise DomainNotFound otherwise."""
        try:
            try:
                uuidlib.UUID(name_or_uuid)
                dom = self.conn.lookupByUUIDString(name_or_uuid)
            except ValueError:
                dom = self.conn.lookupByName(name_or_uuid)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.DomainNotFound(
                    'no domain %r on %s' % (name_or_uuid, self.uri))
            raise
        return guest_mod.Guest(self, dom)

    def exists(self, name=None, uuid=None):
        try:
            if name is not None:
                self.conn.lookupByName(name)
            else:
                self.conn.lookupByUUIDString(uuid)
            return True
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return False
            raise

    def list_guests(self):
        return [guest_mod.Guest(self, d) for d in self.conn.listAllDomains(0)]

    def create_guest(self, xml, paused=False):
        """Start a transient domain from ``xml``."""
        flags = libvirt.VIR_DOMAIN_START_PAUSED if paused else 0
        return guest_mod.Guest(self, self.conn.createXML(xml, flags))

    # -- files on this host, through libvirt's storage API ----------------
    # The target host may be remote: files are made and removed through
    # libvirt so that the engine never needs a shell on it.

    def _pool_for_dir(self, path, build=False):
        try:
            return self.conn.storagePoolLookupByTargetPath(path)
        except libvirt.libvirtError:
            pass
        xml = ("<pool type='dir'><name>pwnetizer-%s</name>"
               "<target><path>%s</path></target></pool>"
               % (uuidlib.uuid4().hex[:12], _xml_escape(path)))
        pool = self.conn.storagePoolDefineXML(xml, 0)
        try:
            if build:
                pool.build(0)
            pool.create(0)
        except libvirt.libvirtError:
            pool.undefine()
            raise
        return pool

    def _with_pool(self, directory, fn, build=False):
        """Run fn(pool) on a pool over ``directory``; drop it if we made it.

        Another process may make its own pool over the same directory at the
        same moment (libvirt refuses a second one): then use theirs.
        """
        with self._storage_lock:
            for attempt in range(20):
                try:
                    pool, ours = self.conn.storagePoolLookupByTargetPath(directory), False
                except libvirt.libvirtError:
                    try:
                        pool, ours = self._pool_for_dir(directory, build=build), True
                    except libvirt.libvirtError as e:
                        if 'conflict' not in str(e) or attempt == 19:
                            raise
                        time.sleep(0.05)
                        continue
                break
            try:
                pool.refresh(0)
                return fn(pool)
            finally:
                if ours:
                    try:
                        pool.destroy()
                    finally:
                        pool.undefine()

    def ensure_directory(self, directory):
        """Create ``directory`` on this host if it is missing."""
        self._with_pool(directory, lambda pool: None, build=True)

    def file_info(self, path):
        """(capacity, format) of an image file on this host, or None."""
        def lookup(pool):
            try:
                vol = pool.storageVolLookupByName(os.path.basename(path))
            except libvirt.libvirtError:
                return None
            root = etree.fromstring(vol.XMLDesc(0))
            fmt = root.find('target/format')
            return (int(root.findtext('capacity')),
                    fmt.get('type') if fmt is not None else None)
        try:
            return self._with_pool(os.path.dirname(path), lookup)
        except libvirt.libvirtError:
            return None

    def create_image(self, path, capacity, fmt, backing=None, backing_fmt=None):
        """Create an empty image (optionally over a backing file)."""
        backing_xml = ''
        if backing:
            backing_xml = ("<backingStore><path>%s</path><format type='%s'/>"
                           "</backingStore>" % (_xml_escape(backing), backing_fmt))
        xml = ("<volume><name>%s</name><capacity unit='bytes'>%d</capacity>"
               "<allocation>0</allocation><target><format type='%s'/></target>%s"
               "</volume>" % (_xml_escape(os.path.basename(path)), capacity, fmt,
                              backing_xml))
        self._with_pool(os.path.dirname(path),
                        lambda pool: pool.createXML(xml, 0), build=True)

    def delete_file(self, path):
        """Delete a file on this host; a missing file is not an error."""
        def delete(pool):
            try:
                pool.storageVolLookupByName(os.path.basename(path)).delete(0)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                    raise
        try:
            self._with_pool(os.path.dirname(path), delete)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise


def _xml_escape(text):
    return (text.replace('&', '&amp;').replace('<', '&lt;')
            .replace('>', '&gt;').replace("'", '&apos;'))
