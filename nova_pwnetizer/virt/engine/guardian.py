"""A watchdog process that undoes a clone whose job process was killed.

Ctrl-C, SIGTERM and every error are rolled back by the job itself.  A
SIGKILL (or a crash of the interpreter) is not: the source could stay
paused at ``pre-switchover`` forever.  So each job starts a guardian in
its own session, connected by a pipe.  The job writes ``done`` when it has
finished (either way); if the pipe closes without it, the job died and the
guardian cancels the migration, resumes the source and removes the clone.
"""

import argparse
import logging
import os
import subprocess
import sys

LOG = logging.getLogger(__name__)


class Guardian:
    """The job's side: start the watchdog, then release it."""

    def __init__(self, source, target, clone_name, files):
        files_args = []
        for path in files:
            files_args += ['--file', path]
        self._proc = subprocess.Popen(
            [sys.executable, '-c',
             'import sys; from nova_pwnetizer.virt.engine import guardian; '
             'sys.exit(guardian.main())',
             '--source-uri', source.host.uri, '--source', source.uuid,
             '--target-uri', target.uri, '--clone', clone_name,
             '--parent', str(os.getpid())] + files_args,
            stdin=subprocess.PIPE, start_new_session=True, close_fds=True)

    def release(self):
        """The job is over (cleanly or rolled back): the guardian exits."""
        try:
            self._proc.stdin.write(b'done\n')
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def _recover(args):
    import libvirt
    from nova_pwnetizer.virt.engine import exception
    from nova_pwnetizer.virt.engine import host as host_mod
    from nova_pwnetizer.virt.engine import metadata
    from nova_pwnetizer.virt.engine import recovery

    source_host = host_mod.Host(args.source_uri)
    target_host = (source_host if args.target_uri == args.source_uri
                   else host_mod.Host(args.target_uri))
    try:
        clone = target_host.lookup(args.clone)
        info = metadata.of_tree(clone.tree())
    except (exception.DomainNotFound, libvirt.libvirtError):  # gone meanwhile
        clone = info = None
    if info is not None and (info.state != 'building' or info.owner_pid != args.parent):
        return  # finished after all, or not ours
    try:
        source = source_host.lookup(args.source)
    except exception.DomainNotFound:
        source = None
    steps = []
    if source is not None:  # first the source: cancel before the clone goes
        steps.append(('recover source %s' % source.name,
                      lambda: recovery.recover_source(source)))
    if clone is not None:  # an incoming QEMU may also have exited by itself
        steps += [('destroy %s' % args.clone, clone.destroy),
                  ('undefine %s' % args.clone, clone.undefine)]
    steps += [('delete %s' % path, lambda p=path: target_host.delete_file(p))
              for path in args.file]
    for what, step in steps:
        try:
            step()
        except Exception as e:  # go on: every step left undone is a leak
            LOG.error('%s failed: %s', what, e)
    LOG.warning('undid clone %s of a job that died', args.clone)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    for name in ('--source-uri', '--source', '--target-uri', '--clone'):
        parser.add_argument(name, required=True)
    parser.add_argument('--parent', type=int, required=True)
    parser.add_argument('--file', action='append', default=[],
                        help='a file of the clone to delete')
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.WARNING, format='pwnetizer-guardian: %(message)s')
    message = sys.stdin.buffer.read()  # returns when the job writes or dies
    if message.strip() == b'done':
        return 0
    _recover(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
