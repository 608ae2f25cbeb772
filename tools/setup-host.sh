#!/bin/bash
# Prepare this host for nova-pwnetizer: QEMU and libvirt from
# bookworm-backports, a test network namespace with a bridge and DHCP,
# and virtlogd/libvirtd started inside it.  Idempotent; needs root; no
# systemd.
#
# With PWN_HOSTS=2 (the default) a second test host is made too: its own
# network namespace (pwnhost2, address 10.213.0.2 on the same bridged
# network, linked by a veth pair that tests may cut), its own mount
# namespace (private /run/libvirt, /var/lib/libvirt, /etc/libvirt, ...) and
# its own virtlogd/libvirtd, reachable at
#   qemu+unix:///system?socket=/var/lib/pwnetizer/host2/run/libvirt-sock
set -euo pipefail

PWN_NETNS=${PWN_NETNS:-pwnetizer}
PWN_BRIDGE=${PWN_BRIDGE:-pwnbr0}
PWN_BRIDGE_CIDR=${PWN_BRIDGE_CIDR:-10.213.0.1/16}
# Every clone gets a new MAC and so a new lease: a large range and short
# leases keep a machine that clones all day from running out of addresses.
PWN_DHCP_RANGE=${PWN_DHCP_RANGE:-10.213.1.1,10.213.254.254,255.255.0.0,10m}
PWN_STATE_DIR=${PWN_STATE_DIR:-/var/lib/pwnetizer}
PWN_HOSTS=${PWN_HOSTS:-2}

