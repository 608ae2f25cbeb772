from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from horizon import exceptions
from horizon import forms
from horizon import messages

from nova_pwnetizer.api import schema
from nova_pwnetizer import client
from nova_pwnetizer.dashboard import api

#: nova-api's ``[pwnetizer] max_clones_per_request`` default; a deployment
#: that changes it there sets PWNETIZER_MAX_CLONES in Horizon's settings.
MAX_CLONES = schema.COUNT_MAX_DEFAULT

PLACEMENT_CHOICES = (
    ('spread', _("Spread: other hosts than the source and its clones")),
    ('pack', _("Pack: the hosts of the source and its clones first")),
    ('any', _("Any host")),
)


def max_clones():
    return getattr(settings, 'PWNETIZER_MAX_CLONES', MAX_CLONES)


class CloneInstance(forms.SelfHandlingForm):
    instance_id = forms.CharField(widget=forms.HiddenInput())
    instance_name = forms.CharField(widget=forms.HiddenInput(), required=False)
    name = forms.CharField(max_length=255, label=_("Name"),
                           help_text=_("With a count over 1 the clones are "
                                       "named NAME-1, NAME-2, ..."))
    count = forms.IntegerField(label=_("Count"), min_value=1, initial=1)
    randomize = forms.BooleanField(
        label=_("Randomize device models"), required=False,
        help_text=_("Give each clone other emulated NIC, disk bus and video "
                    "models than the rest of its family, among those its "
                    "image declares."))
    placement = forms.ThemableChoiceField(label=_("Placement"),
                                          choices=PLACEMENT_CHOICES,
                                          initial='spread')

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # the limit of the settings in force now (validator and widget)
        self.fields['count'] = forms.IntegerField(
            label=_("Count"), min_value=1, max_value=max_clones(), initial=1)

    def clean(self):
        data = super().clean()
        if not self.errors:
            # The API's own schema, as nova-api applies it.
            try:
                client.clone_body(name=data['name'], count=data['count'],
                                  randomize=data['randomize'],
                                  placement=data['placement'])
            except client.CloneFailed as error:
                raise forms.ValidationError(error.message)
        return data

    def handle(self, request, data):
        source = data['instance_name'] or data['instance_id']
        try:
            reservation = api.server_clone(
                request, data['instance_id'], name=data['name'],
                count=data['count'], randomize=data['randomize'],
                placement=data['placement'])
        except Exception:
            exceptions.handle(request,
                              _('Unable to clone instance "%s".') % source)
            return False
        names = ', '.join('"%s"' % server['name'] for server in reservation.servers)
        messages.success(request, ngettext(
            'Cloning instance "%(source)s" into %(names)s.',
            'Cloning instance "%(source)s" into %(count)d instances: %(names)s.',
            len(reservation.servers)) % {'source': source, 'names': names,
                                         'count': len(reservation.servers)})
        return reservation
