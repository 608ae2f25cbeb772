"""The test guest's command agent on its second serial port (a socket)."""

import socket
import time

END = b'\n@@END '


class AgentError(Exception):
    pass


class Agent:
    """Run shell commands inside a test guest; one at a time."""

    def __init__(self, path, timeout=30):
        self.path = path
        self.timeout = timeout

    def run(self, command, timeout=None, check=True):
        """Return (output, rc) of ``command`` run by the guest's shell."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX)
        try:
            while True:  # the socket appears when QEMU starts
                try:
                    sock.connect(self.path)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if time.monotonic() > deadline:
                        raise AgentError('no agent socket at %s' % self.path)
                    time.sleep(0.1)
            sock.sendall(command.encode() + b'\n')
            buf = b''
            while True:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    raise AgentError('no answer to %r within %ss' % (command, timeout))
                if not chunk:
                    raise AgentError('agent closed the connection')
                buf += chunk
                idx = buf.rfind(END)
                if idx >= 0 and buf.endswith(b'\n') and idx + len(END) < len(buf):
                    out = buf[:idx].decode(errors='replace')
                    # A stale reply to a timed-out command may precede ours.
                    out = out.split('\n@@END ')[-1].split('\n', 1)[-1] \
                        if '\n@@END ' in out else out
                    rc = int(buf[idx + len(END):].strip() or 0)
                    if check and rc != 0:
                        raise AgentError('%r exited %d: %s' % (command, rc, out))
                    return out, rc
        finally:
            sock.close()

    def output(self, command, **kwargs):
        return self.run(command, **kwargs)[0].strip()
