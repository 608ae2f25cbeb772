#!/bin/bash
# Tempest against the all-in-one test cloud (tools/cloud/up.sh, up first).
#
#   tools/cloud/tempest.sh --subset [ARGS...]   # the CI subset: tempest-subset.txt (~6 min)
#   tools/cloud/tempest.sh --full [ARGS...]     # all of tempest.api.compute (hours)
#   tools/cloud/tempest.sh [ARGS...]            # tempest run ARGS (e.g. --regex ...)
#
# Tempest lives in a venv of its own ($PWN_TEMPEST_VENV, pinned by
# ../../constraints.txt, constraints.txt and tempest-constraints.txt here;
# reinstalled only when those change), its workspace in $PWN_TEMPEST_DIR.
# etc/tempest.conf there is written anew on every run from the live cloud
# (tempest_conf.py: image, flavors, endpoints, hosts, features).  Tests of
# what the cloud lacks are excluded by tempest-exclude.txt.  One test at a
# time: 2 cores, TCG guests.  Extra ARGS go to `tempest run`.
set -euo pipefail
# shellcheck source=tools/cloud/lib.sh
source "$(dirname "$0")/lib.sh"

PWN_TEMPEST_VENV=${PWN_TEMPEST_VENV:-$PWN_CLOUD_HOME/tempest-venv}
PWN_TEMPEST_DIR=${PWN_TEMPEST_DIR:-$PWN_CLOUD_STATE/tempest}
HERE=$PWN_TOP/tools/cloud

usage() {
    sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

ensure_tempest_venv() {
    local want stamp=$PWN_TEMPEST_VENV/.pwn-tempest-installed
    want=$(cat "$PWN_TOP/constraints.txt" "$HERE/constraints.txt" "$HERE/tempest-constraints.txt" \
           | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    log "installing Tempest into $PWN_TEMPEST_VENV"
    [ -x "$PWN_TEMPEST_VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$PWN_TEMPEST_VENV"
    nice -n 10 "$PWN_TEMPEST_VENV/bin/pip" install -q --disable-pip-version-check \
        -c "$PWN_TOP/constraints.txt" -c "$HERE/constraints.txt" \
        -c "$HERE/tempest-constraints.txt" tempest \
        2> >(grep -v '^WARNING: Location' >&2)
    echo "$want" > "$stamp"
}

ensure_workspace() {
    # `tempest init` wants a new or empty directory; it makes etc/, logs/,
    # tempest_lock/, .stestr.conf and the stestr repository (.stestr/).
    if [ ! -f "$PWN_TEMPEST_DIR/.stestr.conf" ]; then
        mkdir -p "$(dirname "$PWN_TEMPEST_DIR")"
        rm -rf "$PWN_TEMPEST_DIR"
        "$PWN_TEMPEST_VENV/bin/tempest" init --name pwnetizer-cloud "$PWN_TEMPEST_DIR" >/dev/null
    fi
}

write_config() {
    "$(venv_bin python)" "$HERE/tempest_conf.py" --etc "$PWN_CLOUD_ETC" \
        --password "$PWN_CLOUD_PASSWORD" --workspace "$PWN_TEMPEST_DIR" \
        --out "$PWN_TEMPEST_DIR/etc/tempest.conf"
}

main() {
    local select=()
    case "${1:-}" in
        --subset) shift; select=(--include-list "$HERE/tempest-subset.txt") ;;
        --full) shift; select=(--regex '^tempest\.api\.compute\.') ;;
        -h|--help) usage ;;
    esac
    [ "$(id -u)" = 0 ] || die "must run as root (as the cloud does)"
    curl -s -o /dev/null -m 10 "http://127.0.0.1:$PWN_PORTS_KEYSTONE/v3" \
        || die "the cloud is not up: run tools/cloud/up.sh first"
    ensure_tempest_venv
    ensure_workspace
    write_config
    log "tempest run ${select[*]} $* (in $PWN_TEMPEST_DIR, log: logs/tempest.log)"
    cd "$PWN_TEMPEST_DIR"
    exec "$PWN_TEMPEST_VENV/bin/tempest" run --concurrency 1 \
        --exclude-list "$HERE/tempest-exclude.txt" "${select[@]}" "$@"
}

main "$@"
