"""The interface of a device-class randomizer plugin."""

import abc
import typing


class DeviceRandomizer(abc.ABC):
    """One class of emulated device whose model a clone may change.

    Plugins are registered in the entry point namespace
    ``nova_pwnetizer.randomizers``; an operator's own plugin needs nothing
    more than such an entry point.
    """

    #: Name of the class, e.g. ``nic``; also the entry point name.
    device_class: typing.Optional[str] = None
    #: Every model name the plugin understands.
    known_models: typing.Tuple[str, ...] = ()
    #: True when the change takes effect in the running clone (NIC hot-swap);
    #: False when it takes effect at the clone's next boot.
    live: bool = False
    #: The Nova image property (e.g. ``hw_vif_model``) whose values are this
    #: plugin's model names and which Nova's libvirt driver renders from the
    #: instance's system_metadata at every spawn, hard reboot and migration;
    #: None where there is none: Nova cannot keep the class, and does not
    #: offer it.
    nova_image_property: typing.Optional[str] = None

    @abc.abstractmethod
    def present(self, tree):
        """Whether the domain (an lxml tree) has a device of this class."""

    @abc.abstractmethod
    def current(self, tree):
        """The model the domain uses now."""

    @abc.abstractmethod
    def hypervisor_models(self, caps, tree):
        """Models the target hypervisor offers for this domain (a set).

        ``caps`` is a :class:`~.capabilities.HypervisorCaps`.
        """

    @abc.abstractmethod
    def apply(self, tree, model):
        """Rewrite the (persistent) domain tree to use ``model``."""
