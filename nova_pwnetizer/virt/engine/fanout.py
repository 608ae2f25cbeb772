"""Many clones with one pause of the source: a doubling tree.

Round 1 clones the source once (its only pause).  From then on every clone
made so far clones itself, all in parallel, so the number of clones
doubles each round: N clones take 1 + ceil(log2(N)) rounds instead of N
sequential clones of the source.  Each clone is an ordinary
:class:`~.job.CloneJob` with its own rollback; when a job of a round fails
the fan-out stops after the round, keeping the clones already made.
"""

import concurrent.futures
import dataclasses
import time

from nova_pwnetizer.virt.engine import events as events_mod
from nova_pwnetizer.virt.engine import exception
from nova_pwnetizer.virt.engine import job as job_mod


@dataclasses.dataclass
class FanoutResult:
    results: list = dataclasses.field(default_factory=list)  # CloneResults, in order
    rounds: list = dataclasses.field(default_factory=list)   # clone names per round
    total_s: float = 0.0
    source_pauses: int = 0           # times the original source was paused


class FanoutFailed(exception.PwnetizerError):
    exit_code = 6

    def __init__(self, done, errors):
        self.done = done
        self.errors = errors
        super().__init__('%d clone%s failed (%s); made: %s' % (
            len(errors), 's' if len(errors) > 1 else '', '; '.join(e.message for e in errors),
            ', '.join(r.name for r in done.results) or 'none'))


def plan_rounds(count):
    """How many clones each round makes: [1, 1, 2, 4, ...], summing to count."""
    rounds, have = [], 0
    while have < count:
        make = 1 if have == 0 else min(have, count - have)
        rounds.append(make)
        have += make
    return rounds


def parent_index(index):
    """In the tree, the 0-based index of the clone that the index-th clone is
    made from; None for the first, made from the source."""
    if index < 1:
        return None
    return index - (1 << (index.bit_length() - 1))


def fanout(source, target, count, make_options, progress_for=None):
    """Make ``count`` clones of the running Guest ``source`` on ``target``.

    ``make_options(index, parent)`` returns the CloneOptions of the
    index-th clone (0-based) made from the Guest ``parent``;
    ``progress_for(index)`` its progress callback.
    """
    events_mod.start_event_loop()
    watch = events_mod.EventHub()
    watch.watch('source', source, critical=False)
    start = time.monotonic()
    done = FanoutResult()
    try:
        for make in plan_rounds(count):
            first = len(done.results)
            parents = ([source] if not done.results else
                       [target.lookup(done.results[parent_index(first + i)].name)
                        for i in range(make)])
            jobs = [job_mod.CloneJob(parent, target, make_options(first + i, parent),
                                     progress_for(first + i) if progress_for else None)
                    for i, parent in enumerate(parents)]
            made, errors = [], []
            with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
                for future in [pool.submit(j.run) for j in jobs]:
                    try:
                        made.append(future.result())
                    except exception.PwnetizerError as e:
                        errors.append(e)
            done.results += made
            done.rounds.append([r.name for r in made])
            if errors:
                raise FanoutFailed(done, errors)
    finally:
        done.total_s = round(time.monotonic() - start, 3)
        done.source_pauses = len(watch.events('source', 'STOP'))
        watch.close()
    return done
