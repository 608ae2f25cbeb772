# shellcheck shell=bash
# Neutron's data plane in the test cloud (sourced by up.sh, after lib.sh).
#
# ML2/OVS with Open vSwitch's userspace datapath (datapath_type = netdev:
# the kernel has no openvswitch module here).  Each compute host runs its
# own ovsdb-server and ovs-vswitchd in its namespaces (the unix socket at
# /run/openvswitch/db.sock of its mount namespace, ptcp:6640 on its own
# 127.0.0.1, where neutron's agent and os-vif look), a bridge br-phys for
# the provider network `physnet1` and neutron-openvswitch-agent.  The
# hosts' br-phys are joined by a veth pair of their own (pwnphys1 and
# pwnphys2), so tenant traffic (VLANs 100-199 of physnet1) crosses a
# link apart from the one that carries migration streams (pwnlink2).  The
# DHCP agent runs on the first host (a network node beside its compute).

PWN_PHYSNET=physnet1
PWN_VLAN_RANGE=100:199

host_ns() {  # host_ns N: the command prefix that enters compute host N, in HOST_NS
    # (the namespaces of its libvirtd: network, mount with its own /etc, UTS)
    HOST_NS=(nsenter -t "$(host"$1"_libvirtd_pid)" -m -n -u)
}

in_host() {  # in_host N COMMAND...: run COMMAND in compute host N's namespaces
    host_ns "$1"
    shift
    "${HOST_NS[@]}" "$@"
}

