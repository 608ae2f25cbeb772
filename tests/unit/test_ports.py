"""Port selection retries taken ports and skips excluded ones."""

import pytest

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import ports


def test_retries_taken_ports_and_skips_excluded():
    tried = []

    def listen(port):
        tried.append(port)
        if port != 5003:
            raise exception.QMPError('nbd-server-start', 'GenericError',
                                     'Failed to bind socket: Address already in use')
    assert ports.listen_on_free_port(5000, 5004, listen, 'x', exclude={5001}) == 5003
    assert 5001 not in tried


def test_other_errors_are_not_retried():
    def listen(port):
        raise exception.QMPError('migrate', 'GenericError', 'something else')
    with pytest.raises(exception.QMPError, match='something else'):
        ports.listen_on_free_port(5000, 5004, listen, 'x')


def test_all_taken():
    def listen(port):
        raise RuntimeError('Address already in use')
    with pytest.raises(exception.PwnetizerError, match='no free port for the stream'):
        ports.listen_on_free_port(5000, 5001, listen, 'the stream')
