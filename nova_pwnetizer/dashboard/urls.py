from django.urls import re_path
from django.views.generic import base

from nova_pwnetizer.dashboard import views

urlpatterns = [
    # the panel is not in the navigation; its page is the instances page
    re_path(r'^$', base.RedirectView.as_view(pattern_name=views.INDEX_URL), name='index'),
    re_path(r'^(?P<instance_id>[^/]+)/clone/$', views.CloneView.as_view(), name='clone'),
]
