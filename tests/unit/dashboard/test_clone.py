"""The "Clone Instance" action of the Horizon plugin, with Horizon's own test
helpers and test data, the API mocked at its edge as Horizon's tests do."""

import contextlib
from unittest import mock

from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse
from openstack_auth import policy as auth_policy
from oslo_policy import opts as policy_opts
import requests_mock

from openstack_dashboard import api
from openstack_dashboard.dashboards.project.instances import tables as instance_tables
from openstack_dashboard.test import helpers as test

from nova_pwnetizer import client
from nova_pwnetizer.dashboard import api as clone_api
from nova_pwnetizer.dashboard import overrides
from nova_pwnetizer.dashboard import tables as clone_tables
from tests.unit.dashboard import django_env

pytestmark = django_env.QUIET

INDEX_URL = reverse('horizon:project:instances:index')
POLICY = dict(POLICY_CHECK_FUNCTION='openstack_auth.policy.check',
              POLICY_FILES={'compute': 'nova_policy.yaml'},
              POLICY_DIRS={'compute': ['nova_policy.d', settings.PWNETIZER_POLICY_DIR]})


@contextlib.contextmanager
def horizon_policy(**settings):
    """Horizon's own policy check (openstack_auth) with the plugin's snippet,
    Nova's new policy defaults enforced as oslo.policy does by default: the
    placement fixture of Nova's functional tests, which may run before in the
    same process, leaves the shared option's default at False."""
    (enforce_new,) = [opt for opt in policy_opts._options if opt.name == 'enforce_new_defaults']
    with override_settings(**dict(POLICY, **settings)), \
            mock.patch.object(enforce_new, 'default', True):
        auth_policy.reset()
        try:
            yield
        finally:
            auth_policy.reset()


def clone_url(instance_id):
    return reverse('horizon:project:pwnetizer:clone', args=[instance_id])


class CloneActionTests(test.TestCase):
    """Where the action is offered."""

    def setUp(self):
        super().setUp()
        # what the other row actions of the table ask the cloud
        mock.patch.object(api.nova, 'is_feature_available', return_value=True).start()
        for name in ('floating_ip_supported', 'floating_ip_simple_associate_supported'):
            mock.patch.object(api.neutron, name, return_value=True).start()

    def row_actions(self, instance):
        request = self.factory.get(INDEX_URL)     # of the active user
        table = instance_tables.InstancesTable(request, data=[instance])
        return [action.name for action in table.get_row_actions(instance)]

    def test_added_after_create_snapshot_once(self):
        overrides.add_row_action()
        names = [action.name for action in instance_tables.InstancesTable._meta.row_actions]
        self.assertEqual(1, names.count('clone'))
        self.assertEqual(names.index('snapshot') + 1, names.index('clone'))

    def test_shown_for_active(self):
        self.assertIn('clone', self.row_actions(self.servers.first()))

    def test_hidden_for_shutoff(self):
        server = self.servers.first()
        server.status = 'SHUTOFF'
        self.assertNotIn('clone', self.row_actions(server))

    def test_hidden_while_a_task_runs(self):
        server = self.servers.first()
        setattr(server, 'OS-EXT-STS:task_state', 'image_snapshot')
        self.assertNotIn('clone', self.row_actions(server))

    def test_hidden_for_building_and_paused(self):
        for server in self.servers.list():
            if server.status != 'ACTIVE':
                self.assertNotIn('clone', self.row_actions(server), server.status)

    def test_policy_allows_a_project_member(self):
        with horizon_policy():
            self.assertIn('clone', self.row_actions(self.servers.first()))

    def as_reader(self):
        self.setActiveUser(id=self.user.id, token=self.token, username=self.user.name,
                           tenant_id=self.tenant.id, service_catalog=self.service_catalog,
                           authorized_tenants=self.tenants.list(),
                           roles=[{'id': '3', 'name': 'reader'}])

    def test_policy_denies_a_reader(self):
        self.as_reader()
        with horizon_policy():
            self.assertNotIn('clone', self.row_actions(self.servers.first()))

    def test_policy_checks_the_instances_project(self):
        server = self.servers.first()
        server.tenant_id = 'another-project'
        with horizon_policy():
            self.assertNotIn('clone', self.row_actions(server))

    def test_policy_without_the_snippet_shows_it_to_anyone(self):
        # Horizon allows a rule it does not know (Nova then refuses it).
        self.as_reader()
        with horizon_policy(POLICY_DIRS={'compute': ['nova_policy.d']}):
            self.assertIn('clone', self.row_actions(self.servers.first()))

    def test_action_attributes(self):
        action = clone_tables.CloneInstance()
        self.assertEqual((('compute', 'os_compute_api:servers:clone'),), action.policy_rules)
        self.assertIn('ajax-modal', action.classes)

    @test.create_mocks({
        api.nova: ('flavor_list', 'server_list_paged', 'tenant_absolute_limits',
                   'is_feature_available'),
        api.glance: ('image_list_detailed',),
        api.neutron: ('floating_ip_simple_associate_supported', 'floating_ip_supported'),
        api.network: ('servers_update_addresses',),
        api.cinder: ('volume_list',),
    })
    def test_instances_page_links_active_instances(self):
        servers = self.servers.list()
        self.mock_is_feature_available.return_value = True
        self.mock_flavor_list.return_value = self.flavors.list()
        self.mock_image_list_detailed.return_value = (self.images.list(), False, False)
        self.mock_server_list_paged.return_value = [servers, False, False]
        self.mock_servers_update_addresses.return_value = None
        self.mock_tenant_absolute_limits.return_value = self.limits['absolute']
        self.mock_floating_ip_supported.return_value = True
        self.mock_floating_ip_simple_associate_supported.return_value = True
        self.mock_volume_list.return_value = []

        res = self.client.get(INDEX_URL)

        self.assertEqual(200, res.status_code)
        content = res.content.decode()
        active = [s for s in servers if s.status == 'ACTIVE']
        self.assertTrue(active and len(active) < len(servers))
        for server in servers:
            link = 'href="%s"' % clone_url(server.id)
            if server.status == 'ACTIVE':
                self.assertIn(link, content)
            else:
                self.assertNotIn(link, content)
        self.assertIn('Clone Instance', content)


