"""Listening on the first free port of a range."""

import random

from nova_pwnetizer.virt.engine import exception

_IN_USE = ('Address already in use', 'Failed to bind', 'EADDRINUSE')


def listen_on_free_port(port_min, port_max, listen, what):
    """Call ``listen(port)`` for ports of the range until one binds.

    Starts at a random port so that concurrent clones rarely collide.
    ``listen`` raises :class:`~.exception.QMPError` when the port is taken.
    """
    ports = list(range(port_min, port_max + 1))
    start = random.randrange(len(ports))
    last = None
    for port in ports[start:] + ports[:start]:
        try:
            listen(port)
            return port
        except exception.QMPError as e:
            if not any(marker in (e.desc or '') for marker in _IN_USE):
                raise
            last = e
    raise exception.PwnetizerError(
        'no free port for %s in %d-%d (%s)' % (what, port_min, port_max, last.desc))
