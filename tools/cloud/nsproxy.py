"""TCP forwarders between network namespaces, for the test cloud.

    python3 nsproxy.py NETNS:ADDR:PORT=TARGET [...]

Each argument makes a listening socket at ADDR:PORT inside the named
network namespace (``/run/netns/NETNS``) and forwards every connection to
TARGET, reached from the namespace this process started in: ``HOST:PORT``
(TCP) or a path (a unix socket, e.g. a libvirtd's).  So the compute hosts,
each in its own namespace, reach RabbitMQ and the cloud's APIs on their own
127.0.0.1, and each other's libvirtd at their bridge address, without
touching the daemons themselves.  A socket keeps the namespace it was made
in, so one process serves all namespaces.

Every TCP socket has Nagle's algorithm off, as libvirt's own have: a
libvirtd answers a call with an event and a reply, and with Nagle on the
second waits for the client's delayed ACK (about 40 ms per call).
"""

import asyncio
import ctypes
import os
import signal
import socket
import sys

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def tcp_listener(addr, port):
    """A listening socket made with IPPROTO_TCP: the connections asyncio
    accepts on it get TCP_NODELAY (it checks the protocol number)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def listen_in(netns, addr, port):
    own = os.open('/proc/self/ns/net', os.O_RDONLY)
    theirs = os.open('/run/netns/' + netns, os.O_RDONLY)
    try:
        _setns(theirs)
        try:
            return tcp_listener(addr, port)
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(theirs)


async def _pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            writer.close()


def _no_delay(writer):
    """Nagle off (asyncio only does it for sockets made with IPPROTO_TCP)."""
    sock = writer.get_extra_info('socket')
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def handler(target):
    async def handle(client_reader, client_writer):
        _no_delay(client_writer)
        try:
            if target.startswith('/'):
                reader, writer = await asyncio.open_unix_connection(target)
            else:
                host, port = target.rsplit(':', 1)
                reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        _no_delay(writer)
        await asyncio.gather(_pipe(client_reader, writer), _pipe(reader, client_writer))
        writer.close()
        client_writer.close()
    return handle


async def main(specs):
    servers = []
    for spec in specs:
        listen, target = spec.split('=', 1)
        netns, addr, port = listen.split(':')
        sock = listen_in(netns, addr, int(port))
        servers.append(await asyncio.start_server(handler(target), sock=sock))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print('nsproxy: serving %s' % ' '.join(specs), flush=True)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1:]))
