from django.apps import AppConfig


class PwnetizerDashboardConfig(AppConfig):
    name = 'nova_pwnetizer.dashboard'
    label = 'nova_pwnetizer_dashboard'
    verbose_name = 'nova-pwnetizer'

    def ready(self):
        # Horizon's docs keep HORIZON_CONFIG['customization_module'] for the
        # deployer and ask plugins not to use it: the plugin adds its row
        # action itself once Django has loaded every app.
        from nova_pwnetizer.dashboard import overrides
        overrides.add_row_action()
