from django.utils.translation import gettext_lazy as _

import horizon

from nova_pwnetizer.dashboard import tables


class ClonePanel(horizon.Panel):
    """Not in the navigation: it only serves the clone form of the row action."""
    name = _("Clone Instance")
    slug = 'pwnetizer'
    nav = False
    permissions = ('openstack.services.compute',)
    policy_rules = (("compute", tables.CLONE_RULE),)
