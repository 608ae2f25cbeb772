# Horizon plugin file of nova-pwnetizer: copy or link it into
# openstack_dashboard/local/enabled/ (doc/horizon.md).
#
# The app adds the "Clone Instance" row action to the project's instances
# table; the panel (hidden from the navigation) serves its modal form.

PANEL = 'pwnetizer'
PANEL_DASHBOARD = 'project'
PANEL_GROUP = 'compute'
ADD_PANEL = 'nova_pwnetizer.dashboard.panel.ClonePanel'

ADD_INSTALLED_APPS = ['nova_pwnetizer.dashboard']
