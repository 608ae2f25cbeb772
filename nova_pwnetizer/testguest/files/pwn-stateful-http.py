#!/usr/bin/python3
"""A small stateful HTTP service for the Debian test image (stdlib only).

Its state lives in memory only: a random token made at start and a hit
counter.  ``GET /`` answers JSON with the token, the hits so far (this one
included), the process id, the host name and the kernel's boot id.  A live
clone of the VM continues this process, so the token stays the same and
the hits keep counting on from the source's.

    pwn-stateful-http [PORT]      (default 80, on every address)
"""

import http.server
import json
import os
import secrets
import socket
import sys
import threading
import time

TOKEN = secrets.token_hex(16)
STARTED = time.time()
_hits = 0
_lock = threading.Lock()


def _boot_id() -> str:
    with open('/proc/sys/kernel/random/boot_id') as f:
        return f.read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers ``GET /`` (and ``HEAD /``) with the service's state."""

    server_version = 'pwn-stateful-http/1'

    def _state(self) -> bytes:
        global _hits
        with _lock:
            _hits += 1
            hits = _hits
        return json.dumps({
            'token': TOKEN, 'hits': hits, 'pid': os.getpid(),
            'hostname': socket.gethostname(), 'boot_id': _boot_id(),
            'started': STARTED, 'time': time.time(),
        }).encode() + b'\n'

    def do_GET(self) -> None:
        if self.path.split('?', 1)[0] != '/':
            self.send_error(404)
            return
        body = self._state()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format: str, *args) -> None:
        pass  # no per-request journal lines


class DualStackServer(http.server.ThreadingHTTPServer):
    """Listens on IPv6 and IPv4 alike (IPv4 only where IPv6 is off)."""

    daemon_threads = True
    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    try:
        server = DualStackServer(('::', port), Handler)
    except OSError:
        server = http.server.ThreadingHTTPServer(('0.0.0.0', port), Handler)
    server.serve_forever()


if __name__ == '__main__':
    main()
