#!/bin/bash
# Stop the test cloud of tools/cloud/up.sh.  Deletes the cloud's servers
# first (through Nova while it runs, then any domain left on either host),
# stops every service, and unmounts the second host's instances directory.
# The venv stays.  --purge also drops the databases, configs and state.
#
#   tools/cloud/down.sh [--purge]
set -euo pipefail
# shellcheck source=tools/cloud/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tools/cloud/network.sh
source "$(dirname "$0")/network.sh"

[ "$(id -u)" = 0 ] || die "must run as root"
purge=false
[ "${1:-}" = --purge ] && purge=true

delete_servers() {
    service_running nova-api || return 0
    [ -f "$PWN_CLOUD_ETC/openrc-admin" ] || return 0
    local ids
    # shellcheck source=/dev/null
    ids=$( (source "$PWN_CLOUD_ETC/openrc-admin" &&
            timeout 60 "$(venv_bin openstack)" server list --all-projects -f value -c ID) \
          2>/dev/null || true)
    [ -n "$ids" ] || return 0
    log "deleting servers: $(echo "$ids" | tr '\n' ' ')"
    # shellcheck source=/dev/null
    # shellcheck disable=SC2086
    (source "$PWN_CLOUD_ETC/openrc-admin" &&
        timeout 180 "$(venv_bin openstack)" server delete --wait $ids) || \
        log "some servers were not deleted through Nova; their domains are removed below"
}

cloud_domain_uuids() {  # the uuids of every instance Nova ever had here
    mysql -uroot -h127.0.0.1 -N -e "SELECT uuid FROM nova_cell1.instances" 2>/dev/null || true
}

remove_domains() {  # remove_domains URI: destroy and undefine the cloud's domains
    local uri=$1 uuid
    for uuid in $(cloud_domain_uuids); do
        if virsh -q -c "$uri" dominfo "$uuid" >/dev/null 2>&1; then
            log "removing domain $uuid from $uri"
            virsh -q -c "$uri" destroy "$uuid" >/dev/null 2>&1 || true
            virsh -q -c "$uri" undefine "$uuid" >/dev/null 2>&1 || true
        fi
    done
}

delete_servers
for ((i = ${#PWN_SERVICES[@]} - 1; i >= 0; i--)); do
    stop_service "${PWN_SERVICES[$i]}"
done
remove_dhcp_namespaces
unmount_host2_ovs
remove_domains qemu:///system
remove_domains "qemu+unix:///system?socket=$PWN_HOST2_DIR/run/libvirt-sock"
if [ -f "$PWN_HOST2_DIR/libvirtd.pid" ] && pid=$(cat "$PWN_HOST2_DIR/libvirtd.pid") \
        && kill -0 "$pid" 2>/dev/null \
        && nsenter -t "$pid" -m mountpoint -q "$PWN_INSTANCES"; then
    nsenter -t "$pid" -m umount "$PWN_INSTANCES"
fi
if $purge; then
    log "dropping the databases, configs and state"
    for db in keystone placement glance neutron nova_api nova_cell0 nova_cell1; do
        mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db" || true
    done
    rm -rf "$PWN_CLOUD_ETC" "$PWN_CLOUD_STATE"
fi
log "down"
