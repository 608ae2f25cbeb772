from django.utils.translation import gettext_lazy as _

from horizon import tables

from openstack_dashboard import policy

CLONE_RULE = 'os_compute_api:servers:clone'


class CloneInstance(policy.PolicyTargetMixin, tables.LinkAction):
    name = "clone"
    verbose_name = _("Clone Instance")
    url = "horizon:project:pwnetizer:clone"
    classes = ("ajax-modal",)
    icon = "clone"
    policy_rules = (("compute", CLONE_RULE),)

    def allowed(self, request, instance=None):
        # Nova answers 409 for any other state; the live copy needs a running
        # server with no task in progress.
        return (instance is not None and instance.status == "ACTIVE" and
                not getattr(instance, "OS-EXT-STS:task_state", None))
