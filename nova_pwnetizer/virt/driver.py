"""PwnetizerDriver: Nova's libvirt driver that can spawn live clones.

    [DEFAULT]
    compute_driver = pwnetizer.PwnetizerDriver

(``nova/virt/pwnetizer`` is a two-line shim that ``pwnetizer-install-shim``
puts into Nova's package, because Nova loads drivers from ``nova.virt``.)
Every instance that is not a clone is spawned by the stock driver,
unchanged; a clone is spawned by :class:`~.clone_spawn.CloneSpawn`.  The
driver also serves the clone coordination endpoint (:mod:`.manager`) and
reports the ``pwnetizer`` stat that the CloneHostFilter looks for; its
:mod:`.source_watchdog` never leaves one of this host's sources paused.
While one of its instances is being cloned, the pause and resume of the
switch-over are not passed on to Nova's compute manager, and a clone's
later live migration sends no incoming migration arguments of its own.
Every guest XML it generates carries the server's VM generation ID
(:mod:`.generation_id`).
A clone's own config drive is built before its domain exists (the engine
makes the domain): it has no device metadata (:meth:`before_domain`).
"""

import contextlib

import libvirt
from oslo_config import cfg
from oslo_log import log as logging

from nova.virt import event as virtevent
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import utils as libvirt_utils

import nova_pwnetizer.conf  # noqa: F401  (registers [pwnetizer])
from nova_pwnetizer.scheduler import filters
from nova_pwnetizer.virt import clone_spawn
from nova_pwnetizer.virt import generation_id
from nova_pwnetizer.virt import manager
from nova_pwnetizer.virt import migratable_guest
from nova_pwnetizer.virt import source_watchdog

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class PwnetizerDriver(libvirt_driver.LibvirtDriver):

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self._clone_rpc_server = None
        self._source_watchdog = None
        self.service_host = CONF.host
        self.clone_sources = manager.CloneSourceManager(self)
        self._domainless = set()    # clones whose files are made before their domain

    def init_host(self, host):
        super().init_host(host)
        self.service_host = host
        # the watchdog first: its start-up sweep holds again the leases of
        # clones in flight before any other clone may ask for their sources
        self._source_watchdog = source_watchdog.SourceWatchdog(
            self.clone_sources, self._host.get_connection, host)
        self._source_watchdog.start()
        self._clone_rpc_server = manager.start_server(self, self.clone_sources)
        LOG.info('Serving clone coordination on topic %s', CONF.pwnetizer.rpc_topic)

    def cleanup_host(self, host):
        if self._source_watchdog is not None:
            self._source_watchdog.stop()
            self._source_watchdog = None
        if self._clone_rpc_server is not None:
            self._clone_rpc_server.stop()
            self._clone_rpc_server.wait()
            self._clone_rpc_server = None
        super().cleanup_host(host)

    def emit_event(self, event):
        if self.clone_sources.is_switchover_event(event):
            LOG.debug('%s: the switch-over of a live clone, not dispatched', event)
            return
        super().emit_event(event)

    def source_released(self, source_uuid):
        """A clone of ``source_uuid`` ended: should the source be paused
        after all (the engine resumes it; a lease can also run out), the
        compute manager hears of it as it would have."""
        try:
            domain = self._host.get_connection().lookupByUUIDString(source_uuid)
            paused = domain.info()[0] == libvirt.VIR_DOMAIN_PAUSED
        except libvirt.libvirtError as e:   # e.g. the source was deleted meanwhile
            LOG.debug('State of %s after its clone: %s', source_uuid, e)
            return
        except Exception as e:  # the clone is over whatever this check says
            LOG.warning('Could not check the state of %s after its clone: %s',
                        source_uuid, e)
            return
        if paused:
            super().emit_event(virtevent.LifecycleEvent(
                source_uuid, virtevent.EVENT_LIFECYCLE_PAUSED))

    def _live_migration_operation(self, context, instance, dest, block_migration,
                                  migrate_data, guest, device_names):
        # (a clone's live XML still has its -incoming: migratable_guest)
        return super()._live_migration_operation(
            context, instance, dest, block_migration, migrate_data,
            migratable_guest.MigratableGuest(guest), device_names)

    def _get_guest_xml(self, context, instance, network_info, disk_info,
                       image_meta, rescue=None, block_device_info=None,
                       mdevs=None, accel_info=None, share_info=None, old_guest=None):
        xml = super()._get_guest_xml(
            context, instance, network_info, disk_info, image_meta, rescue=rescue,
            block_device_info=block_device_info, mdevs=mdevs, accel_info=accel_info,
            share_info=share_info, old_guest=old_guest)
        return generation_id.for_guest(xml, instance, CONF.libvirt.virt_type,
                                       libvirt_utils.get_arch(image_meta))

    @contextlib.contextmanager
    def before_domain(self, instance_uuid: str):
        """While the clone ``instance_uuid``'s own files (its config drive)
        are made before the engine makes its domain: Nova's device metadata
        of it is none, as for any server without tagged devices (a clone's
        ports are untagged, and its NICs are swapped in after the
        switch-over), instead of Nova's lookup of a domain that is not
        there yet."""
        self._domainless.add(instance_uuid)
        try:
            yield
        finally:
            self._domainless.discard(instance_uuid)

    def _build_device_metadata(self, context, instance):
        if instance.uuid in self._domainless:
            return None
        return super()._build_device_metadata(context, instance)

    def get_available_resource(self, nodename):
        data = super().get_available_resource(nodename)
        stats = data.setdefault('stats', {})
        stats[filters.STAT] = filters.CAPABILITY
        stats[filters.STAT + '_virt_type'] = CONF.libvirt.virt_type
        return data

    def spawn(self, context, instance, image_meta, injected_files, admin_password,
              allocations, network_info=None, block_device_info=None, power_on=True,
              accel_info=None):
        contract_text = clone_spawn.contract_text_of(instance)
        if contract_text is None:
            return super().spawn(context, instance, image_meta, injected_files,
                                 admin_password, allocations, network_info=network_info,
                                 block_device_info=block_device_info, power_on=power_on,
                                 accel_info=accel_info)
        clone_spawn.CloneSpawn(self, context, instance, image_meta, network_info,
                               contract_text).run()