class CloneFormTests(test.TestCase):
    """The modal form and what it sends."""

    def post(self, server, **fields):
        data = {'instance_id': server.id, 'instance_name': server.name,
                'name': 'web-b', 'count': 3, 'randomize': 'on', 'placement': 'pack'}
        data.update(fields)
        return self.client.post(clone_url(server.id), {k: v for k, v in data.items()
                                                       if v is not None})

    @test.create_mocks({api.nova: ('server_get',)})
    def test_get_renders_the_form(self):
        server = self.servers.first()
        self.mock_server_get.return_value = server

        res = self.client.get(clone_url(server.id))

        self.assertEqual(200, res.status_code)
        self.assertTemplateUsed(res, 'pwnetizer/clone.html')
        self.assertTemplateUsed(res, 'pwnetizer/_clone.html')
        form = res.context['form']
        self.assertEqual('%s-clone' % server.name, form.initial['name'])
        self.assertEqual(server.id, form.initial['instance_id'])
        self.assertEqual(8, form.fields['count'].max_value)
        content = res.content.decode()
        self.assertIn('<h3 class="modal-title">Clone Instance "%s"</h3>' % server.name,
                      content)
        self.assertIn('value="spread" selected', content.replace('selected="selected"',
                                                                 'selected'))
        self.assertIn('action="%s"' % clone_url(server.id), content)
        self.mock_server_get.assert_called_once_with(test.IsHttpRequest(), server.id)

    @test.create_mocks({api.nova: ('server_get',)})
    def test_get_as_ajax_renders_the_modal(self):
        server = self.servers.first()
        self.mock_server_get.return_value = server

        res = self.client.get(clone_url(server.id), HTTP_X_REQUESTED_WITH='XMLHttpRequest')

        self.assertTemplateUsed(res, 'pwnetizer/_clone.html')
        self.assertTemplateNotUsed(res, 'pwnetizer/clone.html')
        self.assertIn('id="clone_instance_form"', res.content.decode())

    @test.create_mocks({api.nova: ('server_get',)})
    def test_get_of_an_unknown_instance_goes_back_to_the_index(self):
        self.mock_server_get.side_effect = self.exceptions.nova

        res = self.client.get(clone_url('nonexistent'))

        self.assertRedirectsNoFollow(res, INDEX_URL)

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_post_clones_and_returns_to_the_index(self):
        server = self.servers.first()
        self.mock_server_get.return_value = server
        self.mock_server_clone.return_value = client.Reservation(
            'r-abc', [{'id': 'c%d' % i, 'name': 'web-b-%d' % i} for i in (1, 2, 3)])

        res = self.post(server)

        self.assertNoFormErrors(res)
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.mock_server_clone.assert_called_once_with(
            test.IsHttpRequest(), server.id, name='web-b', count=3, randomize=True,
            placement='pack')
        self.assertMessageCount(success=1)
        self.assertCookieMessage(res, 'Cloning instance "%s" into 3 instances: '
                                      '"web-b-1", "web-b-2", "web-b-3".' % server.name)

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_post_of_one_clone_without_randomize(self):
        server = self.servers.first()
        self.mock_server_get.return_value = server
        self.mock_server_clone.return_value = client.Reservation(
            'r-abc', [{'id': 'c1', 'name': 'web-b'}])

        res = self.post(server, count=1, randomize=None, placement='any')

        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.mock_server_clone.assert_called_once_with(
            test.IsHttpRequest(), server.id, name='web-b', count=1, randomize=False,
            placement='any')
        self.assertCookieMessage(res, 'Cloning instance "%s" into "web-b".' % server.name)

    def assert_api_error_shown(self, code, fault):
        server = self.servers.first()
        self.mock_server_get.return_value = server
        self.mock_server_clone.side_effect = client.CloneFailed(code, fault)

        res = self.post(server)

        self.assertEqual(200, res.status_code)       # the form again, not the index
        self.assertTemplateUsed(res, 'pwnetizer/clone.html')
        self.assertMessageCount(res, error=1, success=0)
        (message,) = [str(m.message) for m in res.context['messages']]
        self.assertIn('Unable to clone instance "%s".' % server.name, message)
        self.assertIn(fault, message)
        self.mock_server_clone.assert_called_once()

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_post_conflict_shows_nova_message(self):
        self.assert_api_error_shown(
            409, "Cannot 'clone' instance while it is in task_state image_snapshot")

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_post_not_found_shows_nova_message(self):
        self.assert_api_error_shown(404, 'Instance 42 could not be found.')

    def assert_form_error(self, **fields):
        server = self.servers.first()
        self.mock_server_get.return_value = server

        res = self.post(server, **fields)

        self.assertFormErrors(res, 1)
        self.assertEqual(200, res.status_code)
        self.mock_server_clone.assert_not_called()
        return res

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_count_zero_is_refused(self):
        res = self.assert_form_error(count=0)
        self.assertIn('count', res.context['form'].errors)

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_count_over_the_limit_is_refused(self):
        res = self.assert_form_error(count=9)
        self.assertIn('count', res.context['form'].errors)

    @override_settings(PWNETIZER_MAX_CLONES=2)
    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_count_limit_follows_the_setting(self):
        self.assert_form_error(count=3)

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_blank_name_is_refused(self):
        res = self.assert_form_error(name='   ')
        self.assertIn('name', res.context['form'].errors)

    @test.create_mocks({api.nova: ('server_get',), clone_api: ('server_clone',)})
    def test_unknown_placement_is_refused(self):
        res = self.assert_form_error(placement='nowhere')
        self.assertIn('placement', res.context['form'].errors)


