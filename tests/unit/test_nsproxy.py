"""The test cloud's forwarder (tools/cloud/nsproxy.py) on real sockets: it
forwards both ways and leaves Nagle's algorithm off, which otherwise added
a delayed ACK (about 40 ms) to each libvirt call across hosts."""

import asyncio
import importlib.util
import os
import socket

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'nsproxy', os.path.join(TOP, 'tools', 'cloud', 'nsproxy.py'))
nsproxy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nsproxy)


def _nodelay(sock):
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_accepted_connections_have_nagle_off():
    async def scenario():
        seen = []

        async def handle(reader, writer):
            seen.append(_nodelay(writer.get_extra_info('socket')))
            writer.close()
        listener = nsproxy.tcp_listener('127.0.0.1', 0)
        server = await asyncio.start_server(handle, sock=listener)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        await reader.read()
        writer.close()
        server.close()
        return seen
    assert asyncio.run(scenario()) == [1]


def test_no_delay_on_a_socket_asyncio_leaves_alone():
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)   # protocol 0
    try:
        assert _nodelay(plain) == 0

        class Writer:
            def get_extra_info(self, name):
                return plain
        nsproxy._no_delay(Writer())
        assert _nodelay(plain) == 1
    finally:
        plain.close()


def test_forwards_both_ways_to_a_unix_socket(tmp_path):
    path = str(tmp_path / 'echo.sock')

    async def scenario():
        async def echo(reader, writer):
            writer.write((await reader.readline()).upper())
            await writer.drain()
            writer.close()
        backend = await asyncio.start_unix_server(echo, path=path)
        listener = nsproxy.tcp_listener('127.0.0.1', 0)
        proxy = await asyncio.start_server(nsproxy.handler(path), sock=listener)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b'hello libvirt\n')
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        proxy.close()
        backend.close()
        return answer
    assert asyncio.run(scenario()) == b'HELLO LIBVIRT\n'
