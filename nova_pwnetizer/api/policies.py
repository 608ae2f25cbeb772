"""oslo.policy rule of the clone action.

Listed for ``oslopolicy-sample-generator --namespace nova_pwnetizer`` through
the ``oslo.policy.policies`` entry point; nova-api registers it on its
enforcer lazily (:func:`register`, called by the clone middleware before each
check), so it can be overridden in Nova's policy file like any Nova rule::

    "os_compute_api:servers:clone": "rule:project_member_or_admin"
"""

from oslo_policy import policy

from nova.policies import base

CLONE = 'os_compute_api:servers:clone'

rules = [
    policy.DocumentedRuleDefault(
        name=CLONE,
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description='Live-clone a running server (nova-pwnetizer): create '
                    '"count" new servers of the same project that start as '
                    'copies of the running server, its memory, disks and '
                    'device state, on the source\'s flavor, image, networks '
                    'and security groups. The clones count against the '
                    'project\'s quota like any new server; the source is '
                    'paused for a moment while the copy switches over.',
        operations=[
            {
                'method': 'POST',
                'path': '/servers/{server_id}/action (clone)',
            },
        ],
        scope_types=['project']),
]


def list_rules():
    return rules


def register(enforcer):
    """Register the rules on ``enforcer`` (an oslo.policy Enforcer, Nova's)
    unless it already has them; cheap enough to call before every check."""
    missing = [rule for rule in list_rules() if rule.name not in enforcer.registered_rules]
    if not missing:
        return
    enforcer.register_defaults(missing)
    # An enforcer that has loaded its rules already takes the defaults of
    # rules registered later on its next load only when it reads a policy
    # file (use_conf); make the default effective now either way, without
    # hiding a rule the policy file sets.
    for rule in missing:
        if rule.name not in enforcer.rules:
            enforcer.rules[rule.name] = rule.check
