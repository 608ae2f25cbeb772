#!/bin/bash
# The whole test suite: sets up this host (QEMU, libvirt, test network),
# the virtual environment and the test guest, then runs every test (unit
# and real-VM integration) with pytest.  Run as root on Debian 12.  Extra
# arguments go to pytest.  Prints the wall time of each part, and
# pytest's slowest tests (--durations).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
timed() {  # timed NAME COMMAND...: run it, then say how long it took
    local name=$1 start=$SECONDS
    shift
    "$@"
    echo "run-tests: $name took $((SECONDS - start)) s" >&2
}
timed "host set-up (tools/setup-host.sh)" "$top/tools/setup-host.sh"
timed "virtual environment (tools/venv.sh)" "$top/tools/venv.sh"
cd "$top"
exec "$top/.venv/bin/python" -m pytest --durations=30 tests "$@"