ensure_network_packages() {
    local want=() p
    for p in openvswitch-switch dnsmasq-base dnsmasq-utils conntrack curl; do
        dpkg -s "$p" >/dev/null 2>&1 || want+=("$p")
    done
    [ ${#want[@]} = 0 ] && return 0
    log "installing ${want[*]}"
    # The packages' own services stay down: each test host runs its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${want[@]}" >/dev/null || {
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${want[@]}" >/dev/null
    } || rc=$?
    rm -f /usr/sbin/policy-rc.d
    return $rc
}

ensure_physical_link() {  # the provider network's cable between the two hosts
    if ! ip netns exec "$PWN_HOST1_NETNS" ip link show pwnphys1 >/dev/null 2>&1; then
        ip link add pwnphys1 type veth peer name pwnphys2
        ip link set pwnphys1 netns "$PWN_HOST1_NETNS"
        ip link set pwnphys2 netns "$(host2_libvirtd_pid)"
    fi
    ip netns exec "$PWN_HOST1_NETNS" ip link set pwnphys1 up
    in_host 2 ip link set pwnphys2 up
}

ovs_rundir_of() {  # the directory mounted at /run/openvswitch in host N
    if [ "$1" = 1 ]; then echo /run/openvswitch; else echo "$PWN_CLOUD_STATE/host2-ovs-run"; fi
}

start_ovs() {  # start_ovs N: host N's ovsdb-server and ovs-vswitchd, br-phys
    local n=$1 db=$PWN_CLOUD_STATE/ovs-host$1/conf.db run
    run=$(ovs_rundir_of "$n")
    mkdir -p "$(dirname "$db")" "$run" /run/openvswitch
    if [ "$n" = 2 ] && [ "$(in_host 2 stat -c %d:%i /run/openvswitch)" != "$(stat -c %d:%i "$run")" ]; then
        # (a mount of a directory since deleted, by down.sh --purge, goes first)
        nsenter -t "$(host2_libvirtd_pid)" -m umount /run/openvswitch 2>/dev/null || true
        nsenter -t "$(host2_libvirtd_pid)" -m mount --bind "$run" /run/openvswitch
    fi
    [ -f "$db" ] || ovsdb-tool create "$db" /usr/share/openvswitch/vswitch.ovsschema
    host_ns "$n"
    start_service "ovsdb-server-$n" "${HOST_NS[@]}" ovsdb-server "$db" \
        --remote=punix:/run/openvswitch/db.sock \
        --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
        --pidfile=/run/openvswitch/ovsdb-server.pid \
        --unixctl=/run/openvswitch/ovsdb-server.ctl
    for _ in $(seq 100); do [ -S "$run/db.sock" ] && break; sleep 0.1; done
    local vsctl=(in_host "$n" ovs-vsctl --timeout=10)
    "${vsctl[@]}" --no-wait init
    "${vsctl[@]}" --no-wait set-manager ptcp:6640:127.0.0.1
    # A virtio-net guest leaves its TCP checksums to the host ("partial"
    # in the tap's virtio-net header): with TSO support on, the userspace
    # datapath reads that header and hands it on to the tap or veth it
    # sends to, whose kernel completes the checksum.  Without it the
    # packets leave with bad checksums (ping works, TCP does not).
    "${vsctl[@]}" --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
    # A new ovs-vswitchd starts without flows: the agent must provision
    # the host's ports again, so it restarts too.
    service_running "ovs-vswitchd-$n" || stop_service "neutron-ovs-agent-$n"
    # The packets of the userspace datapath go through ovs-vswitchd itself:
    # not niced, like the guests' QEMU.
    NICE=0 start_service "ovs-vswitchd-$n" "${HOST_NS[@]}" ovs-vswitchd \
        unix:/run/openvswitch/db.sock --pidfile=/run/openvswitch/ovs-vswitchd.pid
    "${vsctl[@]}" --may-exist add-br br-phys -- set bridge br-phys datapath_type=netdev \
        -- --may-exist add-port br-phys "pwnphys$n"
    in_host "$n" ip link set br-phys up
}

configure_neutron_agents() {  # ML2/OVS, the agents' files (neutron.conf is up.sh's)
    local d=$PWN_CLOUD_ETC/neutron m n a
    m=$d/plugins/ml2/ml2_conf.ini
    iniset "$m" ml2 type_drivers flat,vlan
    iniset "$m" ml2 tenant_network_types vlan
    iniset "$m" ml2 mechanism_drivers openvswitch
    iniset "$m" ml2 extension_drivers port_security
    iniset "$m" ml2_type_vlan network_vlan_ranges "$PWN_PHYSNET:$PWN_VLAN_RANGE"
    iniset "$m" securitygroup firewall_driver openvswitch
    iniset "$m" securitygroup enable_security_group true
    for n in 1 2; do
        a=$d/ovs-agent-host$n.ini
        iniset "$a" DEFAULT host "pwn-host$n"
        iniset "$a" ovs datapath_type netdev
        iniset "$a" ovs bridge_mappings "$PWN_PHYSNET:br-phys"
        iniset "$a" ovs integration_bridge br-int
        iniset "$a" ovs ovsdb_connection tcp:127.0.0.1:6640
        iniset "$a" ovs of_listen_address 127.0.0.1
        iniset "$a" agent tunnel_types ""
        iniset "$a" agent root_helper sudo
        iniset "$a" securitygroup firewall_driver openvswitch
        iniset "$a" oslo_concurrency lock_path "$PWN_CLOUD_STATE/host$n/neutron-locks"
    done
    a=$d/dhcp-agent.ini
    iniset "$a" DEFAULT host pwn-host1
    iniset "$a" DEFAULT interface_driver openvswitch
    # a veth into the DHCP namespace: the userspace datapath reads it as
    # any netdev (an OVS internal port would be a tap of ovs-vswitchd's).
    iniset "$a" DEFAULT ovs_use_veth true
    iniset "$a" DEFAULT dhcp_driver neutron.agent.linux.dhcp.Dnsmasq
    iniset "$a" DEFAULT enable_isolated_metadata false
    iniset "$a" ovs ovsdb_connection tcp:127.0.0.1:6640
    iniset "$a" ovs integration_bridge br-int
    iniset "$a" agent root_helper sudo
    iniset "$a" oslo_concurrency lock_path "$PWN_CLOUD_STATE/host1/neutron-dhcp-locks"
}

start_network() {  # OVS and the agents on both hosts; neutron-rpc-server here
    local v=$PWN_CLOUD_VENV/bin e=$PWN_CLOUD_ETC/neutron n
    local common=(--config-file "$e/neutron.conf" --config-file "$e/plugins/ml2/ml2_conf.ini")
    ensure_physical_link
    start_service neutron-rpc-server "$v/neutron-rpc-server" "${common[@]}"
    for n in 1 2; do
        start_ovs "$n"
        host_ns "$n"
        start_service "neutron-ovs-agent-$n" "${HOST_NS[@]}" "$v/neutron-openvswitch-agent" \
            "${common[@]}" --config-file "$e/ovs-agent-host$n.ini"
    done
    service_running neutron-dhcp-agent || remove_failed_ports 1
    # In the first host's network namespace but the root mount namespace,
    # so that its qdhcp-* namespaces are seen from here (`ip netns exec`
    # would give it a mount namespace of its own).
    start_service neutron-dhcp-agent nsenter --net="/run/netns/$PWN_HOST1_NETNS" \
        "$v/neutron-dhcp-agent" \
        --config-file "$e/neutron.conf" --config-file "$e/dhcp-agent.ini"
}

remove_failed_ports() {  # remove_failed_ports N: br-int ports without their device
    # The DHCP agent's veths die with its namespaces (down.sh); their ports
    # stay in the OVS database.  The agent plugs them again with
    # --may-exist, which leaves the userspace datapath without the new
    # device: DHCP would be dead.  So a port whose device is gone goes.
    local port
    for port in $(in_host "$1" ovs-vsctl --timeout=10 --bare --columns=name \
                      find Interface 'error!=[]' 2>/dev/null); do
        log "removing the OVS port $port of host $1 (its device is gone)"
        in_host "$1" ovs-vsctl --timeout=10 --if-exists del-port br-int "$port"
    done
}

remove_dhcp_namespaces() {  # the DHCP agent's namespaces and their dnsmasq
    local ns pid
    for ns in $(ip netns list | awk '/^qdhcp-/{print $1}'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
        ip netns delete "$ns" 2>/dev/null || true
    done
}

unmount_host2_ovs() {  # the second host's /run/openvswitch (down.sh)
    local pid
    pid=$(host2_libvirtd_pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null || return 0
    if nsenter -t "$pid" -m mountpoint -q /run/openvswitch; then
        nsenter -t "$pid" -m umount /run/openvswitch
    fi
}
