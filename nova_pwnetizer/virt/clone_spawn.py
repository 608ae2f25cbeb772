"""The compute driver's spawn of an instance that is a clone.

The target host (this one) consumes and verifies the clone's signed
contract (its system metadata) before it acts on any of its fields, asks
the source host over RPC, with the contract, whether the source can be
cloned and where its libvirtd is, writes the device models the contract
carries as the clone's image properties (nova-api chose them), builds the
clone's own config drive (if it has one: its own UUID, host name and
network data) as Nova's spawn does, plugs the clone's VIFs the Nova way,
and runs the live clone engine with the source's libvirtd as the source
connection and this host's as the target -- the same channel Nova's own
live migration uses.  The clone gets the instance's name and UUID as
domain name and UUID, its own config drive in place of the source's, and
after the switch-over its NICs are the ones Nova's VIF driver makes of its
own ports.  Any failure is rolled back on both sides and raised as
:class:`nova.exception.BuildAbortException` (no reschedule: the instance
goes to ERROR with the reason as its fault).  A contract that does not
verify is refused with nothing done, on either host.
"""

import json
import os
import re
import time

from lxml import etree
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging

from nova.compute import task_states
from nova.compute import utils as compute_utils
from nova.compute import vm_states
from nova import exception as nova_exception
from nova.network import neutron
from nova import objects
from nova.privsep import linux_net
from nova.virt import configdrive
from nova.virt.libvirt import blockinfo
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import imagecache
from nova.virt.libvirt import utils as libvirt_utils

from nova_pwnetizer import clone_secret
from nova_pwnetizer import clonerequest
from nova_pwnetizer.objects import base as objects_base
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer import port_settings
from nova_pwnetizer.virt import engine
from nova_pwnetizer.virt.engine import clone_identity_script
from nova_pwnetizer.virt.engine import domainxml
from nova_pwnetizer.virt.engine import events as engine_events
from nova_pwnetizer.virt.engine import fanout
from nova_pwnetizer.virt.engine import options as engine_options
from nova_pwnetizer.virt import generation_id
from nova_pwnetizer.virt import image_models
from nova_pwnetizer.virt import manager
from nova_pwnetizer.virt import rpcapi
from nova_pwnetizer.virt import source_errors
from nova_pwnetizer.virt import target_placement

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

FIGURES_KEY = 'pwnetizer_figures'
PARENT_KEY = 'pwnetizer_parent'          # metadata: the clone this one was made from
WARNING_KEY = 'pwnetizer_warning'        # metadata: what the clone's tenant should know
METADATA_VALUE_MAX = 255                 # Nova's instance_metadata.value
BUSY_RETRY_S = 0.5
PARENT_POLL_S = 0.5
SOURCE_EVENT = 'pwnetizer_clone_to_%s'   # one event per clone on the source's action
CONFIG_DRIVE = 'disk.config'             # Nova's name of it in an instance's directory


IFF_UP = 0x1
GUEST_STEP_EVENT = 'pwnetizer_guest_step'
GUEST_STEP_KEY = 'pwnetizer_guest_step'   # metadata: done, no-agent: why, failed: why


def _link_up(dev):
    try:
        with open('/sys/class/net/%s/flags' % dev) as f:
            return bool(int(f.read().strip(), 16) & IFF_UP)
    except (OSError, ValueError):
        return True     # gone or unreadable: nothing to set up


def contract_text_of(instance):
    """The signed clone contract in ``instance``'s system metadata (not
    verified yet), or None for an instance that is not a clone."""
    if not instance.obj_attr_is_set('system_metadata'):
        return None
    return clone_contract.text_in(instance.system_metadata)


# Nova's instance_system_metadata.value is a VARCHAR(255): MySQL refuses a
# longer value ("Data too long"), so the figures stored with the clone are
# the most telling ones that fit (all of them go to the log).
STORED_FIGURES_MAX = 255
_STORED_FIGURES = ('source_paused_ms', 'downtime_ms', 'time_to_ready', 'memory_bytes',
                   'disk_bytes', 'devices', 'time_to_running', 'switchover_ms',
                   'nic_swap_s', 'guest_step')


def stored_figures(figures):
    """Compact JSON of ``figures`` in at most STORED_FIGURES_MAX characters."""
    stored = {}
    for key in _STORED_FIGURES:
        value = figures.get(key)
        if value in (None, {}):
            continue
        if isinstance(value, float):
            value = round(value, 3)
        trial = dict(stored, **{key: value})
        if len(json.dumps(trial, sort_keys=True, separators=(',', ':'))) \
                <= STORED_FIGURES_MAX:
            stored = trial
    return json.dumps(stored, sort_keys=True, separators=(',', ':'))


