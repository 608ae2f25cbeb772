"""Listening on the first free port of a range."""

import random

from nova_pwnetizer.virt.engine import exception

_IN_USE = ('Address already in use', 'Failed to bind', 'EADDRINUSE')


def in_use(error):
    """Whether an error says that a port is taken."""
    text = getattr(error, 'desc', None) or str(error)
    return any(marker in text for marker in _IN_USE)


def listen_on_free_port(port_min, port_max, listen, what, exclude=()):
    """Call ``listen(port)`` for ports of the range until one binds.

    Starts at a random port so that concurrent clones rarely collide, and
    skips the ports in ``exclude``.  ``listen`` raises an error that
    :func:`in_use` recognises when the port is taken.
    """
    ports = list(range(port_min, port_max + 1))
    start = random.randrange(len(ports))
    last = None
    for port in ports[start:] + ports[:start]:
        if port in exclude:
            continue
        try:
            listen(port)
            return port
        except Exception as e:
            if not in_use(e):
                raise
            last = e
    raise exception.PwnetizerError(
        'no free port for %s in %d-%d (%s)' % (what, port_min, port_max, last))
