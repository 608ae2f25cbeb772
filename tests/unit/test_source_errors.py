"""The source host's refusals, typed on the caller's side (source_errors,
rpcapi)."""

from unittest import mock

import oslo_messaging as messaging
import pytest

from nova_pwnetizer.virt import rpcapi
from nova_pwnetizer.virt import source_errors


@pytest.mark.parametrize('name,cls', [('SourceNotReady', source_errors.SourceNotReady),
                                      ('SourceBusy', source_errors.SourceBusy)])
def test_a_remote_refusal_is_its_own_class_again(name, cls):
    error = source_errors.typed(messaging.RemoteError(name, 'source server s is busy'))
    assert type(error) is cls and str(error) == 'source server s is busy'


@pytest.mark.parametrize('name', ['OSError', 'NovaException', 'SystemExit', None])
def test_a_class_of_no_refusal_stays_a_remote_error(name):
    remote = messaging.RemoteError(name, 'boom')
    assert source_errors.typed(remote) is remote


def test_an_error_that_is_not_remote_is_as_it_was():
    error = source_errors.SourceBusy('in-process')
    assert source_errors.typed(error) is error


def _api(answer):
    api = rpcapi.CloneSourceAPI.__new__(rpcapi.CloneSourceAPI)
    api.client = mock.Mock()
    api.client.can_send_version.return_value = True
    api.client.prepare.return_value.call.side_effect = answer
    return api


def test_prepare_source_raises_the_typed_refusal():
    api = _api(messaging.RemoteError('SourceBusy', 'being cloned to c'))
    with pytest.raises(source_errors.SourceBusy, match='being cloned to c'):
        api.prepare_source('ctx', 'host', 'contract', 's', 'c')
    api.client.prepare.return_value.call.assert_called_once_with(
        'ctx', 'prepare_source', source_uuid='s', clone_uuid='c', contract='contract')


def test_prepare_source_lets_other_remote_errors_through():
    api = _api(messaging.RemoteError('ValueError', 'bad'))
    with pytest.raises(messaging.RemoteError):
        api.prepare_source('ctx', 'host', 'contract', 's', 'c')
