"""Horizon plugin of nova-pwnetizer: the "Clone Instance" row action of the
project's instances table (doc/horizon.md).

Enabled by ``enabled/_1990_pwnetizer.py``: its app (:mod:`.apps`) adds the
action to the table (:mod:`.overrides`), its hidden panel serves the modal
form at ``horizon:project:pwnetizer:clone``.
"""