class CloneApiTests(test.APITestCase):
    """The API edge: nova_pwnetizer.client on the user's compute endpoint."""

    ENDPOINT = 'http://public.nova.example.com:8774/v2'

    def test_posts_the_action_with_the_users_token(self):
        with requests_mock.Mocker() as m:
            m.post('%s/servers/s-1/action' % self.ENDPOINT, status_code=202, json={
                'clone': {'reservation_id': 'r-1', 'servers': [{'id': 'c1', 'name': 'x'}]}})
            reservation = clone_api.server_clone(self.request, 's-1', name='x', count=1,
                                                 randomize=False, placement='spread')
        self.assertEqual('r-1', reservation.reservation_id)
        self.assertEqual(['c1'], reservation.server_ids)
        (sent,) = m.request_history
        self.assertEqual(self.token.id, sent.headers['X-Auth-Token'])
        self.assertEqual({'clone': {'name': 'x', 'count': 1, 'randomize': False,
                                    'placement': 'spread'}}, sent.json())

    def test_nova_fault_becomes_clone_failed(self):
        with requests_mock.Mocker() as m:
            m.post('%s/servers/s-1/action' % self.ENDPOINT, status_code=409, json={
                'conflictingRequest': {'code': 409, 'message': 'Instance is locked'}})
            with self.assertRaises(client.CloneFailed) as caught:
                clone_api.server_clone(self.request, 's-1', name='x')
        self.assertEqual(409, caught.exception.code)
        self.assertEqual('Instance is locked', caught.exception.message)

    @override_settings(OPENSTACK_SSL_NO_VERIFY=True)
    def test_adapter_follows_horizons_ssl_settings(self):
        adapter = clone_api.compute_adapter(self.request)
        self.assertFalse(adapter.session.verify)
        self.assertEqual(self.ENDPOINT, adapter.get_endpoint())

    def test_adapter_verifies_by_default(self):
        with mock.patch.object(settings, 'OPENSTACK_SSL_CACERT', None):
            self.assertIs(True, clone_api.compute_adapter(self.request).session.verify)
