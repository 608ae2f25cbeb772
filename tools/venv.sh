#!/bin/bash
# Create or update the project's virtual environment (.venv) with pinned
# dependencies (constraints.txt).  Prints nothing on success; idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=${PWN_VENV:-$top/.venv}
python=${PYTHON:-python3}
stamp=$venv/.pwn-installed
want=$(cat "$top"/requirements.txt "$top"/test-requirements.txt "$top"/constraints.txt \
       "$top"/setup.cfg | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# pbr needs the version from git; a tarball without .git gets a fixed one.
if ! git -C "$top" rev-parse HEAD >/dev/null 2>&1; then export PBR_VERSION=0.0.0; fi
"$venv/bin/pip" install -q --disable-pip-version-check -c "$top/constraints.txt" \
    -r "$top/requirements.txt" -r "$top/test-requirements.txt" 2> >(grep -v '^WARNING: Location' >&2)
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps -e "$top" \
    2> >(grep -v '^WARNING: Location' >&2)
# Nova imports compute drivers from nova.virt: put the driver's shim there.
"$venv/bin/pwnetizer-install-shim" >/dev/null
echo "$want" > "$stamp"
