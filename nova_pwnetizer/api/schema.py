"""JSON schema (Draft 4, as Nova's API validation) of the clone action body::

    POST /servers/{server_id}/action
    {"clone": {"name": "web-clone", "count": 2, "randomize": false,
               "placement": "spread", "address_pairs": false,
               "metadata": {"role": "web"}}}

Every member of ``clone`` is optional; the defaults are in :data:`DEFAULTS`.
"""

import re

import jsonschema

from nova_pwnetizer import clonerequest
from nova_pwnetizer.conf import integration

#: metadata keys starting with this are set by pwnetizer, not by users
RESERVED_METADATA_PREFIX = clonerequest.PREFIX

#: the default of ``[pwnetizer] max_clones_per_request``, the most ``count``
#: one action may ask for (the cloud's setting decides; clients that cannot
#: read it assume this)
COUNT_MAX_DEFAULT = integration.MAX_CLONES_PER_REQUEST_DEFAULT

DEFAULTS = {
    'count': 1,
    'randomize': False,
    'placement': 'spread',
    'address_pairs': False,
}

# Nova's own metadata keys (nova.api.validation.parameter_types.metadata),
# less the reserved prefix.
_METADATA_KEY = r'^(?![ ]*(?i:%s))[a-zA-Z0-9-_:. ]{1,255}$' % RESERVED_METADATA_PREFIX

clone = {
    'type': 'object',
    'properties': {
        'clone': {
            'type': 'object',
            'properties': {
                'name': {
                    'type': 'string', 'minLength': 1, 'maxLength': 255,
                    # not blank
                    'pattern': r'\S',
                },
                'count': {'type': 'integer', 'minimum': 1},
                'randomize': {'type': 'boolean'},
                # copy each source port's allowed address pairs (they let
                # a clone claim the source's virtual IPs)
                'address_pairs': {'type': 'boolean'},
                'placement': {'type': 'string',
                              'enum': list(clonerequest.PLACEMENTS)},
                'metadata': {
                    'type': 'object',
                    'patternProperties': {
                        _METADATA_KEY: {'type': 'string', 'maxLength': 255},
                    },
                    'additionalProperties': False,
                },
            },
            'additionalProperties': False,
        },
    },
    'required': ['clone'],
    'additionalProperties': False,
}

_VALIDATOR = jsonschema.Draft4Validator(clone)


def _error_message(error):
    path = '/'.join(str(p) for p in error.absolute_path) or 'body'
    if error.validator == 'additionalProperties' and \
            error.schema.get('patternProperties'):
        keys = sorted(k for k in error.instance if not re.search(_METADATA_KEY, k))
        return ("Invalid input for field/attribute %s: invalid metadata key(s) %s: "
                "keys are 1 to 255 letters, digits, spaces and '-_:.', and keys "
                "starting with '%s' are reserved." % (
                    path, ', '.join(repr(k) for k in keys), RESERVED_METADATA_PREFIX))
    return 'Invalid input for field/attribute %s. Value: %s. %s' % (
        path, error.instance, error.message)


def validate(body):
    """The error message of the first violation in ``body``, or None."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(body))
    return None if error is None else _error_message(error)


def with_defaults(clone_body):
    """``clone_body`` (the valid value of ``clone``) with the defaults filled in."""
    values = dict(DEFAULTS, metadata={}, name=None)
    values.update(clone_body)
    return values
