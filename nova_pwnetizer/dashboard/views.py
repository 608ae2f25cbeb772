from django.urls import reverse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from horizon import exceptions
from horizon import forms
from horizon.utils import memoized

from openstack_dashboard import api

from nova_pwnetizer.dashboard import forms as clone_forms

INDEX_URL = "horizon:project:instances:index"


class CloneView(forms.ModalFormView):
    form_class = clone_forms.CloneInstance
    form_id = "clone_instance_form"
    modal_id = "clone_instance_modal"
    page_title = _("Clone Instance")
    submit_label = _("Clone")
    submit_url = "horizon:project:pwnetizer:clone"
    template_name = "pwnetizer/clone.html"
    success_url = reverse_lazy(INDEX_URL)

    @memoized.memoized_method
    def get_object(self):
        try:
            return api.nova.server_get(self.request, self.kwargs['instance_id'])
        except Exception:
            exceptions.handle(self.request,
                              _('Unable to retrieve instance details.'),
                              redirect=reverse(INDEX_URL))

    def get_initial(self):
        instance = self.get_object()
        return {'instance_id': self.kwargs['instance_id'],
                'instance_name': instance.name,
                'name': '%s-clone' % instance.name[:249]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context['instance'] = self.get_object()
        context['max_clones'] = clone_forms.max_clones()
        context['submit_url'] = reverse(self.submit_url,
                                        args=(self.kwargs['instance_id'],))
        return context
