"""Adds :class:`~nova_pwnetizer.dashboard.tables.CloneInstance` to the row
actions of the project's instances table, after "Create Snapshot".

Called by the plugin's app when Django starts; importing this module does
the same, so it may also be named as (or imported from) a deployment's
``HORIZON_CONFIG['customization_module']``.  Adding twice does nothing.
"""

from openstack_dashboard.dashboards.project.instances import tables as instance_tables

from nova_pwnetizer.dashboard import tables


def add_row_action(table=instance_tables.InstancesTable, action=tables.CloneInstance,
                   after='snapshot'):
    if action.name in table.base_actions:
        return
    row_actions = list(table._meta.row_actions)
    names = [row_action.name for row_action in row_actions]
    position = names.index(after) + 1 if after in names else len(row_actions)
    row_actions.insert(position, action)
    table._meta.row_actions = tuple(row_actions)
    table.base_actions[action.name] = action()


add_row_action()
