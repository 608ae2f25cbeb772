"""The Horizon plugin in a real browser: Horizon (its test settings and test
data, the cloud's API mocked as in Horizon's own tests, the clone request
answered by requests-mock under the real nova_pwnetizer.client) served on a
local port to headless Chromium, which opens the instances page, clicks
"Clone Instance" in the row's action menu, fills in the modal form, submits
it and sees the success message.

Needs the ``chromium`` package (tools/setup-host.sh installs it); writes
artifacts/horizon-clone-menu.png, artifacts/horizon-clone-form.png and
artifacts/horizon-clone.png.
"""

import os
import threading

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers import basehttp
from django.test.utils import override_settings
import requests_mock

from openstack_dashboard import api
from openstack_dashboard.test import helpers as test
from openstack_dashboard import theme_settings

from tests.integration.dashboard import chromium
from tests.unit.dashboard import django_env

pytestmark = django_env.QUIET

ARTIFACTS = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'artifacts')
COMPUTE = 'http://public.nova.example.com:8774/v2'


class _QuietHandler(basehttp.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class HorizonCloneBrowserTest(test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        binary = chromium.find_binary()
        if not binary:
            raise AssertionError('no chromium; run tools/setup-host.sh (it installs the '
                                 'Debian package chromium)')
        cls.browser = chromium.Chromium(binary)
        cls.server = basehttp.ThreadedWSGIServer(('127.0.0.1', 0), _QuietHandler)
        cls.server.set_app(StaticFilesHandler(WSGIHandler()))
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = 'http://127.0.0.1:%d' % cls.server.server_address[1]
        # Horizon's test settings leave out its theme's stylesheets
        themes = theme_settings.get_theme_static_dirs(
            settings.AVAILABLE_THEMES, settings.THEME_COLLECTION_DIR, settings.ROOT_PATH)
        cls.settings = override_settings(
            ALLOWED_HOSTS=['127.0.0.1'],
            STATICFILES_DIRS=list(settings.STATICFILES_DIRS) + themes,
            COMPRESS_PRECOMPILERS=(('text/scss', 'horizon.utils.scss_filter.ScssFilter'),))
        cls.settings.enable()

    @classmethod
    def tearDownClass(cls):
        cls.settings.disable()
        cls.server.shutdown()
        cls.server.server_close()
        cls.browser.close()
        super().tearDownClass()

    def mock_instances_page(self, servers):
        self.mock_is_feature_available.return_value = True
        self.mock_flavor_list.return_value = self.flavors.list()
        self.mock_image_list_detailed.return_value = (self.images.list(), False, False)
        self.mock_server_list_paged.return_value = [servers, False, False]
        self.mock_server_get.side_effect = \
            lambda request, server_id: next(s for s in servers if s.id == server_id)
        self.mock_servers_update_addresses.return_value = None
        self.mock_tenant_absolute_limits.return_value = self.limits['absolute']
        self.mock_floating_ip_supported.return_value = True
        self.mock_floating_ip_simple_associate_supported.return_value = True
        self.mock_volume_list.return_value = []

    @test.create_mocks({
        api.nova: ('flavor_list', 'server_list_paged', 'server_get',
                   'tenant_absolute_limits', 'is_feature_available'),
        api.glance: ('image_list_detailed',),
        api.neutron: ('floating_ip_simple_associate_supported', 'floating_ip_supported'),
        api.network: ('servers_update_addresses',),
        api.cinder: ('volume_list',),
    })
    def test_clone_from_the_instances_page(self):
        source, other = self.servers.first(), self.servers.list()[3]
        other.status = 'SHUTOFF'
        self.mock_instances_page([source, other])
        browser = self.browser
        row = '#instances__row__%s' % source.id
        action = '#instances__row_%s__action_clone' % source.id

        with requests_mock.Mocker() as nova:
            nova.post('%s/servers/%s/action' % (COMPUTE, source.id), status_code=202, json={
                'clone': {'reservation_id': 'r-7xq2', 'servers': [
                    {'id': 'c-1', 'name': 'web-replica-1'},
                    {'id': 'c-2', 'name': 'web-replica-2'}]}})

            browser.open(self.url + '/project/instances/')
            browser.wait_visible(row)
            self.assertFalse(browser.evaluate(
                'document.querySelector("#instances__row_%s__action_clone") !== null'
                % other.id), 'Clone Instance offered for a SHUTOFF instance')

            # the row's action menu
            self.assertFalse(browser.visible(action))
            browser.click(row + ' .dropdown-toggle')
            browser.wait_visible(action)
            self.assertEqual('Clone Instance', browser.text(action).strip())
            browser.screenshot(os.path.join(ARTIFACTS, 'horizon-clone-menu.png'))
            browser.click(action)

            # the modal form
            modal = '.modal #clone_instance_form'
            browser.wait_visible(modal)
            self.assertEqual('Clone Instance "%s"' % source.name,
                             browser.text('.modal .modal-title').strip())
            self.assertEqual('%s-clone' % source.name,
                             browser.evaluate('document.querySelector("#id_name").value'))
            browser.fill('#id_name', 'web-replica')
            browser.fill('#id_count', '2')
            browser.click('.modal label[for="id_randomize"]')
            self.assertTrue(browser.evaluate('document.querySelector("#id_randomize").checked'))
            browser.screenshot(os.path.join(ARTIFACTS, 'horizon-clone-form.png'))
            browser.click('.modal .modal-footer input[type="submit"]')

            # back on the instances page, with Horizon's success message
            message = browser.wait_for(
                '(() => { const a = document.querySelector(".messages .alert-success");'
                ' return a && location.pathname === "/project/instances/" && a.innerText; })()',
                'the success message')
            browser.screenshot(os.path.join(ARTIFACTS, 'horizon-clone.png'))

        self.assertIn('Cloning instance "%s" into 2 instances: "web-replica-1", '
                      '"web-replica-2".' % source.name, message)
        (sent,) = nova.request_history
        self.assertEqual({'clone': {'name': 'web-replica', 'count': 2, 'randomize': True,
                                    'placement': 'spread'}}, sent.json())
        self.assertEqual(self.token.id, sent.headers['X-Auth-Token'])
        self.assertFalse([line for line in browser.console if line.startswith('exception')],
                         browser.console)
