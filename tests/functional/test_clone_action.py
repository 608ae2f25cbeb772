"""The clone action through Nova's own stack: nova-api with the paste
filter, conductor, scheduler with CloneHostFilter and CloneFamilyWeigher,
placement, the Neutron fixture, and nova-compute with PwnetizerDriver on
Nova's fake libvirt, whose QEMU monitor is the faithful fake of
:mod:`tests.functional.fake_qemu` (the real QEMU path is covered by the
engine's real-VM tests)."""

import json
import os
import sys

import fixtures

from lxml import etree
from oslo_config import cfg

from nova import context as nova_context
from nova import objects
from nova import policy as nova_policy
from nova.tests.functional.libvirt import base as nova_base

from nova_pwnetizer.cmd import install_shim
from nova_pwnetizer.objects import clone_contract
from nova_pwnetizer.virt import clone_spawn
from tests.functional import fake_qemu
from tests.unit import fakes as unit_fakes

CONF = cfg.CONF
SECRET = 'functional-harness-secret-0123456789abcdef'


class CloneActionTest(nova_base.ServersTestBase):
    ADDITIONAL_FILTERS = ['CloneHostFilter']
    microversion = 'latest'

    def setUp(self):
        self.flags(clone_secret=SECRET, group='pwnetizer')
        # Every clone from the source: the fake QEMU cannot yet serve a clone
        # made on a fake host as the source of the next one.  The tree
        # (the default) runs for real in the cloud test (tests/cloud).
        self.flags(fanout='source', group='pwnetizer')
        self.flags(api_paste_config=self._paste_with_clone_filter(), group='wsgi')
        self.flags(available_filters=['nova.scheduler.filters.all_filters',
                                      'nova_pwnetizer.scheduler.filters.CloneHostFilter'],
                   group='filter_scheduler')
        self.flags(weight_classes=['nova.scheduler.weights.all_weighers',
                                   'nova_pwnetizer.scheduler.weights.CloneFamilyWeigher'],
                   group='filter_scheduler')
        super().setUp()
        # Today's policy defaults (Nova's harness keeps the legacy ones,
        # under which any role of the owning project passes).
        self.flags(enforce_new_defaults=True, group='oslo_policy')
        nova_policy.reset()
        self.fx = self.useFixture(fake_qemu.FakeQemuFixture())
        for hostname in ('compute1', 'compute2', 'compute3'):
            self.start_compute(hostname, libvirt_version=fake_qemu.LIBVIRT_VERSION,
                               qemu_version=fake_qemu.QEMU_VERSION)
        self.ctxt = nova_context.get_admin_context()

    def _setup_compute_service(self):
        self.flags(compute_driver='pwnetizer.PwnetizerDriver')   # through the shim

    def _paste_with_clone_filter(self):
        original = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
        with open(original) as f:
            text = install_shim.add_paste_filter(f.read())
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'api-paste.ini')
        with open(path, 'w') as f:
            f.write(text)
        return path

    # -- helpers -----------------------------------------------------------

    def _boot_source(self, host='compute1'):
        return self._create_server(host=host, networks=[
            {'uuid': self.neutron.network_1['id']}])

    def _clone(self, server_id, body=None, api=None, status=202):
        resp = (api or self.api).api_post(
            '/servers/%s/action' % server_id, {'clone': body or {}},
            check_response_status=[status])
        return resp.body

    def _ports_of(self, server_id):
        return [p for p in self.neutron._ports.values() if p['device_id'] == server_id]

    # -- the happy path ----------------------------------------------------

    def test_clone_makes_active_servers_on_other_hosts(self):
        source = self._boot_source()
        body = self._clone(source['id'], {'name': 'web-copy', 'count': 2,
                                          'metadata': {'role': 'replica'}})
        servers = body['clone']['servers']
        self.assertEqual(2, len(servers))
        clones = [self._wait_for_state_change(self.admin_api.get_server(s['id']), 'ACTIVE')
                  for s in servers]

        # Placement "spread": never the source's host while others pass.
        hosts = {c['OS-EXT-SRV-ATTR:host'] for c in clones}
        self.assertNotIn('compute1', hosts)
        source = self.admin_api.get_server(source['id'])
        self.assertEqual(('ACTIVE', 'compute1'),
                         (source['status'], source['OS-EXT-SRV-ATTR:host']))

        source_port = self._ports_of(source['id'])[0]
        macs = {source_port['mac_address']}
        for clone in clones:
            # Its own Neutron port on the source's network ...
            ports = self._ports_of(clone['id'])
            self.assertEqual(1, len(ports))
            self.assertEqual(source_port['network_id'], ports[0]['network_id'])
            macs.add(ports[0]['mac_address'])
            # ... which is the NIC of its domain (instance UUID and name),
            # a copy of the source's running state.
            conn = self.computes[clone['OS-EXT-SRV-ATTR:host']].driver._host.get_connection()
            dom = conn.lookupByUUIDString(clone['id'])
            self.assertEqual(clone['OS-EXT-SRV-ATTR:instance_name'], dom.name())
            self.assertIn(ports[0]['mac_address'], dom.XMLDesc(0))
            self.assertEqual(1, dom.isActive())
            # Marked with its source; figures recorded.
            self.assertEqual(source['id'], clone['metadata']['pwnetizer_source'])
            self.assertEqual('replica', clone['metadata']['role'])
            # Tenants see no contract, no placement hint with a host name.
            self.assertEqual([], [k for k in clone['metadata']
                                  if k.startswith('pwnetizer_contract')])
            self.assertIn('pwnetizer_pause_ms', clone['metadata'])
            self.assertNotIn('pwnetizer_parent', clone['metadata'])   # fanout=source
            # The clone hint is consumed: a later move schedules it as any server.
            spec = objects.RequestSpec.get_by_instance_uuid(self.ctxt, clone['id'])
            self.assertNotIn('pwnetizer_clone', spec.scheduler_hints or {})
            # The contract is consumed: a later spawn (rebuild) boots the image.
            inst = objects.Instance.get_by_uuid(self.ctxt, clone['id'])
            self.assertEqual([], [k for k in inst.system_metadata
                                  if k.startswith('pwnetizer_contract')])
            figures = json.loads(inst.system_metadata[clone_spawn.FIGURES_KEY])
            self.assertIsNotNone(figures['source_paused_ms'])
            self.assertGreater(figures['memory_bytes'], 0)
            # Placement allocation on its host.
            allocations = self._get_allocations_by_server_uuid(clone['id'])
            self.assertEqual([self.compute_rp_uuids[clone['OS-EXT-SRV-ATTR:host']]],
                             list(allocations))
        self.assertEqual(3, len(macs))

        # Instance actions: the source's clone action with one event per clone.
        actions = self.api.get_instance_actions(source['id'])
        clone_action = [a for a in actions if a['action'] == 'pwnetizer_clone']
        self.assertEqual(1, len(clone_action))
        events = self.api.api_get('/servers/%s/os-instance-actions/%s' % (
            source['id'], clone_action[0]['request_id'])).body['instanceAction']['events']
        self.assertEqual({clone_spawn.SOURCE_EVENT % c['id']: 'Success' for c in clones},
                         {e['event']: e['result'] for e in events
                          if e['event'].startswith('pwnetizer_clone_to_')})
        # Quota: three servers in use.
        limits = self.api.get_limits()['absolute']
        self.assertEqual(3, limits['totalInstancesUsed'])

    def _randomized_clones(self, declared, count=2):
        """A source running virtio whose image declares NIC models
        ``declared``, its ``count`` randomized clones once ACTIVE, and
        their instances."""
        image = self._create_image({'pwnetizer_hw_vif_models': declared,
                                    'hw_vif_model': 'virtio'})
        source = self._create_server(host='compute1', image_uuid=image['id'], networks=[
            {'uuid': self.neutron.network_1['id']}])
        body = self._clone(source['id'], {'count': count, 'randomize': True})
        clones = [self._wait_for_state_change(self.admin_api.get_server(s['id']), 'ACTIVE')
                  for s in body['clone']['servers']]
        return source, [(c, objects.Instance.get_by_uuid(self.ctxt, c['id']))
                        for c in clones]

    def test_randomized_models_are_image_properties_of_the_clones(self):
        models = []
        for clone, inst in self._randomized_clones('e1000,rtl8139')[1]:
            model = inst.system_metadata['image_hw_vif_model']
            self.assertIn(model, ('e1000', 'rtl8139'))   # declared, not the source's
            # Nova's own view of the image now has it (kept across hard reboot) ...
            self.assertEqual(model, objects.ImageMeta.from_instance(
                inst).properties.hw_vif_model)
            # ... and the clone's NIC was hot-swapped to it.
            conn = self.computes[clone['OS-EXT-SRV-ATTR:host']].driver._host.get_connection()
            tree = etree.fromstring(conn.lookupByUUIDString(clone['id']).XMLDesc(0))
            self.assertEqual([model], [m.get('type') for m in
                                       tree.iterfind('devices/interface/model')])
            figures = json.loads(inst.system_metadata[clone_spawn.FIGURES_KEY])
            self.assertEqual(model, figures['devices']['nic'])
            models.append(model)
        # nova-api chose once for the request: the clones differ from the
        # source (virtio) and from each other
        self.assertEqual(['e1000', 'rtl8139'], sorted(models))

    def test_the_operators_randomize_options_apply_to_the_clones(self):
        self.flags(denied_models={'nic': 'rtl8139'}, group='randomize')
        source, clones = self._randomized_clones('virtio,e1000,rtl8139')
        models = [inst.system_metadata['image_hw_vif_model'] for _, inst in clones]
        # the least used first (e1000), then a tie of virtio and e1000
        self.assertEqual('e1000', models[0])
        self.assertIn(models[1], ('virtio', 'e1000'))
        # every model denied: refused before anything is created
        self.flags(denied_models={'nic': 'virtio|e1000|rtl8139'}, group='randomize')
        self._clone(source['id'], {'randomize': True}, status=409)
        self.assertEqual(3, len(self.api.get_servers()))

    # -- the contract across versions --------------------------------------

    def test_hosts_clone_with_a_contract_of_a_newer_minor_version(self):
        # a newer nova-api signs 1.2, with a field these hosts do not know:
        # they verify it as it came, read what they know, and clone
        signed = clone_contract.CloneContract.to_text

        def newer(primitive):
            primitive['nova_pwnetizer_object.version'] = '1.2'
            primitive['nova_pwnetizer_object.data']['numa_cells'] = [0]

        self.useFixture(fixtures.MonkeyPatch(
            'nova_pwnetizer.objects.clone_contract.CloneContract.to_text',
            lambda contract, secret, version=None: unit_fakes.resigned(
                signed(contract, secret), newer, secret)))
        source, clones = self._randomized_clones('e1000,rtl8139')
        self.assertEqual(['e1000', 'rtl8139'], sorted(
            inst.system_metadata['image_hw_vif_model'] for _, inst in clones))

    def test_a_contract_pinned_at_1_0_clones_on_a_newer_host(self):
        # nova-api pinned to sign 1.0, as during a rolling upgrade: the
        # hosts read the 1.1 fields it lacks with their defaults (no model
        # changed), and the clones are made
        self.flags(contract_version='1.0', group='pwnetizer')
        source, clones = self._randomized_clones('e1000,rtl8139')
        # (unpinned, the same request gives them e1000 and rtl8139: above)
        for clone, inst in clones:
            self.assertIn('pwnetizer_pause_ms', clone['metadata'])
            self.assertEqual('virtio', inst.system_metadata['image_hw_vif_model'])

    # -- refusals ------------------------------------------------------------

    def test_error_codes(self):
        source = self._boot_source()
        self._clone('9e7e6a3c-0000-4000-8000-000000000000', status=404)
        self._clone(source['id'], {'count': 0}, status=400)
        self._clone(source['id'], {'placement': 'nowhere'}, status=400)
        self._clone(source['id'], {'count': 99}, status=400)
        self._clone(source['id'], {'metadata': {'pwnetizer_source': 'x'}}, status=400)
        self._clone(source['id'], api=self.api_fixture.reader_api, status=403)
        self.flags(instances=2, group='quota')
        self._clone(source['id'], {'count': 2}, status=403)
        self.flags(clone_secret=None, group='pwnetizer')
        self._clone(source['id'], status=409)
        self.flags(clone_secret=SECRET, group='pwnetizer')
        self._stop_server(source)
        self._clone(source['id'], status=409)
        # Nothing was created by any of them.
        self.assertEqual(1, len(self.api.get_servers()))
        actions = self.api.get_instance_actions(source['id'])
        self.assertNotIn('pwnetizer_clone', [a['action'] for a in actions])

    # -- failure -------------------------------------------------------------

    def test_failed_clone_leaves_source_active_and_nothing_behind(self):
        source = self._boot_source()
        self.fx.kill_incoming('active')        # the clone's QEMU dies mid-copy
        body = self._clone(source['id'])
        clone_id = body['clone']['servers'][0]['id']
        clone = self._wait_for_state_change(self.admin_api.get_server(clone_id), 'ERROR')
        self.assertIn('fault', clone)
        self.assertIn('aborted', clone['fault']['message'])
        source = self.admin_api.get_server(source['id'])
        self.assertEqual(('ACTIVE', 'compute1'),
                         (source['status'], source['OS-EXT-SRV-ATTR:host']))
        src_dom = self.computes['compute1'].driver._host.get_connection() \
            .lookupByUUIDString(source['id'])
        self.assertEqual('running', self.fx.qemu(src_dom).status)
        for hostname, compute in self.computes.items():
            uuids = [d.UUIDString() for d in
                     compute.driver._host.get_connection().listAllDomains(0)]
            self.assertNotIn(clone_id, uuids, hostname)
        self.assertEqual({}, self._get_allocations_by_server_uuid(clone_id))
        self.assertEqual([], self._ports_of(clone_id))