log() { echo "setup-host: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

install_packages() {
    local want=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
                libvirt-clients libvirt-dev pkg-config)
    # chromium: the Horizon action's browser test (headless, DevTools protocol)
    local extra=(dnsmasq-base iproute2 iputils-ping busybox-static kmod cpio
                 dosfstools e2fsprogs curl shellcheck chromium)
    local missing=()
    for p in "${want[@]}" "${extra[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    local qver
    qver=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
    if [ ${#missing[@]} -eq 0 ] && dpkg --compare-versions "${qver:-0}" ge 1:9.0; then
        return 0
    fi
    if [ ! -f /etc/apt/sources.list.d/bookworm-backports.sources ]; then
        cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    log "installing ${missing[*]:-qemu upgrade} (QEMU and libvirt from bookworm-backports)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef \
        -t bookworm-backports "${want[@]}" "${extra[@]}" >/dev/null
}

install_packages

set_conf() {  # set_conf FILE KEY VALUE: replace or append "KEY = VALUE"
    local file=$1 key=$2 value=$3
    if grep -Eq "^[# ]*${key}[[:space:]]*=" "$file"; then
        sed -i -E "s|^[# ]*${key}[[:space:]]*=.*|${key} = ${value}|" "$file"
    else
        echo "${key} = ${value}" >> "$file"
    fi
}

configure_libvirt() {
    getent group kvm >/dev/null || groupadd -r kvm
    getent passwd libvirt-qemu >/dev/null || useradd -r -g kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    local qc=/etc/libvirt/qemu.conf
    # Test hosts run QEMU as root without a security driver; a production
    # host keeps Debian's defaults (see README, "Host requirements").
    set_conf "$qc" user '"root"'
    set_conf "$qc" group '"root"'
    set_conf "$qc" security_driver '"none"'
    set_conf "$qc" namespaces '[]'
    mkdir -p "$PWN_STATE_DIR"
}

setup_netns() {
    ip netns list | grep -qw "$PWN_NETNS" || ip netns add "$PWN_NETNS"
    local in_ns=(ip netns exec "$PWN_NETNS")
    "${in_ns[@]}" ip link set lo up
    if ! "${in_ns[@]}" ip link show "$PWN_BRIDGE" >/dev/null 2>&1; then
        "${in_ns[@]}" ip link add "$PWN_BRIDGE" type bridge
        "${in_ns[@]}" ip link set "$PWN_BRIDGE" type bridge forward_delay 0 stp_state 0
    fi
    ensure_address "$PWN_NETNS" "$PWN_BRIDGE_CIDR"
    "${in_ns[@]}" ip link set "$PWN_BRIDGE" up
    # --no-ping: offer at once (no 3 s probe of the address); our own net.
    local args=(--port=0 --interface="$PWN_BRIDGE" --bind-interfaces --except-interface=lo
                --dhcp-range="$PWN_DHCP_RANGE" --dhcp-leasefile="$PWN_STATE_DIR/dnsmasq.leases"
                --dhcp-authoritative --no-ping --log-dhcp
                --log-facility="$PWN_STATE_DIR/dnsmasq.log")
    local pidf=$PWN_STATE_DIR/dnsmasq.pid argsf=$PWN_STATE_DIR/dnsmasq.args
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        [ "$(cat "$argsf" 2>/dev/null)" = "${args[*]}" ] && return 0
        kill "$(cat "$pidf")"; sleep 0.2
    fi
    "${in_ns[@]}" dnsmasq --pid-file="$pidf" "${args[@]}"
    echo "${args[*]}" > "$argsf"
}

ensure_address() {  # ensure_address NETNS CIDR: the bridge has exactly that address
    local ns=$1 cidr=$2
    ip netns exec "$ns" ip -o -4 addr show dev "$PWN_BRIDGE" | grep -q " $cidr " && return 0
    ip netns exec "$ns" ip addr flush dev "$PWN_BRIDGE"
    ip netns exec "$ns" ip addr add "$cidr" dev "$PWN_BRIDGE"
}

netns_of() { readlink "/proc/$1/ns/net" 2>/dev/null || true; }

start_daemon() {  # start_daemon NAME PIDFILE
    local name=$1 pidf=$2 pid
    if [ -f "$pidf" ] && pid=$(cat "$pidf") && kill -0 "$pid" 2>/dev/null; then
        return 0
    fi
    log "starting $name"
    ip netns exec "$PWN_NETNS" "$name" -d
}

start_daemons() {
    start_daemon virtlogd /run/virtlogd.pid
    local pid
    if [ -f /run/libvirtd.pid ] && pid=$(cat /run/libvirtd.pid) && kill -0 "$pid" 2>/dev/null \
        && [ "$(netns_of "$pid")" != "$(ip netns exec "$PWN_NETNS" readlink /proc/self/ns/net)" ]; then
        log "libvirtd ($pid) runs outside netns $PWN_NETNS; restarting it there"
        kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    start_daemon libvirtd /run/libvirtd.pid
    for _ in $(seq 100); do
        virsh -q -c qemu:///system version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    log "libvirtd did not answer"; exit 1
}

host2_uri() { echo "qemu+unix:///system?socket=$PWN_STATE_DIR/host2/run/libvirt-sock"; }

setup_second_host() {
    local ns=pwnhost2 dir=$PWN_STATE_DIR/host2
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    if ! ip netns exec "$ns" ip link show "$PWN_BRIDGE" >/dev/null 2>&1; then
        ip netns exec "$ns" ip link add "$PWN_BRIDGE" type bridge
        ip netns exec "$ns" ip link set "$PWN_BRIDGE" type bridge forward_delay 0 stp_state 0
    fi
    ensure_address "$ns" "${PWN_BRIDGE_CIDR%.*/*}.2/${PWN_BRIDGE_CIDR#*/}"
    ip netns exec "$ns" ip link set "$PWN_BRIDGE" up
    # The link between the two hosts: a veth pair joining their bridges.
    if ! ip netns exec "$PWN_NETNS" ip link show pwnlink2 >/dev/null 2>&1; then
        ip link add pwnlink2 type veth peer name pwnlink2p
        ip link set pwnlink2 netns "$PWN_NETNS"
        ip link set pwnlink2p netns "$ns"
        ip netns exec "$PWN_NETNS" ip link set pwnlink2 master "$PWN_BRIDGE"
        ip netns exec "$ns" ip link set pwnlink2p master "$PWN_BRIDGE"
    fi
    ip netns exec "$PWN_NETNS" ip link set pwnlink2 up
    ip netns exec "$ns" ip link set pwnlink2p up

    local pidf=$dir/libvirtd.pid
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        return 0
    fi
    log "starting the second test host (netns $ns)"
    mkdir -p "$dir"/{run,lib,log,cache}
    if [ ! -d "$dir/etc" ]; then
        cp -a /etc/libvirt "$dir/etc"
        rm -rf "$dir/etc/qemu/"*.xml "$dir/etc/qemu/autostart" "$dir/etc/storage" \
               "$dir/etc/qemu/networks/autostart"
    fi
    mkdir -p "$dir"/lib/{qemu,images,boot,dnsmasq,network}
    ip netns exec "$ns" unshare -m --propagation private sh -ec "
        mount --bind '$dir/run' /run/libvirt
        mount --bind '$dir/lib' /var/lib/libvirt
        mount --bind '$dir/etc' /etc/libvirt
        mount --bind '$dir/log' /var/log/libvirt
        mount --bind '$dir/cache' /var/cache/libvirt
        virtlogd -d -p '$dir/virtlogd.pid'
        libvirtd -d -p '$pidf'
    "
    for _ in $(seq 100); do
        virsh -q -c "$(host2_uri)" version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    log "the second libvirtd did not answer"; exit 1
}

configure_libvirt
setup_netns
start_daemons
log "ready: $(virsh -c qemu:///system version | tr '\n' ' ')"
if [ "$PWN_HOSTS" -ge 2 ]; then
    setup_second_host
    log "second host ready: $(host2_uri)"
fi
