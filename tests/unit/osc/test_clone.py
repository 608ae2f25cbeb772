"""``openstack server clone`` (:class:`nova_pwnetizer.osc.v1.clone.CloneServer`)
with osc-lib's command test base, on openstacksdk's real compute proxy and a
fake Nova (requests-mock)."""

import io
import itertools

from openstack import exceptions as sdk_exceptions
from osc_lib import exceptions
from osc_lib.test import base
from requests_mock.contrib import fixture as rm_fixture

from nova_pwnetizer.osc import plugin
from nova_pwnetizer.osc.v1 import clone
from tests.unit.osc import fakes


class TestCloneServer(base.TestCommand):

    def setUp(self):
        super().setUp()
        self.nova = fakes.FakeNova(self.useFixture(rm_fixture.Fixture()))
        self.app.client_manager.compute = fakes.compute_proxy()
        self.app.client_manager.pwnetizer = plugin.make_client(self.app.client_manager)
        self.app.stderr = io.StringIO()
        self.cmd = clone.CloneServer(self.app, None)
        self.cmd.poll_interval = 0
        self.cmd._sleep = lambda seconds: None

    def run_cmd(self, args):
        """take_action with ``args``; the columns and the rows (a list)."""
        parsed_args = self.check_parser(self.cmd, args, [])
        columns, data = self.cmd.take_action(parsed_args)
        return columns, list(data)

    def assertNothingSent(self, before, args):
        """``args`` fail before any request: ``before`` requests were made."""
        self.assertEqual(before, len(self.nova.requests()))
        self.assertEqual([], self.nova.posted)

    # --- parser ---------------------------------------------------------------

    def test_parser_defaults(self):
        self.check_parser(self.cmd, ['web-1'], [
            ('server', 'web-1'), ('name', None), ('count', None), ('randomize', None),
            ('placement', None), ('properties', None), ('wait', False),
            ('timeout', None), ('address_pairs', None)])

    def test_parser_all_options(self):
        self.check_parser(self.cmd, [
            'web-1', '--name', 'web-2', '--count', '3', '--randomize',
            '--placement', 'pack', '--property', 'role=replica', '--property', 'tier=web',
            '--wait', '--timeout', '60'], [
            ('server', 'web-1'), ('name', 'web-2'), ('count', 3), ('randomize', True),
            ('placement', 'pack'), ('properties', {'role': 'replica', 'tier': 'web'}),
            ('wait', True), ('timeout', 60)])
        self.check_parser(self.cmd, ['web-1', '--no-randomize'], [('randomize', False)])

    def test_parser_refuses(self):
        for args in (['web-1', '--randomize', '--no-randomize'],
                     ['web-1', '--placement', 'elsewhere'],
                     ['web-1', '--count', 'two'],
                     ['web-1', '--property', 'role'],
                     ['web-1', '--property', '=replica'],
                     []):
            self.assertRaises(base.ParserException, self.check_parser, self.cmd, args, [])

    # --- cloning --------------------------------------------------------------

    def test_clone_by_name(self):
        columns, data = self.run_cmd(['web-1'])
        self.assertEqual(('ID', 'Name', 'Status'), columns)
        self.assertEqual([(fakes.clone_id(0), 'web-1-clone', 'BUILD')], data)
        self.assertEqual([(fakes.SOURCE_ID, {'clone': {}})], self.nova.posted)
        self.assertEqual('', self.app.stderr.getvalue())

    def test_clone_by_id_with_every_option(self):
        columns, data = self.run_cmd([
            fakes.SOURCE_ID, '--name', 'web-2', '--count', '2', '--randomize',
            '--placement', 'any', '--property', 'role=replica', '--address-pairs'])
        self.assertEqual([(fakes.clone_id(0), 'web-2-1', 'BUILD'),
                          (fakes.clone_id(1), 'web-2-2', 'BUILD')], data)
        self.assertEqual([(fakes.SOURCE_ID, {'clone': {
            'name': 'web-2', 'count': 2, 'randomize': True, 'placement': 'any',
            'metadata': {'role': 'replica'}, 'address_pairs': True}})], self.nova.posted)
        # by id: no lookup by name
        self.assertNotIn('detail', ' '.join(r.url for r in self.nova.requests('GET')))

    def test_no_randomize_is_sent(self):
        self.run_cmd(['web-1', '--no-randomize'])
        self.assertEqual({'clone': {'randomize': False}}, self.nova.posted[0][1])

    def test_unknown_server_posts_nothing(self):
        error = self.assertRaises(sdk_exceptions.NotFoundException,
                                  self.run_cmd, ['web-9'])
        self.assertIn('No Server found for web-9', str(error))
        self.assertEqual([], self.nova.requests('POST'))

    # --- local validation: nothing sent ---------------------------------------

    def assertRefusedLocally(self, args, *fragments):
        before = len(self.nova.requests())
        error = self.assertRaises(exceptions.CommandError, self.run_cmd, args)
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        self.assertNothingSent(before, args)
        return error

    def test_count_zero(self):
        self.assertRefusedLocally(['web-1', '--count', '0'],
                                  'Invalid --count 0: at least 1 clone')
        self.assertRefusedLocally(['web-1', '--count', '-2'], 'Invalid --count -2')

    def test_invalid_names(self):
        self.assertRefusedLocally(['web-1', '--name', '   '], "Invalid --name '   '",
                                  '1 to 255 characters, not all blanks')
        self.assertRefusedLocally(['web-1', '--name', ''], "Invalid --name ''")
        self.assertRefusedLocally(['web-1', '--name', 'n' * 256], 'Invalid --name')

    def test_invalid_properties(self):
        error = self.assertRefusedLocally(
            ['web-1', '--property', 'role=web', '--property', 'pwnetizer_family=x'],
            'Invalid --property pwnetizer_family=x', "starting with 'pwnetizer_' "
            'are reserved')
        self.assertNotIn('role=web', str(error))
        self.assertRefusedLocally(['web-1', '--property', 'a/b=1'],
                                  'Invalid --property a/b=1')
        self.assertRefusedLocally(['web-1', '--property', 'k=' + 'v' * 256],
                                  'Invalid --property k=vvv', 'at most 255 characters')

    def test_timeout_needs_wait(self):
        self.assertRefusedLocally(['web-1', '--timeout', '10'], '--timeout requires --wait')
        self.assertRefusedLocally(['web-1', '--wait', '--timeout', '0'],
                                  '--timeout must be 1 second or more')

    # --- refusals of the cloud ------------------------------------------------

    def assertRefusedByCloud(self, code, message):
        self.nova.refusal = (code, message)
        error = self.assertRaises(exceptions.CommandError, self.run_cmd,
                                  ['web-1', '--count', '9'])
        self.assertEqual('Cannot clone server web-1: %s (HTTP %d)' % (message, code),
                         str(error))
        self.assertEqual(1, len(self.nova.posted))

    def test_count_over_the_limit_400(self):
        self.assertRefusedByCloud(
            400, 'Invalid input for field/attribute clone/count: 9 is more than the 8 '
                 'clones one request may ask for.')

    def test_policy_or_quota_403(self):
        self.assertRefusedByCloud(
            403, "Quota exceeded for instances: Requested 9, but already used 2 of 10 "
                 "instances")

    def test_server_of_another_project_404(self):
        # visible to the caller's GET (e.g. an admin's reader role), but not to
        # the clone action
        self.assertRefusedByCloud(404, 'Instance %s could not be found.' % fakes.SOURCE_ID)

    def test_not_active_409(self):
        self.assertRefusedByCloud(
            409, 'Cannot clone server %s while it is in vm_state stopped: only an '
                 'active server can be cloned.' % fakes.SOURCE_ID)

    # --- --wait ---------------------------------------------------------------

    def test_wait_until_active(self):
        self.nova.plan(['BUILD', 'BUILD', 'ACTIVE'], ['BUILD', 'ACTIVE'])
        columns, data = self.run_cmd(['web-1', '--count', '2', '--wait'])
        self.assertEqual(('ID', 'Name', 'Status', 'Networks'), columns)
        networks = {'private': ['10.0.0.11', 'fd00::11']}
        self.assertListItemEqual([
            (fakes.clone_id(0), 'web-1-clone-1', 'ACTIVE', clone.NetworksColumn(
                {'private': [{'addr': '10.0.0.11'}, {'addr': 'fd00::11'}]})),
            (fakes.clone_id(1), 'web-1-clone-2', 'ACTIVE', clone.NetworksColumn(
                {'private': [{'addr': '10.0.0.12'}, {'addr': 'fd00::12'}]}))], data)
        self.assertEqual(networks, data[0][3].machine_readable())
        self.assertEqual('private=10.0.0.11, fd00::11', data[0][3].human_readable())
        self.assertEqual([
            'web-1-clone-1 (%s): BUILD' % fakes.clone_id(0),
            'web-1-clone-2 (%s): BUILD' % fakes.clone_id(1),
            'web-1-clone-2 (%s): ACTIVE' % fakes.clone_id(1),
            'web-1-clone-1 (%s): ACTIVE' % fakes.clone_id(0),
        ], self.app.stderr.getvalue().splitlines())
        self.assertIsNone(self.cmd._failure)

    def test_wait_with_a_clone_in_error(self):
        self.nova.plan(['BUILD', 'ACTIVE'], ['BUILD', ('ERROR', 'No valid host was found.')],
                       ['BUILD', 'GONE'])
        parsed_args = self.check_parser(self.cmd, ['web-1', '--count', '3', '--wait',
                                                   '-f', 'value', '-c', 'Status'], [])
        error = self.assertRaises(exceptions.CommandError, self.cmd.run, parsed_args)
        self.assertEqual(
            '2 of 3 clones of server web-1 failed: web-1-clone-2 (%s): No valid host was '
            'found.; web-1-clone-3 (%s): deleted while building'
            % (fakes.clone_id(1), fakes.clone_id(2)), str(error))
        # the table is printed before the error
        self.assertEqual('ACTIVE\nERROR\nDELETED\n', self.fake_stdout.make_string())
        self.assertIn('web-1-clone-2 (%s): ERROR (No valid host was found.)'
                      % fakes.clone_id(1), self.app.stderr.getvalue())

    def test_wait_times_out(self):
        clock = itertools.count(0, 30)
        self.cmd._clock = lambda: next(clock)
        self.nova.plan(['BUILD'])
        error = self.assertRaises(exceptions.CommandError, self.run_cmd,
                                  ['web-1', '--wait', '--timeout', '100'])
        self.assertEqual("Clones of server web-1 still building after 100 s; see them "
                         "with 'openstack server list --reservation-id %s'"
                         % fakes.RESERVATION_ID, str(error))

    def test_wait_fails_on_an_error_of_the_api(self):
        self.nova.plan(['BUILD', 'ACTIVE'])
        self.nova.mocker.get(fakes.ENDPOINT + '/servers/' + fakes.clone_id(0),
                             status_code=503, text='Service Unavailable')
        error = self.assertRaises(exceptions.CommandError, self.run_cmd, ['web-1', '--wait'])
        self.assertIn('Error while waiting for the clones of server web-1: 503', str(error))
