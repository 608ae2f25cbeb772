"""The errors the source host's clone endpoint sends back, typed.

The endpoint declares them with oslo.messaging's ``expected_exceptions``
(no traceback in its log: a refusal is an answer, not a fault).  Over a
real transport the caller gets them as :class:`oslo_messaging.RemoteError`
(Nova's transport deserializes only the exception modules it lists at
start-up, before any driver loads); :func:`typed` turns one back into its
class, and only a class of this module: nothing else a remote end names is
instantiated.
"""

import oslo_messaging as messaging


class SourceNotReady(Exception):
    """The source instance cannot be cloned now."""


class SourceBusy(SourceNotReady):
    """Another clone of the source is in progress (QEMU migrates out one at
    a time): the caller waits and asks again."""


#: what the endpoint may answer, by class name
_BY_NAME = {cls.__name__: cls for cls in (SourceNotReady, SourceBusy)}
EXPECTED = tuple(_BY_NAME.values())


def typed(error: Exception) -> Exception:
    """``error`` as the class of this module it stands for, or as it is."""
    if isinstance(error, messaging.RemoteError) and error.exc_type in _BY_NAME:
        return _BY_NAME[error.exc_type](error.value)
    return error
