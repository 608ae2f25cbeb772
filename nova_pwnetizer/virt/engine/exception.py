"""Errors raised by the clone engine.

Every error carries a one-line, human readable message; the CLI prints it
as is and exits non-zero.
"""


class PwnetizerError(Exception):
    """Base class of all engine errors."""

    exit_code = 1

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InvalidOptions(PwnetizerError):
    """The caller asked for something that makes no sense."""

    exit_code = 2


class DomainNotFound(PwnetizerError):
    """No such domain on the connection."""

    exit_code = 3


class SourceNotCloneable(PwnetizerError):
    """The source domain (or the hosts) cannot be cloned live.

    Raised before anything is touched; ``reasons`` lists every problem.
    """

    exit_code = 4

    def __init__(self, source, reasons):
        self.reasons = list(reasons)
        super().__init__('cannot clone %s: %s' % (source, '; '.join(self.reasons)))


class NameInUse(PwnetizerError):
    """The clone's name, UUID or a file it needs already exists."""

    exit_code = 5


class CloneFailed(PwnetizerError):
    """A clone failed after it started; everything was rolled back.

    ``phase`` names the phase that failed.
    """

    exit_code = 6

    def __init__(self, phase, reason):
        self.phase = phase
        self.reason = reason
        super().__init__('clone failed during %s: %s (source left running, '
                         'clone removed)' % (phase, reason))


class CloneTimeout(PwnetizerError):
    """Waiting for QEMU took longer than the configured limit."""


class QMPError(PwnetizerError):
    """QEMU answered a monitor command with an error."""

    def __init__(self, command, error_class, desc):
        self.command = command
        self.error_class = error_class
        self.desc = desc
        super().__init__('QEMU refused %s: %s' % (command, desc))


class DomainDied(PwnetizerError):
    """A QEMU process the clone depends on went away."""
