"""pwnetizer-install-shim: make ``compute_driver = pwnetizer.PwnetizerDriver``
loadable, and optionally put the clone action into nova-api's paste pipelines.

    pwnetizer-install-shim [--paste /etc/nova/api-paste.ini] [--check]

Nova imports compute drivers as ``nova.virt.<compute_driver>``, so the
driver needs a two-line package inside Nova's own (``nova/virt/pwnetizer``);
this copies it there (idempotent).  ``--paste`` adds the ``pwnetizer_clone``
filter after ``keystonecontext`` (and ``noauth2``) in every pipeline of the
``openstack_compute_api_v21`` composite, once.
"""

import argparse
import configparser
import os
import re
import sys

FILTER = 'pwnetizer_clone'
FILTER_SECTION = 'filter:' + FILTER
FACTORY = 'nova_pwnetizer.api.clone_action:filter_factory'
AFTER = ('keystonecontext', 'noauth2')


def shim_source():
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(here, 'nova', 'virt', 'pwnetizer', '__init__.py')
    if os.path.exists(path):
        with open(path) as f:
            return f.read()
    return ('from nova_pwnetizer.virt.driver import PwnetizerDriver  # noqa: F401\n\n'
            "__all__ = ['PwnetizerDriver']\n")


def install_shim(check=False):
    import nova.virt
    target_dir = os.path.join(os.path.dirname(nova.virt.__file__), 'pwnetizer')
    target = os.path.join(target_dir, '__init__.py')
    wanted = shim_source()
    if os.path.exists(target):
        with open(target) as f:
            if f.read() == wanted:
                return target, False
    if check:
        raise SystemExit('the shim is missing or stale: %s' % target)
    os.makedirs(target_dir, exist_ok=True)
    with open(target, 'w') as f:
        f.write(wanted)
    return target, True


def add_paste_filter(text):
    """``text`` of an api-paste.ini with the clone filter in its v2.1 pipelines."""
    lines = text.splitlines(keepends=True)
    out = []
    for line in lines:
        match = re.match(r'^(\s*(?:keystone|noauth2)\s*=\s*)(.*)$', line)
        if match and FILTER not in line.split():
            words = match.group(2).split()
            for anchor in AFTER:
                if anchor in words:
                    words.insert(words.index(anchor) + 1, FILTER)
                    break
            line = match.group(1) + ' '.join(words) + '\n'
        out.append(line)
    text = ''.join(out)
    if '[%s]' % FILTER_SECTION not in text:
        text = text.rstrip('\n') + '\n\n[%s]\npaste.filter_factory = %s\n' % (
            FILTER_SECTION, FACTORY)
    return text


def install_paste(path):
    with open(path) as f:
        old = f.read()
    new = add_paste_filter(old)
    configparser.ConfigParser(interpolation=None).read_string(new)  # still valid
    if new != old:
        with open(path, 'w') as f:
            f.write(new)
    return new != old


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--paste', help='api-paste.ini of nova-api to add the filter to')
    parser.add_argument('--check', action='store_true',
                        help='only check that the shim is in place')
    args = parser.parse_args(argv)
    path, changed = install_shim(check=args.check)
    print('%s %s' % ('installed' if changed else 'up to date:', path))
    if args.paste:
        changed = install_paste(args.paste)
        print('%s %s' % ('added the clone filter to' if changed else 'up to date:',
                         args.paste))
    return 0


if __name__ == '__main__':
    sys.exit(main())
