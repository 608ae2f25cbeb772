# shellcheck shell=bash disable=SC2034
# Settings and helpers of the all-in-one test cloud (tools/cloud/up.sh,
# down.sh).  Sourced, never run.

PWN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PWN_CLOUD_HOME=${PWN_CLOUD_HOME:-/opt/pwnetizer-cloud}
PWN_CLOUD_VENV=${PWN_CLOUD_VENV:-$PWN_CLOUD_HOME/venv}
PWN_CLOUD_ETC=${PWN_CLOUD_ETC:-/etc/pwnetizer-cloud}
PWN_CLOUD_STATE=${PWN_CLOUD_STATE:-/var/lib/pwnetizer-cloud}
PWN_CLOUD_LOG=${PWN_CLOUD_LOG:-/var/log/pwnetizer-cloud}
PWN_CLOUD_RUN=${PWN_CLOUD_RUN:-/run/pwnetizer-cloud}
PWN_CLOUD_PASSWORD=${PWN_CLOUD_PASSWORD:-pwnetizer}
PWN_CLOUD_DB=${PWN_CLOUD_DB:-mysql+pymysql://root@127.0.0.1:3306}
PWN_CLOUD_RABBIT=${PWN_CLOUD_RABBIT:-rabbit://guest:guest@127.0.0.1:5672/}
# The two compute hosts of tools/setup-host.sh: network namespaces, bridge
# addresses, libvirtd URIs (as seen from inside each host).
PWN_STATE_DIR=${PWN_STATE_DIR:-/var/lib/pwnetizer}
PWN_HOST1_NETNS=pwnetizer
PWN_HOST1_ADDR=10.213.0.1
PWN_HOST2_NETNS=pwnhost2
PWN_HOST2_ADDR=10.213.0.2
PWN_HOST2_DIR=$PWN_STATE_DIR/host2
# Nova's instances_path is the same on both hosts, as in a real cloud; the
# second host has its own directory mounted there (in its mount namespace).
PWN_INSTANCES=$PWN_CLOUD_STATE/instances
# API ports, on 127.0.0.1 (the compute hosts reach them through nsproxy).
PWN_PORTS_KEYSTONE=5000
PWN_PORTS_PLACEMENT=8778
PWN_PORTS_GLANCE=9292
PWN_PORTS_NOVA=8774
PWN_PORTS_NEUTRON=9696
PWN_LIBVIRT_TCP_PORT=16509

# Service environment: the cloud's venv first; a `sudo` that just runs its
# arguments (everything runs as root here; oslo.privsep calls sudo).
PWN_CLOUD_PATH=$PWN_CLOUD_VENV/bin:$PWN_CLOUD_HOME/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "cloud: $*" >&2; }
die() { log "$*"; exit 1; }

venv_bin() { echo "$PWN_CLOUD_VENV/bin/$1"; }

host1_libvirtd_pid() { cat /run/libvirtd.pid; }
host2_libvirtd_pid() { cat "$PWN_HOST2_DIR/libvirtd.pid"; }

pidfile_of() { echo "$PWN_CLOUD_RUN/$1.pid"; }

service_running() {  # service_running NAME
    local pidf pid
    pidf=$(pidfile_of "$1")
    [ -f "$pidf" ] && pid=$(cat "$pidf") && kill -0 "$pid" 2>/dev/null
}

service_failed() {  # service_failed NAME: it logged a CRITICAL error since it started
    # (nova-compute stays alive when its init_host fails)
    awk '/^=== .* start: /{c=0} / CRITICAL /{c=1} END{exit !c}' \
        "$PWN_CLOUD_LOG/$1.log" 2>/dev/null
}

start_service() {  # start_service NAME COMMAND...: in the background, logged, niced
    # (a running service whose command line or the cloud's configuration,
    # PWN_CONF_HASH, changed, or that failed, is restarted; NICE=0 for one
    # that must not wait behind the others)
    local name=$1 cmdf nice=${NICE:-10} record
    shift
    cmdf=$PWN_CLOUD_RUN/$name.cmd
    record="nice $nice, configs ${PWN_CONF_HASH:-}: $*"
    if service_running "$name"; then
        if [ "$(cat "$cmdf" 2>/dev/null)" = "$record" ] && ! service_failed "$name"; then
            return 0
        fi
        stop_service "$name"
    fi
    log "starting $name"
    mkdir -p "$PWN_CLOUD_RUN" "$PWN_CLOUD_LOG"
    echo "=== $(date -u +%FT%TZ) start: $*" >> "$PWN_CLOUD_LOG/$name.log"
    PATH=$PWN_CLOUD_PATH setsid nice -n "$nice" "$@" >> "$PWN_CLOUD_LOG/$name.log" 2>&1 < /dev/null &
    echo $! > "$(pidfile_of "$name")"
    echo "$record" > "$cmdf"
}

stop_service() {  # stop_service NAME: TERM, then KILL after 15 s
    local name=$1 pidf pid
    pidf=$(pidfile_of "$name")
    [ -f "$pidf" ] || return 0
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping $name ($pid)"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidf" "$PWN_CLOUD_RUN/$name.cmd"
}

wait_http() {  # wait_http URL SECONDS NAME: until the URL answers at all
    local url=$1 limit=$2 name=$3 i
    for ((i = 0; i < limit * 2; i++)); do
        if curl -s -o /dev/null -m 5 "$url"; then
            return 0
        fi
        service_running "$name" || die "$name died: see $PWN_CLOUD_LOG/$name.log"
        sleep 0.5
    done
    die "$name did not answer at $url within $limit s: see $PWN_CLOUD_LOG/$name.log"
}

wait_log() {  # wait_log NAME PATTERN SECONDS: PATTERN in NAME's log since its last start
    local name=$1 pattern=$2 limit=$3 i log=$PWN_CLOUD_LOG/$1.log
    for ((i = 0; i < limit * 2; i++)); do
        if awk '/^=== .* start: /{n=NR} END{print n+0}' "$log" | {
                read -r from; tail -n "+$from" "$log"; } | grep -q "$pattern"; then
            return 0
        fi
        service_running "$name" || die "$name died: see $log"
        sleep 0.5
    done
    log "$name: no '$pattern' in its log within $limit s (going on)"
}

port_open() {  # port_open HOST PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# devstack's ini helpers and is_service_enabled, for devstack/lib/pwnetizer.
iniset() { "$(venv_bin python)" "$PWN_TOP/tools/cloud/ini.py" set "$@"; }
iniadd() { "$(venv_bin python)" "$PWN_TOP/tools/cloud/ini.py" add "$@"; }
iniget() { "$(venv_bin python)" "$PWN_TOP/tools/cloud/ini.py" get "$@"; }
iniget_multiline() { "$(venv_bin python)" "$PWN_TOP/tools/cloud/ini.py" getall "$@"; }
is_service_enabled() {
    local s enabled=" n-api n-cpu n-sch n-cond placement-api g-api key q-svc q-agt q-dhcp "
    for s in "$@"; do
        [[ "$enabled" == *" $s "* ]] && return 0
    done
    return 1
}

# The services, in start order (down.sh stops them in reverse).
PWN_SERVICES=(nsproxy keystone placement glance neutron nova-api nova-conductor nova-scheduler
              neutron-rpc-server ovsdb-server-1 ovs-vswitchd-1 neutron-ovs-agent-1
              ovsdb-server-2 ovs-vswitchd-2 neutron-ovs-agent-2 neutron-dhcp-agent
              nova-compute-1 nova-compute-2)
