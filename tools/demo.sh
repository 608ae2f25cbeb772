#!/bin/bash
# The main job on an embedded default: set up this host (QEMU, libvirt,
# test network), build the test guest, boot it, clone it live, print the
# figures.  Run as root on Debian 12.  Extra arguments go to
# `pwnetizer demo` (e.g. --memory 1024 --keep).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/setup-host.sh"
"$top/tools/venv.sh"
exec "$top/.venv/bin/pwnetizer" demo "$@"