_URI = re.compile(r'\b[a-z][a-z0-9+.-]*://[^\s\'"]*')


def public_reason(reason: str, host_names) -> str:
    """``reason`` without the URIs and host names in it (a clone's fault
    message is read by its tenant; the log keeps the whole reason)."""
    reason = _URI.sub('<uri>', reason)
    for name in sorted({n for n in host_names if n and len(n) > 1}, key=len, reverse=True):
        reason = re.sub(r'(?<![\w.-])%s(?![\w-])' % re.escape(name), '<host>', reason)
    return reason


class CloneSpawn:
    """Spawn ``instance`` as a live clone; ``driver`` is the PwnetizerDriver."""

    def __init__(self, driver, context, instance, image_meta, network_info,
                 contract_text, source_api=None):
        self.driver = driver
        self.context = context
        self.instance = instance
        self.image_meta = image_meta
        self.network_info = network_info or []
        self.contract_text = contract_text
        self.contract = None        # once verified
        self.source_api = source_api or rpcapi.CloneSourceAPI()
        self._plugged = False
        self.chosen_models = {}     # device class -> model, from the contract
        # what this clone is made from: the contract's source, or in a
        # fan-out tree an earlier clone of the same request
        self.source_uuid = None
        self.source_host = None
        self.config_drive = None    # the clone's own config drive (a path), once here
        self._made_files = []       # what this spawn made that an undo deletes

    def run(self):
        try:
            self.contract = self._consume_contract()
        except (objects_base.Unverified, nova_exception.UnexpectedTaskStateError) as e:
            # Nothing of it is acted on: not its source, not its host.
            LOG.error('Refused the clone contract of this instance: %s', e,
                      instance=self.instance)
            raise nova_exception.BuildAbortException(
                instance_uuid=self.instance.uuid,
                reason='the clone contract was refused: %s' % e) from e
        self.source_uuid = self.contract.source_uuid
        self.source_host = self.contract.source_host
        try:
            with compute_utils.EventReporter(self.context, SOURCE_EVENT % self.instance.uuid,
                                             self.driver.service_host,
                                             self.contract.source_uuid, graceful_exit=True):
                self._choose_parent()
                # what takes the tenant's time first: the source's lease
                # (asked for next) covers the engine's waits only
                self._mirror_ports()
                self._apply_models()
                own_files = self._boot_files(self._instance_dir())
                self._build_config_drive()
                source = self._prepare_source()
                result = self._clone(source, own_files)
            self._ensure_taps_up()
        except Exception as e:
            reason = self._reason(e)
            LOG.error('Clone of %s failed: %s', self.source_uuid, reason,
                      instance=self.instance)
            self._undo()
            self._tell_source(error=reason)
            # the fault is the tenant's to read: no host names or addresses
            raise nova_exception.BuildAbortException(
                instance_uuid=self.instance.uuid,
                reason=public_reason(reason, self._host_names())) from e
        try:
            self._record(result)
        except Exception as e:   # the clone runs: its bookkeeping never undoes it
            LOG.error('Could not record the figures of this clone: %s', e,
                      instance=self.instance)
        finally:   # the source's lease ends with the clone, whatever happens here
            self._tell_source(figures=result.figures())
        LOG.info('Cloned live from %s: source paused %s ms, ready in %s s',
                 self.source_uuid, result.source_paused_ms, result.time_to_ready,
                 instance=self.instance)
        return result

    # -- steps -------------------------------------------------------------

    def _consume_contract(self):
        """Take the contract out of the instance (once: the save expects
        the spawn's task state), then verify it for this instance.

        A contract clones once: a later spawn of this instance (rebuild,
        evacuate) boots its image like any other server, and a later move
        is scheduled like any other server's.
        """
        for key in clone_contract.keys_in(self.instance.system_metadata):
            self.instance.system_metadata.pop(key)
        self.instance.save(expected_task_state=[task_states.SPAWNING])
        self._drop_scheduler_hint()
        if not self.contract_text:
            raise objects_base.Unverified('the instance carries no clone contract')
        secrets = clone_secret.accepted_by(CONF.pwnetizer)
        if not secrets:
            raise objects_base.Unverified(
                '[pwnetizer] clone_secret of this host cannot verify contracts: %s'
                % clone_secret.problem(CONF.pwnetizer.clone_secret))
        contract = clone_contract.CloneContract.from_text(self.contract_text, secrets)
        contract.check(self.instance.uuid, self.instance.project_id)
        try:   # signed by nova-api, and still only what Nova here keeps
            image_models.check(contract.device_models)
        except (image_models.NotKept, engine.PwnetizerError) as e:   # or plugins broken
            raise objects_base.Unverified(str(e))
        return contract

    def _drop_scheduler_hint(self):
        try:
            spec = objects.RequestSpec.get_by_instance_uuid(self.context, self.instance.uuid)
        except nova_exception.RequestSpecNotFound:
            return
        hints = spec.scheduler_hints if spec.obj_attr_is_set('scheduler_hints') else None
        if hints and clonerequest.HINT_KEY in hints:
            hints.pop(clonerequest.HINT_KEY)
            spec.scheduler_hints = hints
            spec.save()

    def _choose_parent(self):
        """In a fan-out tree ([pwnetizer] fanout), clone an earlier clone of
        the same request once it is ACTIVE; the source if it fails or is gone."""
        if CONF.pwnetizer.fanout != 'tree' or not self.instance.obj_attr_is_set(
                'launch_index'):
            return
        parent_index = fanout.parent_index(self.instance.launch_index or 0)
        if parent_index is None:
            return
        siblings = objects.InstanceList.get_by_filters(
            self.context, {'reservation_id': self.instance.reservation_id,
                           'project_id': self.instance.project_id, 'deleted': False})
        parent = next((i for i in siblings if i.launch_index == parent_index), None)
        deadline = time.monotonic() + CONF.pwnetizer.clone_timeout
        while parent is not None and time.monotonic() < deadline:
            if parent.vm_state == vm_states.ACTIVE and parent.task_state is None:
                LOG.info('Cloning %s, clone %d of this request (fan-out tree)',
                         parent.uuid, parent_index + 1, instance=self.instance)
                self.source_uuid, self.source_host = parent.uuid, parent.host
                self.instance.metadata[PARENT_KEY] = parent.uuid
                self.instance.save()
                return
            if parent.vm_state not in (vm_states.BUILDING,):
                break
            time.sleep(PARENT_POLL_S)
            try:
                parent.refresh()
            except nova_exception.InstanceNotFound:
                break
        LOG.info('Clone %d of this request cannot serve as the source: cloning %s',
                 parent_index + 1, self.source_uuid, instance=self.instance)

    def _prepare_source(self):
        """The source host's answer; waits while another clone of the source
        runs (QEMU migrates out one stream at a time)."""
        deadline = time.monotonic() + CONF.pwnetizer.clone_timeout
        while True:
            try:
                return self.source_api.prepare_source(
                    self.context, self.source_host, self.contract_text, self.source_uuid,
                    self.instance.uuid)
            except messaging.MessagingTimeout:
                LOG.error('The source host %s did not answer within %d s',
                          self.source_host, CONF.pwnetizer.rpc_timeout,
                          instance=self.instance)
                raise nova_exception.NovaException(
                    'the source host did not answer within %d s'
                    % CONF.pwnetizer.rpc_timeout)
            except source_errors.SourceBusy as e:
                if time.monotonic() > deadline:
                    raise
                LOG.debug('Waiting for the source: %s', self._reason(e),
                          instance=self.instance)
                time.sleep(BUSY_RETRY_S)

    def _mirror_ports(self):
        """Give each of the clone's ports its own source port's settings
        (:mod:`nova_pwnetizer.port_settings`), as the tenant: Neutron's
        policy decides what the tenant may set.  Before the clone runs."""
        client = neutron.get_client(self.context)
        source = objects.Instance.get_by_uuid(self.context, self.contract.source_uuid,
                                              expected_attrs=['info_cache'])
        # the NICs each server has, not every port that names it as its
        # device: any project that may make ports on a network can set that
        source_ports = port_settings.nics_of(
            source, client.list_ports(device_id=source.uuid)['ports'])
        vifs = [vif['id'] for vif in self.network_info]
        clone_ports = {p['id']: p for p in
                       client.list_ports(device_id=self.instance.uuid)['ports']
                       if p['id'] in vifs}
        if len(vifs) != len(source_ports) or set(vifs) != set(clone_ports):
            raise nova_exception.NovaException(
                'the clone has %d port(s), its source %d: they cannot be paired'
                % (len(vifs), len(source_ports)))
        readdressed = False
        for source_port, vif in zip(source_ports, vifs):
            try:
                update = port_settings.changes(source_port, clone_ports[vif],
                                               self.contract.address_pairs)
            except port_settings.Mismatch as e:
                raise nova_exception.NovaException(str(e))
            if not update:
                continue
            LOG.info('Port %s of this clone takes %s from source port %s',
                     vif, ', '.join(sorted(update)), source_port['id'],
                     instance=self.instance)
            try:
                client.update_port(vif, {'port': update})
            except Exception as e:
                # Neutron's words may name other projects' ids or hosts
                LOG.error('Port %s of this clone refused %s: %s', vif, update, e,
                          instance=self.instance)
                raise nova_exception.NovaException(
                    'port %s could not take the settings (%s) of its source port %s'
                    % (vif, ', '.join(sorted(update)), source_port['id']))
            readdressed = readdressed or 'fixed_ips' in update
        if readdressed:   # new addresses: the instance's network info with them
            self.network_info = neutron.API().get_instance_nw_info(self.context,
                                                                   self.instance)

    def _apply_models(self):
        """Write the device models nova-api chose for this clone (checked
        with the contract) as its image properties: Nova's XML of the clone
        has them from now on, the NICs Nova's VIF driver makes included."""
        chosen = dict(self.contract.device_models)
        if chosen:
            image_models.apply(self.instance.system_metadata, chosen)
            self.instance.save()
            self.image_meta = objects.ImageMeta.from_instance(self.instance)
            LOG.info('Device models of this clone: %s', chosen, instance=self.instance)
        self.chosen_models = chosen

    def _interfaces(self):
        virt_type = CONF.libvirt.virt_type
        return [self.driver.vif_driver.get_config(self.instance, vif, self.image_meta,
                                                  self.instance.flavor, virt_type).to_xml()
                for vif in self.network_info]

    def _instance_dir(self) -> str:
        instance_dir = libvirt_utils.get_instance_path(self.instance)
        os.makedirs(instance_dir, exist_ok=True)
        return instance_dir

    def _clone(self, source, own_files):
        self.driver.plug_vifs(self.instance, self.network_info)
        self._plugged = True
        engine_events.mark_event_loop_running()  # nova-compute runs libvirt's loop
        source_host = engine.Host(uri=CONF.pwnetizer.source_uri_template % source['address'])
        # The engine's own connection to this host's libvirtd, by the URI
        # other hosts use for it: the engine registers domain event callbacks
        # (lifecycle, device removed, QMP) for all domains, which libvirt
        # refuses a second time on Nova's connection ("event callback
        # already tracked": Nova has the same ones); and with the source's
        # URI made the same way, a clone on the source's own host is seen
        # as one (the engine compares URIs).
        target = engine.Host(uri=CONF.pwnetizer.source_uri_template
                             % manager.libvirt_address(self.driver.service_host))
        # the engine's options from [pwnetizer] as the CLI reads them, and
        # what Nova decides: the clone's identity, NICs and placement here,
        # its disks in its own instance directory (the source's, renamed),
        # its own kernel, ramdisk and config drive there, a persistent domain
        # as every Nova guest
        options = engine_options.CloneOptions.from_conf(
            CONF.pwnetizer, name=self.instance.name, uuid=self.instance.uuid,
            genid=self._store_genid(),
            interfaces=self._interfaces(),
            migration_address=(CONF.pwnetizer.migration_address
                               or CONF.libvirt.live_migration_inbound_addr or CONF.my_ip),
            device_models=dict(self.chosen_models),
            target_placement=target_placement.for_this_host(),
            guardian=CONF.pwnetizer.clone_guardian,
            hostname=self._guest_hostname())
        options.disk_dir, options.persistent = None, True
        try:
            guest = source_host.lookup(source['domain'])
            options.own_files = {**own_files, **self._own_config_drive(guest.tree())}
            return engine.clone(guest, target, options, progress=self._progress)
        finally:   # one pair of connections per clone
            for host in (source_host, target):
                try:
                    host.close()
                except Exception as e:
                    LOG.debug('Closing %s: %s', host, e)

    def _guest_hostname(self):
        """The clone's Nova host name for the guest step, or None (the
        guest keeps its own) where it is no RFC 1123 name: Nova's own
        (sanitize_hostname keeps Latin-1 letters) and an FQDN set through
        the API (underscores) may be none, and the clone must not fail
        for it."""
        name = (self.instance.hostname or None) \
            if self.instance.obj_attr_is_set('hostname') else None
        if name is not None and not clone_identity_script.valid_hostname(name):
            LOG.warning('The host name %r is no RFC 1123 name: the guest step '
                        'leaves the guest its own', name, instance=self.instance)
            return None
        return name

    def _store_genid(self) -> str:
        """A new VM generation ID for the clone, saved with it before the
        engine runs: the XML of its later boots (hard reboot, resize,
        unshelve) has the value the engine gives the running clone.

        A source without a genid gives a clone without one (the engine
        warns), and the value is kept all the same: from its first hard
        reboot the clone boots with a genid device of its own, which is
        right then (a fresh boot, nothing to keep compatible with, and a
        value no other server has), and its own clones get new ones.
        """
        genid = generation_id.new()
        self.instance.system_metadata[generation_id.SYSMETA_KEY] = genid
        self.instance.save()
        return genid

    def _ensure_taps_up(self):
        """libvirt sets the host side of a plugged NIC up; a switch that
        opens the tap in the same instant can clear that again (Open
        vSwitch's userspace datapath writes the tap's flags back to set it
        promiscuous: seen in the test cloud), which cuts the clone off its
        network.  Set any such tap of this clone up."""
        for vif in self.network_info:
            dev = vif.get('devname')
            if dev and linux_net.device_exists(dev) and not _link_up(dev):
                LOG.warning('The tap %s of this clone was down after the NIC swap; '
                            'setting it up', dev, instance=self.instance)
                linux_net.set_device_enabled(dev)

    def _boot_files(self, instance_dir):
        """An image booted with its own kernel and ramdisk (``kernel_id``,
        ``ramdisk_id``) has them in each instance's directory, which on
        another host does not exist: fetch the clone's into its own
        directory the way Nova's spawn does (through the image cache; the
        live migration's ``_fetch_instance_kernel_ramdisk`` refuses an AKI
        kernel: "Image does not pass safety check") and have the clone use
        them.  Returns the engine's ``own_files`` of them."""
        if not (self.instance.obj_attr_is_set('kernel_id') and self.instance.kernel_id):
            return {}
        for name, image_id in (('kernel', self.instance.kernel_id),
                               ('ramdisk', self.instance.ramdisk_id)):
            if image_id:
                self.driver.image_backend.by_name(self.instance, name, 'raw').cache(
                    fetch_func=libvirt_utils.fetch_raw_image, context=self.context,
                    filename=imagecache.get_cache_fname(image_id), image_id=image_id)
        # the source's directory, as Nova's live migration assumes: the same
        # instances_path on every host
        source_dir = os.path.join(CONF.instances_path, self.source_uuid)
        return {os.path.join(source_dir, name): os.path.join(instance_dir, name)
                for name in ('kernel', 'ramdisk')
                if os.path.exists(os.path.join(instance_dir, name))}

    def _build_config_drive(self) -> None:
        """Build the clone's own config drive in its own instance directory,
        as Nova's spawn does (``_create_configdrive``): from the clone
        instance (its UUID, host name, metadata) and its network info (its
        own ports and MACs, with the addresses taken from the source's
        ports), not the source's.  Nothing for an instance without one."""
        if not configdrive.required_by(self.instance):
            return
        if CONF.libvirt.images_type == 'rbd':
            raise nova_exception.NovaException(
                'the clone would have its config drive in RBD ([libvirt] images_type '
                '= rbd): only a file-backed config drive is made for a clone yet')
        path = os.path.join(self._instance_dir(), CONFIG_DRIVE)
        if not os.path.exists(path):   # (Nova keeps an existing one)
            self._made_files.append(path)
        info = libvirt_driver.InjectionInfo(network_info=self.network_info, files=[],
                                            admin_pass=None)
        with self.driver.before_domain(self.instance.uuid):
            self.driver._create_configdrive(self.context, self.instance, info)
        self.config_drive = path
        LOG.info('Built the config drive of this clone at %s', path, instance=self.instance)

    def _own_config_drive(self, source_tree: etree._Element) -> dict:
        """The engine's ``own_files`` entry of the config drive: the
        source domain's (its file as its XML names it on the source host)
        -> the clone's own, built for the clone (now, if the clone's record
        did not ask for one: the clone has the source's devices)."""
        drives = [(device, path) for device, path in domainxml.disk_files(source_tree)
                  if os.path.basename(path) == CONFIG_DRIVE]
        if not drives:
            if self.config_drive:
                LOG.info('The source has no config drive: this clone\'s is used from its '
                         'next hard reboot', instance=self.instance)
            return {}
        device, path = drives[0]
        ours = blockinfo.get_config_drive_type()
        if device != ours:
            raise nova_exception.NovaException(
                'the source\'s config drive is a %s, this host makes %s ones ([DEFAULT] '
                'config_drive_format = %s)' % (device, ours, CONF.config_drive_format))
        if self.config_drive is None:
            LOG.info('The source has a config drive: so has this clone',
                     instance=self.instance)
            self.instance.config_drive = True
            self.instance.save()
            self._build_config_drive()
        return {path: self.config_drive}

    def _progress(self, phase, fraction, message):
        LOG.debug('clone %s: %s', phase, message, instance=self.instance)

    def _record(self, result):
        figures = result.figures()
        LOG.info('Clone figures: %s', json.dumps(figures, sort_keys=True),
                 instance=self.instance)
        self.instance.system_metadata[FIGURES_KEY] = stored_figures(figures)
        self.instance.metadata['pwnetizer_pause_ms'] = str(result.source_paused_ms)
        if result.source_stopped_at:   # when it was paused (QEMU's STOP, epoch s)
            self.instance.metadata['pwnetizer_paused_at'] = '%.6f' % result.source_stopped_at
        self.instance.metadata['pwnetizer_ready_s'] = str(result.time_to_ready)
        for warning in result.warnings:
            LOG.warning('Clone of %s: %s', self.source_uuid, warning,
                        instance=self.instance)
        if result.warnings:
            self.instance.metadata[WARNING_KEY] = '; '.join(
                result.warnings)[:METADATA_VALUE_MAX]
        step = result.guest_step
        if step:    # (none when the engine left the clone paused)
            status = step.get('status') or 'off'
            self.instance.metadata[GUEST_STEP_KEY] = (
                status if not step.get('reason')
                else '%s: %s' % (status, step['reason']))[:METADATA_VALUE_MAX]
        self.instance.save()
        if step:
            self._record_guest_step(status, step.get('reason'))

    def _record_guest_step(self, status: str, reason: str) -> None:
        """The guest step's outcome on the clone's action: an event that
        succeeds only when the guest was made itself."""
        event = GUEST_STEP_EVENT
        try:
            objects.InstanceActionEvent.event_start(self.context, self.instance.uuid, event,
                                                    want_result=False,
                                                    host=self.driver.service_host)
            if status == 'done':
                objects.InstanceActionEvent.event_finish(self.context, self.instance.uuid,
                                                         event, want_result=False)
            else:
                objects.InstanceActionEvent.event_finish_with_failure(
                    self.context, self.instance.uuid, event,
                    exc_val=self.instance.metadata[GUEST_STEP_KEY],
                    # Nova records an Error only with a traceback; this is the
                    # engine's report, not one
                    exc_tb='guest step %s' % status, want_result=False)
        except Exception as e:   # the record of the step never fails the clone
            LOG.warning('Could not record the guest step on the action: %s', e,
                        instance=self.instance)
        if status != 'done':
            LOG.warning('The guest step did not make this clone itself (%s): %s', status,
                        reason, instance=self.instance)

    # -- failure -----------------------------------------------------------

    @staticmethod
    def _reason(exc):
        if isinstance(exc, messaging.RemoteError):
            return exc.value or exc.exc_type
        return getattr(exc, 'message', None) or str(exc) or exc.__class__.__name__

    def _host_names(self):
        names = [self.source_host, self.driver.service_host, CONF.host, CONF.my_ip,
                 CONF.pwnetizer.migration_address, CONF.libvirt.live_migration_inbound_addr]
        if self.source_host:
            names.append(manager.libvirt_address(self.source_host))
        return names

    def _undo(self):
        # The engine has rolled back its own work; Nova's cleanup of the
        # failed build (destroy, network deallocation) follows.
        if self._plugged:
            try:
                self.driver.unplug_vifs(self.instance, self.network_info)
            except Exception as e:
                LOG.warning('Could not unplug the VIFs of a failed clone: %s', e,
                            instance=self.instance)
        for path in self._made_files:   # (Nova's cleanup removes the directory too)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                LOG.warning('Could not delete %s of a failed clone: %s', path, e,
                            instance=self.instance)

    def _tell_source(self, figures=None, error=None):
        try:
            self.source_api.finish_source(self.context, self.source_host,
                                          self.contract_text, self.source_uuid,
                                          self.instance.uuid, figures=figures,
                                          error=error)
        except Exception as e:  # one-way news: never fail the clone for it
            LOG.debug('Could not tell the source host: %s', e)
