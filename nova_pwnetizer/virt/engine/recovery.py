"""Finding and removing what an interrupted clone left behind.

A clone job rolls itself back on any error, Ctrl-C or SIGTERM, and its
guardian process (:mod:`.guardian`) does the same if the job's process is
killed outright.  Should both die, ``pwnetizer cleanup`` finds the rest: a
half-built clone domain (marked ``building`` in its metadata, with the
owner's pid), NBD nodes or mirror jobs on a source, or a source migration
waiting at ``pre-switchover`` (the source paused).

It touches only the engine's own work: block jobs and nodes it named
(``pwn-*``), and migrations that are no libvirt job (the engine drives
its migrations through QMP; a migration libvirt runs, Nova's live
migration, is left alone).  It never resumes a domain that someone paused
through libvirt (Nova's pause, ``virsh suspend``).
"""

import errno
import fcntl
import logging
import os
import socket
import time

from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import metadata
from nova_pwnetizer.virt.engine import migration

LOG = logging.getLogger(__name__)

LOCK_DIR = '/run/pwnetizer'


def lock_path(source_uuid):
    return os.path.join(LOCK_DIR, '%s.lock' % source_uuid)


def clone_in_progress(source_uuid):
    """True when a live process holds the clone lock of this source."""
    path = lock_path(source_uuid)
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
    return clone_in_progress(info.source_uuid)


def stale_clones(host):
    """Clone domains still marked ``building`` whose job is gone."""
    stale = []
    for guest in host.list_guests():
        info = metadata.of_tree(guest.tree())
        if info is not None and info.state == 'building' and not _owner_alive(info):
            stale.append(guest)
    return stale


def source_leftovers(guest):
    """What a clone job left on a source domain, as phrases."""
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
        if guest.libvirt_job_active():
            pass   # libvirt's own migration (Nova's): not the engine's
        elif status in migration.ACTIVE_STATES:
            found.append('migration (%s)' % status)
        elif status == 'completed' and guest.state == 'paused' \
                and not guest.paused_by_user():
            found.append('paused after its migration completed')
        # left on, it would stop the source's next ordinary migration short
        if any(c['capability'] == 'pause-before-switchover' and c['state']
               for c in guest.qmp('query-migrate-capabilities')):
            found.append('pause-before-switchover left on')
    except exception.PwnetizerError:
        pass
    return found


def recover_source(guest):
    """Cancel the engine's migration and block jobs on ``guest``; resume it
    if the engine's migration paused it.  Safe to call on any domain: a
    migration libvirt runs and a pause someone asked libvirt for are left
    alone."""
    libvirt_job = guest.libvirt_job_active()
    nbd_nodes = [n['node-name'] for n in guest.qmp('query-named-block-nodes', flat=True)
                 if (n.get('node-name') or '').startswith('pwn-nbd-')]
    for name in nbd_nodes:  # first: a dead link must not freeze the drains below
        try:
            guest.qmp('yank', instances=[{'type': 'block-node', 'node-name': name}])
        except exception.QMPError as e:
            LOG.warning('cannot yank %s on %s: %s', name, guest.name, e)
    status = guest.migration_status().get('status')
    if status in migration.ACTIVE_STATES and not libvirt_job:
        guest.qmp('migrate_cancel')  # QEMU resumes a source it paused
        deadline = time.monotonic() + 30
        while (guest.migration_status().get('status') in migration.ACTIVE_STATES
               and time.monotonic() < deadline):
            time.sleep(0.01)
    for job in guest.qmp('query-block-jobs'):
        if job['device'].startswith('pwn-mirror-'):
            guest.qmp('block-job-cancel', device=job['device'], force=True)
    for name in nbd_nodes:
        try:
            guest.qmp('blockdev-del', **{'node-name': name})
        except exception.QMPError as e:
            LOG.warning('cannot remove %s from %s yet: %s', name, guest.name, e)
    if libvirt_job:
        LOG.info('%s: libvirt runs a job on it (a migration of its own?): left alone',
                 guest.name)
        return
    guest.qmp('migrate-set-capabilities', capabilities=[
        {'capability': 'pause-before-switchover', 'state': False}])
    if status in ('pre-switchover', 'device', 'completed') and guest.state == 'paused' \
            and not guest.paused_by_user():
        guest.resume()


def remove_clone(host, guest):
    """Destroy a half-built clone and delete its disks and console files."""
    tree = guest.tree()
    files = [s.get('file') for s in tree.iterfind('devices/disk/source')
             if s.get('file') and s.getparent().get('device', 'disk') == 'disk']
    files += [s.get('path') for s in tree.iterfind('devices/serial/source')
              if s.getparent().get('type') == 'file']
    guest.destroy()
    guest.undefine()
    for path in files:
        host.delete_file(path)
    return files


def find(host):
    """[(domain name, what)] of everything that looks left behind."""
    found = [(g.name, 'half-built clone') for g in stale_clones(host)]
    for guest in host.list_guests():
        if not clone_in_progress(guest.uuid):
            found += [(guest.name, what) for what in source_leftovers(guest)]
    return found


def clean(host):
    """Remove what :func:`find` reports; return what was done."""
    done = []
    for guest in stale_clones(host):
        files = remove_clone(host, guest)
        done.append('removed half-built clone %s and %d files' % (guest.name, len(files)))
    for guest in host.list_guests():
        if clone_in_progress(guest.uuid) or not source_leftovers(guest):
            continue
        recover_source(guest)
        done.append('cleaned migration/NBD leftovers on %s' % guest.name)
    return done
