"""A Nova guest whose migratable XML never carries a clone's incoming
migration arguments.

A clone's QEMU was started with ``-incoming <uri>`` (in
``<qemu:commandline>``, :func:`~.engine.domainxml.build_incoming`), and a
running domain's live XML keeps it; only its persistent definition drops
it.  Nova's live migration sends the live, migratable XML to the
destination, whose QEMU would then try to listen on the clone's old
address ("Failed to bind socket: Cannot assign requested address").
"""

from nova.virt.libvirt import guest as libvirt_guest

from nova_pwnetizer.virt.engine import domainxml


class MigratableGuest(libvirt_guest.Guest):
    """``guest`` (a Nova Guest), its migratable XML without ``-incoming``."""

    def __init__(self, guest: libvirt_guest.Guest) -> None:
        super().__init__(guest._domain)

    def get_xml_desc(self, dump_inactive: bool = False, dump_sensitive: bool = False,
                     dump_migratable: bool = False) -> str:
        xml = super().get_xml_desc(dump_inactive=dump_inactive,
                                   dump_sensitive=dump_sensitive,
                                   dump_migratable=dump_migratable)
        return domainxml.without_incoming(xml) if dump_migratable else xml
