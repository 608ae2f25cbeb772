"""Nova API integration of nova-pwnetizer: the ``clone`` server action.

``POST /servers/{server_id}/action {"clone": {...}}`` is served by the
``pwnetizer_clone`` paste filter (:mod:`nova_pwnetizer.api.clone_action`)
placed in nova-api's pipelines after ``keystonecontext``; its policy rule is
in :mod:`nova_pwnetizer.api.policies`, its request body schema in
:mod:`nova_pwnetizer.api.schema`.
"""
