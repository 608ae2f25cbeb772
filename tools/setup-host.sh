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
#
# Each test host is a machine of its own to what runs on it
# (tools/host-identity.sh): its own host name, /etc/pki (a test CA's host
# certificate), /etc/ssh (sshd on its address; Nova's resize and cold
# migration copy over SSH) and /etc/libvirt, under /etc/netns/NETNS.
set -euo pipefail

PWN_NETNS=${PWN_NETNS:-pwnetizer}
PWN_BRIDGE=${PWN_BRIDGE:-pwnbr0}
PWN_BRIDGE_CIDR=${PWN_BRIDGE_CIDR:-10.213.0.1/16}
# Every clone gets a new MAC and so a new lease: a large range and short
# leases keep a machine that clones all day from running out of addresses.
PWN_DHCP_RANGE=${PWN_DHCP_RANGE:-10.213.1.1,10.213.254.254,255.255.0.0,10m}
PWN_STATE_DIR=${PWN_STATE_DIR:-/var/lib/pwnetizer}
PWN_HOSTS=${PWN_HOSTS:-2}
PWN_HOST1_NAME=${PWN_HOST1_NAME:-pwn-host1}
PWN_HOST2_NAME=${PWN_HOST2_NAME:-pwn-host2}
PWN_HOST2_NETNS=pwnhost2

log() { echo "setup-host: $*" >&2; }
# shellcheck source=tools/host-identity.sh
source "$(dirname "$0")/host-identity.sh"

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

install_packages() {
    local want=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
                libvirt-clients libvirt-dev pkg-config)
    # chromium: the Horizon action's browser test (headless, DevTools protocol)
    # fdisk, syslinux, mtools: the whole-disk guest images; openssh: SSH
    # between the test hosts; genisoimage: Nova's config drives; debootstrap:
    # the Debian cloud image
    local extra=(dnsmasq-base iproute2 iputils-ping busybox-static kmod cpio
                 dosfstools e2fsprogs curl shellcheck chromium fdisk syslinux
                 syslinux-common mtools openssh-server openssh-client openssl
                 genisoimage debootstrap)
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
    ensure_host_identity "$PWN_NETNS" "$PWN_HOST1_NAME" "${PWN_BRIDGE_CIDR%/*}"
    local qc
    qc=$(host_etc "$PWN_NETNS")/libvirt/qemu.conf
    # Test hosts run QEMU as root without a security driver; a production
    # host keeps Debian's defaults (see README, "Host requirements").  The
    # machine's own /etc/libvirt is left as it is.
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
    if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then
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

start_daemon() {  # start_daemon NAME PIDFILE: in the first test host's namespaces
    local name=$1 pidf=$2 pid
    if [ -f "$pidf" ] && pid=$(cat "$pidf") && alive "$pid"; then
        return 0
    fi
    log "starting $name"
    ip netns exec "$PWN_NETNS" unshare --uts sh -c "hostname '$PWN_HOST1_NAME' && exec $name -d"
}

stop_pid() {  # stop_pid PID: TERM, wait until it is gone (libvirt gives its drivers 30 s)
    kill "$1" 2>/dev/null || true
    for _ in $(seq 600); do alive "$1" || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}

start_daemons() {
    start_daemon virtlogd /run/virtlogd.pid
    local pid
    if [ -f /run/libvirtd.pid ] && pid=$(cat /run/libvirtd.pid) && alive "$pid" \
        && { [ "$(netns_of "$pid")" != "$(ip netns exec "$PWN_NETNS" readlink /proc/self/ns/net)" ] \
             || [ "$(hostname_of "$pid")" != "$PWN_HOST1_NAME" ]; }; then
        log "libvirtd ($pid) runs outside the first test host ($PWN_NETNS, $PWN_HOST1_NAME); restarting it there"
        stop_pid "$pid"
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
    local ns=$PWN_HOST2_NETNS dir=$PWN_STATE_DIR/host2
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

    # its own /etc/libvirt: the first host's configuration (qemu.conf above)
    if [ ! -d "$(host_etc "$ns")/libvirt" ]; then
        mkdir -p "$(host_etc "$ns")"
        cp -a "$(host_etc "$PWN_NETNS")/libvirt" "$(host_etc "$ns")/libvirt"
    fi
    ensure_host_identity "$ns" "$PWN_HOST2_NAME" "${PWN_BRIDGE_CIDR%.*/*}.2"
    local pidf=$dir/libvirtd.pid pid
    if [ -f "$pidf" ] && pid=$(cat "$pidf") && alive "$pid"; then
        [ "$(hostname_of "$pid")" = "$PWN_HOST2_NAME" ] && return 0
        log "the second test host's libvirtd ($pid) is not $PWN_HOST2_NAME; restarting it"
        stop_pid "$pid"
        [ -f "$dir/virtlogd.pid" ] && stop_pid "$(cat "$dir/virtlogd.pid")"
    fi
    log "starting the second test host (netns $ns, $PWN_HOST2_NAME)"
    mkdir -p "$dir"/{run,lib,log,cache}
    mkdir -p "$dir"/lib/{qemu,images,boot,dnsmasq,network}
    # (ip netns exec binds the host's own /etc/{pki,ssh,libvirt} over /etc)
    ip netns exec "$ns" unshare -m -u --propagation private sh -ec "
        hostname '$PWN_HOST2_NAME'
        mount --bind '$dir/run' /run/libvirt
        mount --bind '$dir/lib' /var/lib/libvirt
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
    host_trust "$PWN_HOST1_NAME:${PWN_BRIDGE_CIDR%/*}:$PWN_NETNS" \
               "$PWN_HOST2_NAME:${PWN_BRIDGE_CIDR%.*/*}.2:$PWN_HOST2_NETNS"
    start_sshd "$(cat /run/libvirtd.pid)" "${PWN_BRIDGE_CIDR%/*}"
    start_sshd "$(cat "$PWN_STATE_DIR/host2/libvirtd.pid")" "${PWN_BRIDGE_CIDR%.*/*}.2"
    log "second host ready: $(host2_uri); hosts $PWN_HOST1_NAME and $PWN_HOST2_NAME trust each other over SSH"
fi
