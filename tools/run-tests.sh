#!/bin/bash
# The whole test suite: sets up this host (QEMU, libvirt, test network),
# the virtual environment and the test guest, then runs every test (unit
# and real-VM integration) with pytest.  Run as root on Debian 12.  Extra
# arguments go to pytest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/setup-host.sh"
"$top/tools/venv.sh"
cd "$top"
exec "$top/.venv/bin/python" -m pytest tests "$@"
