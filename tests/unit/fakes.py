"""Fakes for fast unit tests (the real paths are covered by tests/integration)."""

import time

from nova_pwnetizer.virt.engine import events


class FakeGuest:
    """Records QMP commands; answers from a table of canned replies."""

    def __init__(self, name, replies=None, on_command=None):
        self.name = name
        self.commands = []
        self.replies = replies or {}
        self.on_command = on_command
        self.active = True

    def qmp(self, command, **args):
        self.commands.append((command, args))
        if self.on_command:
            self.on_command(command, args)
        reply = self.replies.get(command)
        return reply(args) if callable(reply) else reply

    def node_for_alias(self, alias):
        return 'libvirt-%s-format' % alias

    def is_active(self):
        return self.active

    def names(self):
        return [c for c, _ in self.commands]


def hub():
    return events.EventHub()


def emit(hub, role, name, **data):
    hub._add(events.Event(role, name, data, time.time()))
