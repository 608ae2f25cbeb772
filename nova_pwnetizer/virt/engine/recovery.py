"""Finding and removing what an interrupted clone left behind.

A clone job rolls itself back on any error, Ctrl-C or SIGTERM.  Only a
job killed outright (SIGKILL, a crash of the host process) can leave
state behind: a half-built clone domain (marked ``building`` in its
metadata, with the owner's pid), NBD nodes or mirror jobs on the source,
or a source migration waiting at ``pre-switchover`` (the source paused).
"""

import errno
import fcntl
import logging
import os
import socket

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import job as job_mod
from nova_pwnetizer.virt.engine import metadata
from nova_pwnetizer.virt.engine import migration

LOG = logging.getLogger(__name__)


def _clone_in_progress(source_uuid):
    """True when a live process holds the clone lock of this source."""
    path = os.path.join(job_mod.LOCK_DIR, '%s.lock' % source_uuid)
    if not os.path.exists(path):
        return False
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def _owner_alive(info):
    if not info.owner_pid or info.owner_host not in (None, '', socket.gethostname()):
        return True  # another host's job: not ours to judge
    try:
        os.kill(info.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _clone_in_progress(info.source_uuid)


def stale_clones(host):
    """Clone domains still marked ``building`` whose job is gone."""
    stale = []
    for guest in host.list_guests():
        info = metadata.of_tree(guest.tree())
        if info is not None and info.state == 'building' and not _owner_alive(info):
            stale.append(guest)
    return stale


def _source_leftovers(guest):
    found = []
    if not guest.is_active():
        return found
    try:
        if any(j['device'].startswith('pwn-mirror-') for j in guest.qmp('query-block-jobs')):
            found.append('mirror job')
        if any((n.get('node-name') or '').startswith('pwn-nbd-')
               for n in guest.qmp('query-named-block-nodes', flat=True)):
            found.append('NBD node')
        status = guest.migration_status().get('status')
        if status in migration.ACTIVE_STATES:
            found.append('migration (%s)' % status)
    except exception.PwnetizerError:
        pass
    return found


def find(host):
    """[(domain name, what)] of everything that looks left behind."""
    found = [(g.name, 'half-built clone') for g in stale_clones(host)]
    for guest in host.list_guests():
        if _clone_in_progress(guest.uuid):
            continue
        found += [(guest.name, what) for what in _source_leftovers(guest)]
    return found


def clean(host):
    """Remove what :func:`find` reports; return what was done."""
    done = []
    for guest in stale_clones(host):
        tree = guest.tree()
        files = [s.get('file') for s in tree.iterfind('devices/disk/source') if s.get('file')
                 and s.getparent().get('device', 'disk') == 'disk']
        files += [s.get('path') for s in tree.iterfind('devices/serial/source')
                  if s.getparent().get('type') == 'file']
        guest.destroy()
        guest.undefine()
        for path in files:
            host.delete_file(path)
        done.append('removed half-built clone %s and %d files' % (guest.name, len(files)))
    for guest in host.list_guests():
        if _clone_in_progress(guest.uuid) or not _source_leftovers(guest):
            continue
        status = guest.migration_status().get('status')
        if status in migration.ACTIVE_STATES:
            guest.qmp('migrate_cancel')  # QEMU resumes a source it paused
        for job in guest.qmp('query-block-jobs'):
            if job['device'].startswith('pwn-mirror-'):
                guest.qmp('block-job-cancel', device=job['device'], force=True)
        for node in guest.qmp('query-named-block-nodes', flat=True):
            name = node.get('node-name') or ''
            if name.startswith('pwn-nbd-'):
                try:
                    guest.qmp('blockdev-del', **{'node-name': name})
                except exception.QMPError as e:
                    LOG.warning('cannot remove %s from %s yet: %s', name, guest.name, e)
        guest.qmp('migrate-set-capabilities', capabilities=[
            {'capability': 'pause-before-switchover', 'state': False}])
        if status == 'pre-switchover' and guest.state == 'paused':
            guest.resume()
        done.append('cleaned migration/NBD leftovers on %s' % guest.name)
    return done
