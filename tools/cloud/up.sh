#!/bin/bash
# Bring up an all-in-one OpenStack test cloud on this machine, with the
# nova-pwnetizer driver on two compute hosts (the two test hosts of
# tools/setup-host.sh).  Idempotent: a second run starts only what is down.
#
#   tools/cloud/up.sh          # then: source /etc/pwnetizer-cloud/openrc-demo
#   tools/cloud/down.sh        # stop it all, delete the cloud's servers
#
# Keystone, Placement, Glance (file store), nova-api (WSGI under gunicorn),
# conductor and scheduler run in this network namespace on 127.0.0.1, with
# MariaDB and RabbitMQ.  nova-compute-1 runs in the namespace `pwnetizer`
# and talks to the host's libvirtd; nova-compute-2 runs in the namespaces
# (network and mount) of the second test host and talks to its libvirtd.
# nsproxy.py forwards each compute host's 127.0.0.1 API and RabbitMQ ports
# to the real ones, and each host's bridge address, port 16509, to its
# libvirtd socket (libvirt's TCP transport, no auth, test namespaces only)
# so the hosts reach each other's libvirtd like Nova's live migration.
# Guests run under TCG ([libvirt] virt_type = qemu).  Logs: /var/log/pwnetizer-cloud.
set -euo pipefail
# shellcheck source=tools/cloud/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tools/cloud/network.sh
source "$(dirname "$0")/network.sh"

[ "$(id -u)" = 0 ] || die "must run as root"
T0=$(date +%s.%N)

ensure_host() {
    PWN_HOSTS=2 "$PWN_TOP/tools/setup-host.sh"
    ensure_network_packages
}

ensure_backends() {
    if ! port_open 127.0.0.1 3306; then
        log "starting MariaDB"
        service mariadb start >/dev/null 2>&1 || service mysql start >/dev/null
    fi
    if ! port_open 127.0.0.1 5672; then
        log "starting RabbitMQ"
        service rabbitmq-server start >/dev/null
    fi
    for _ in $(seq 120); do
        port_open 127.0.0.1 3306 && port_open 127.0.0.1 5672 && return 0
        sleep 1
    done
    die "MariaDB or RabbitMQ did not come up"
}

ensure_venv() {
    local want stamp=$PWN_CLOUD_VENV/.pwn-cloud-installed
    # (the checkout's path too: the services import this checkout's code)
    want=$( (echo "$PWN_TOP"; cat "$PWN_TOP/constraints.txt" "$PWN_TOP/tools/cloud/constraints.txt" \
               "$PWN_TOP/setup.cfg" "$PWN_TOP/requirements.txt") | sha256sum | cut -c1-16)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "installing the cloud's services into $PWN_CLOUD_VENV (a few minutes)"
        [ -x "$PWN_CLOUD_VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$PWN_CLOUD_VENV"
        if ! git -C "$PWN_TOP" rev-parse HEAD >/dev/null 2>&1; then export PBR_VERSION=0.0.0; fi
        nice -n 10 "$PWN_CLOUD_VENV/bin/pip" install -q --disable-pip-version-check \
            -c "$PWN_TOP/constraints.txt" -c "$PWN_TOP/tools/cloud/constraints.txt" \
            nova keystone glance openstack-placement gunicorn PyMySQL python-openstackclient python-novaclient neutron \
            -r "$PWN_TOP/requirements.txt" 2> >(grep -v '^WARNING: Location' >&2)
        nice -n 10 "$PWN_CLOUD_VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
            -e "$PWN_TOP" 2> >(grep -v '^WARNING: Location' >&2)
        echo "$want" > "$stamp"
    fi
    # The compute driver shim inside Nova (a venv of its own, so always check).
    "$PWN_CLOUD_VENV/bin/pwnetizer-install-shim" >/dev/null
    mkdir -p "$PWN_CLOUD_HOME/bin"
    # shellcheck disable=SC2016  # a script, expanded when it runs
    printf '#!/bin/sh\n# the test cloud runs as root: sudo just runs its arguments\nwhile [ "${1#-}" != "$1" ]; do shift; done\nexec "$@"\n' \
        > "$PWN_CLOUD_HOME/bin/sudo"
    chmod 755 "$PWN_CLOUD_HOME/bin/sudo"
}

authtoken() {  # authtoken FILE USER: [keystone_authtoken] for a service user
    local f=$1 user=$2
    iniset "$f" keystone_authtoken www_authenticate_uri "http://127.0.0.1:$PWN_PORTS_KEYSTONE"
    iniset "$f" keystone_authtoken auth_url "http://127.0.0.1:$PWN_PORTS_KEYSTONE"
    iniset "$f" keystone_authtoken auth_type password
    iniset "$f" keystone_authtoken username "$user"
    iniset "$f" keystone_authtoken password "$PWN_CLOUD_PASSWORD"
    iniset "$f" keystone_authtoken project_name service
    iniset "$f" keystone_authtoken user_domain_name Default
    iniset "$f" keystone_authtoken project_domain_name Default
    iniset "$f" keystone_authtoken service_token_roles_required true
}

service_auth() {  # service_auth FILE SECTION USER: keystoneauth options of a client section
    local f=$1 s=$2 user=$3
    iniset "$f" "$s" auth_url "http://127.0.0.1:$PWN_PORTS_KEYSTONE"
    iniset "$f" "$s" auth_type password
    iniset "$f" "$s" username "$user"
    iniset "$f" "$s" password "$PWN_CLOUD_PASSWORD"
    iniset "$f" "$s" project_name service
    iniset "$f" "$s" user_domain_name Default
    iniset "$f" "$s" project_domain_name Default
    iniset "$f" "$s" region_name RegionOne
}

configure_keystone() {
    local d=$PWN_CLOUD_ETC/keystone f
    f=$d/keystone.conf
    mkdir -p "$d/fernet-keys" "$d/credential-keys"
    iniset "$f" database connection "$PWN_CLOUD_DB/keystone"
    iniset "$f" token provider fernet
    iniset "$f" fernet_tokens key_repository "$d/fernet-keys"
    iniset "$f" credential key_repository "$d/credential-keys"
    iniset "$f" DEFAULT debug false
}

configure_placement() {
    local f=$PWN_CLOUD_ETC/placement/placement.conf
    mkdir -p "$PWN_CLOUD_ETC/placement"
    iniset "$f" placement_database connection "$PWN_CLOUD_DB/placement"
    iniset "$f" api auth_strategy keystone
    authtoken "$f" placement
}

configure_glance() {
    local d=$PWN_CLOUD_ETC/glance f
    f=$d/glance-api.conf
    mkdir -p "$d" "$PWN_CLOUD_STATE/glance/images" "$PWN_CLOUD_STATE/glance/staging" \
        "$PWN_CLOUD_STATE/glance/tasks"
    cp "$PWN_CLOUD_VENV/etc/glance/glance-api-paste.ini" "$d/"
    iniset "$f" DEFAULT enabled_backends fs:file
    iniset "$f" DEFAULT bind_host 127.0.0.1
    iniset "$f" DEFAULT bind_port "$PWN_PORTS_GLANCE"
    iniset "$f" DEFAULT workers 1
    iniset "$f" DEFAULT image_cache_dir "$PWN_CLOUD_STATE/glance/cache"
    iniset "$f" DEFAULT worker_self_reference_url "http://127.0.0.1:$PWN_PORTS_GLANCE"
    iniset "$f" glance_store default_backend fs
    iniset "$f" fs filesystem_store_datadir "$PWN_CLOUD_STATE/glance/images"
    iniset "$f" os_glance_staging_store filesystem_store_datadir "$PWN_CLOUD_STATE/glance/staging"
    iniset "$f" os_glance_tasks_store filesystem_store_datadir "$PWN_CLOUD_STATE/glance/tasks"
    iniset "$f" database connection "$PWN_CLOUD_DB/glance"
    iniset "$f" paste_deploy flavor keystone
    iniset "$f" paste_deploy config_file "$d/glance-api-paste.ini"
    iniset "$f" oslo_concurrency lock_path "$PWN_CLOUD_STATE/glance/locks"
    authtoken "$f" glance
}

configure_neutron() {
    # neutron-server's API under gunicorn, its RPC in neutron-rpc-server;
    # ML2/OVS and the agents: network.sh.
    local d=$PWN_CLOUD_ETC/neutron f
    f=$d/neutron.conf
    mkdir -p "$d/plugins/ml2" "$PWN_CLOUD_STATE/neutron"
    cp "$PWN_CLOUD_VENV/etc/neutron/api-paste.ini" "$d/api-paste.ini"
    iniset "$f" DEFAULT core_plugin ml2
    # router and port_forwarding: neutron 29 lists ports with their models loaded
    iniset "$f" DEFAULT service_plugins router,port_forwarding
    iniset "$f" DEFAULT auth_strategy keystone
    iniset "$f" DEFAULT transport_url "$PWN_CLOUD_RABBIT"
    iniset "$f" DEFAULT state_path "$PWN_CLOUD_STATE/neutron"
    iniset "$f" DEFAULT api_paste_config "$d/api-paste.ini"
    iniset "$f" DEFAULT api_workers 1
    iniset "$f" DEFAULT rpc_workers 1
    iniset "$f" DEFAULT rpc_state_report_workers 1
    # Nova waits for network-vif-plugged when it boots a server
    iniset "$f" DEFAULT notify_nova_on_port_status_changes true
    iniset "$f" DEFAULT notify_nova_on_port_data_changes true
    iniset "$f" database connection "$PWN_CLOUD_DB/neutron"
    iniset "$f" oslo_concurrency lock_path "$PWN_CLOUD_STATE/neutron/locks"
    authtoken "$f" neutron
    service_auth "$f" nova nova
    configure_neutron_agents
}

configure_nova() {
    local d=$PWN_CLOUD_ETC/nova f c n x
    f=$d/nova.conf
    c=$d/nova-cpu.conf
    mkdir -p "$d" "$PWN_CLOUD_STATE/nova"
    cp "$PWN_CLOUD_VENV/etc/nova/api-paste.ini" "$d/api-paste.ini"
    # nova.conf: api, conductor, scheduler; nova-cpu.conf: the compute hosts
    # (no database: with [api_database] set nova-compute reads every cell's
    # database at start, as devstack's nova-cpu.conf it has none).
    : > "$c"
    for x in "$f" "$c"; do
        iniset "$x" DEFAULT transport_url "$PWN_CLOUD_RABBIT"
        iniset "$x" DEFAULT debug false
        iniset "$x" oslo_messaging_notifications driver noop
        iniset "$x" glance region_name RegionOne
        service_auth "$x" placement placement
        service_auth "$x" neutron nova
        service_auth "$x" service_user nova
        iniset "$x" service_user send_service_user_token true
    done
    iniset "$f" DEFAULT state_path "$PWN_CLOUD_STATE/nova"
    iniset "$f" DEFAULT my_ip 127.0.0.1
    iniset "$f" DEFAULT osapi_compute_workers 1
    iniset "$f" DEFAULT metadata_workers 1
    iniset "$f" conductor workers 1
    iniset "$f" scheduler workers 1
    iniset "$f" scheduler discover_hosts_in_cells_interval 5
    iniset "$f" wsgi api_paste_config "$d/api-paste.ini"
    iniset "$f" api_database connection "$PWN_CLOUD_DB/nova_api"
    iniset "$f" database connection "$PWN_CLOUD_DB/nova_cell1"
    iniset "$f" api auth_strategy keystone
    iniset "$f" oslo_concurrency lock_path "$PWN_CLOUD_STATE/nova/locks"
    authtoken "$f" nova
    iniset "$f" filter_scheduler enabled_filters \
        ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter
    # compute hosts (nova-cpu.conf, then nova-hostN.conf)
    iniset "$c" DEFAULT instances_path "$PWN_INSTANCES"
    iniset "$c" DEFAULT reserved_host_memory_mb 256
    iniset "$c" DEFAULT heal_instance_info_cache_interval -1
    # everything runs as root here: oslo.privsep starts its helper with "sudo"
    iniset "$c" workarounds disable_rootwrap true
    iniset "$c" libvirt virt_type qemu
    iniset "$c" libvirt cpu_mode none
    # resize and cold migration copy the disks over SSH between the hosts
    # (each host's /etc/ssh: tools/host-identity.sh)
    iniset "$c" libvirt remote_filesystem_transport ssh
    # Live migration: the destination's os-vif makes the OVS port before
    # QEMU's tap exists; with OVS's userspace datapath (netdev) that port
    # has no ofport, so the agent never wires it and Neutron never sends
    # network-vif-plugged: Nova waited vif_plugging_timeout and aborted
    # (measured here).  Nova's option help names this case; the port is
    # wired when the tap appears, during the migration.
    iniset "$c" compute live_migration_wait_for_vif_plug false
    iniset "$c" vnc enabled false
    iniset "$c" compute cpu_allocation_ratio 16
    iniset "$c" DEFAULT ram_allocation_ratio 4
    for n in 1 2; do
        local h=$d/nova-host$n.conf addr_var=PWN_HOST${n}_ADDR
        : > "$h"
        iniset "$h" DEFAULT host "pwn-host$n"
        iniset "$h" DEFAULT my_ip "${!addr_var}"
        iniset "$h" DEFAULT state_path "$PWN_CLOUD_STATE/host$n"
        iniset "$h" oslo_concurrency lock_path "$PWN_CLOUD_STATE/host$n/locks"
        iniset "$h" libvirt live_migration_inbound_addr "${!addr_var}"
        mkdir -p "$PWN_CLOUD_STATE/host$n"
    done
    # What the devstack plugin does (devstack/lib/pwnetizer), with the same
    # secret on nova-api, nova-scheduler and both compute hosts.
    [ -f "$PWN_CLOUD_STATE/clone_secret" ] \
        || (umask 077 && openssl rand -hex 32 > "$PWN_CLOUD_STATE/clone_secret")
    chmod 600 "$PWN_CLOUD_STATE/clone_secret"
    # shellcheck disable=SC2034  # read by devstack/lib/pwnetizer
    local NOVA_CONF=$f NOVA_CPU_CONF=$c NOVA_API_PASTE_INI=$d/api-paste.ini
    # shellcheck disable=SC2034
    local PWNETIZER_DIR=$PWN_TOP PWNETIZER_CLONE_SECRET PWNETIZER_MAX_CLONES=8
    # shellcheck disable=SC2034
    local PWNETIZER_SOURCE_URI="qemu+tcp://%s:$PWN_LIBVIRT_TCP_PORT/system"
    # shellcheck disable=SC2034
    PWNETIZER_CLONE_SECRET=$(cat "$PWN_CLOUD_STATE/clone_secret")
    # shellcheck source=devstack/lib/pwnetizer
    source "$PWN_TOP/devstack/lib/pwnetizer"
    PATH=$PWN_CLOUD_PATH configure_pwnetizer >/dev/null
}

ensure_databases() {
    local stamp=$PWN_CLOUD_STATE/db.synced want
    want=$(cat "$PWN_TOP/tools/cloud/constraints.txt" "$PWN_TOP/constraints.txt" | sha256sum | cut -c1-16)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
    log "creating and migrating the databases (a few minutes the first time)"
    local db
    for db in keystone placement glance neutron nova_api nova_cell0 nova_cell1; do
        mysql -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4"
    done
    local k="--config-file $PWN_CLOUD_ETC/keystone/keystone.conf"
    # shellcheck disable=SC2086
    {
        nice -n 10 "$(venv_bin keystone-manage)" $k db_sync
        nice -n 10 "$(venv_bin keystone-manage)" $k fernet_setup --keystone-user root --keystone-group root
        nice -n 10 "$(venv_bin keystone-manage)" $k credential_setup --keystone-user root --keystone-group root
        nice -n 10 "$(venv_bin keystone-manage)" $k bootstrap --bootstrap-password "$PWN_CLOUD_PASSWORD" \
            --bootstrap-admin-url "http://127.0.0.1:$PWN_PORTS_KEYSTONE/v3/" \
            --bootstrap-internal-url "http://127.0.0.1:$PWN_PORTS_KEYSTONE/v3/" \
            --bootstrap-public-url "http://127.0.0.1:$PWN_PORTS_KEYSTONE/v3/" \
            --bootstrap-region-id RegionOne
    } > "$PWN_CLOUD_LOG/db-sync.log" 2>&1
    {
        nice -n 10 "$(venv_bin placement-manage)" \
            --config-file "$PWN_CLOUD_ETC/placement/placement.conf" db sync
        nice -n 10 "$(venv_bin glance-manage)" \
            --config-file "$PWN_CLOUD_ETC/glance/glance-api.conf" db_sync
        nice -n 10 "$(venv_bin neutron-db-manage)" \
            --config-file "$PWN_CLOUD_ETC/neutron/neutron.conf" \
            --config-file "$PWN_CLOUD_ETC/neutron/plugins/ml2/ml2_conf.ini" upgrade heads
    } >> "$PWN_CLOUD_LOG/db-sync.log" 2>&1
    local nm=("$(venv_bin nova-manage)" --config-file "$PWN_CLOUD_ETC/nova/nova.conf")
    {
        nice -n 10 "${nm[@]}" api_db sync
        nice -n 10 "${nm[@]}" cell_v2 map_cell0 --database_connection "$PWN_CLOUD_DB/nova_cell0"
        if [[ "$("${nm[@]}" cell_v2 list_cells 2>/dev/null)" != *" cell1 "* ]]; then
            nice -n 10 "${nm[@]}" cell_v2 create_cell --name cell1
        fi
        nice -n 10 "${nm[@]}" db sync
    } >> "$PWN_CLOUD_LOG/db-sync.log" 2>&1
    echo "$want" > "$stamp"
}

host2_mounts() {  # the second host's own instances directory, in its mount namespace
    local pid mine=$PWN_CLOUD_STATE/host2-instances
    pid=$(host2_libvirtd_pid)
    mkdir -p "$PWN_INSTANCES" "$mine"
    if ! nsenter -t "$pid" -m mountpoint -q "$PWN_INSTANCES"; then
        nsenter -t "$pid" -m mount --bind "$mine" "$PWN_INSTANCES"
    fi
}

bootstrap() {  # tools/cloud/bootstrap.py with the cloud's settings
    PATH=$PWN_CLOUD_PATH nice -n 10 "$(venv_bin python)" "$PWN_TOP/tools/cloud/bootstrap.py" \
        --etc "$PWN_CLOUD_ETC" --password "$PWN_CLOUD_PASSWORD" \
        --nova-manage "$(venv_bin nova-manage) --config-file $PWN_CLOUD_ETC/nova/nova.conf" "$@"
}

start_all() {
    local v=$PWN_CLOUD_VENV/bin e=$PWN_CLOUD_ETC
    local fwd=() ns port
    for ns in "$PWN_HOST1_NETNS" "$PWN_HOST2_NETNS"; do
        for port in 5672 "$PWN_PORTS_KEYSTONE" "$PWN_PORTS_PLACEMENT" "$PWN_PORTS_GLANCE" \
                    "$PWN_PORTS_NOVA" "$PWN_PORTS_NEUTRON"; do
            fwd+=("$ns:127.0.0.1:$port=127.0.0.1:$port")
        done
    done
    fwd+=("$PWN_HOST1_NETNS:$PWN_HOST1_ADDR:$PWN_LIBVIRT_TCP_PORT=/run/libvirt/libvirt-sock")
    fwd+=("$PWN_HOST2_NETNS:$PWN_HOST2_ADDR:$PWN_LIBVIRT_TCP_PORT=$PWN_HOST2_DIR/run/libvirt-sock")
    # Not niced: a clone's libvirt calls to the source's libvirtd pass
    # through it while the source is paused.
    NICE=0 start_service nsproxy "$v/python" "$PWN_TOP/tools/cloud/nsproxy.py" "${fwd[@]}"

    # Nova's services run this working tree's nova_pwnetizer: a change of its
    # code changes their command line, so start_service restarts them.
    local code
    code=$(find "$PWN_TOP/nova_pwnetizer" -name '*.py' -print0 | sort -z | xargs -0 cat \
           | sha256sum | cut -c1-12)
    local g=("$v/gunicorn" --workers 1 --threads 4 --timeout 600 --graceful-timeout 5
             --pythonpath "$PWN_TOP/tools/cloud")
    start_service keystone env OS_KEYSTONE_CONFIG_FILES="$e/keystone/keystone.conf" \
        "${g[@]}" --bind "127.0.0.1:$PWN_PORTS_KEYSTONE" cloud_wsgi:keystone
    start_service placement env OS_PLACEMENT_CONFIG_DIR="$e/placement" \
        "${g[@]}" --bind "127.0.0.1:$PWN_PORTS_PLACEMENT" cloud_wsgi:placement
    start_service glance env OS_GLANCE_CONFIG_DIR="$e/glance" \
        "${g[@]}" --bind "127.0.0.1:$PWN_PORTS_GLANCE" cloud_wsgi:glance
    start_service neutron env OS_NEUTRON_CONFIG_DIR="$e/neutron" \
        "${g[@]}" --bind "127.0.0.1:$PWN_PORTS_NEUTRON" cloud_wsgi:neutron
    start_service nova-api env PWN_CODE="$code" OS_NOVA_CONFIG_DIR="$e/nova" \
        "${g[@]}" --bind "127.0.0.1:$PWN_PORTS_NOVA" cloud_wsgi:nova_api
    wait_http "http://127.0.0.1:$PWN_PORTS_KEYSTONE/v3" 120 keystone
    # The service users exist before the services that use them start.
    bootstrap --identity-only
    start_service nova-conductor env PWN_CODE="$code" "$v/nova-conductor" --config-file "$e/nova/nova.conf"
    start_service nova-scheduler env PWN_CODE="$code" "$v/nova-scheduler" --config-file "$e/nova/nova.conf"
    # nova-compute waits a whole RPC timeout (60 s) when the conductor is
    # not consuming yet: start the computes once it is.
    wait_log nova-conductor 'Starting conductor node' 120
    start_network
    local cpu=(--config-file "$e/nova/nova-cpu.conf")
    # The computes run the clone engine, which resumes the source when the
    # switch-over completes: not niced (the guests' QEMU are not either).
    # Each in the namespaces of its host's libvirtd: its network, its own
    # /etc (pki, ssh, libvirt), its host name (which libvirt reports and
    # Nova names the compute node after).
    NICE=0 start_service nova-compute-1 nsenter -t "$(host1_libvirtd_pid)" -m -n -u \
        env PWN_CODE="$code" "$v/nova-compute" "${cpu[@]}" --config-file "$e/nova/nova-host1.conf"
    NICE=0 start_service nova-compute-2 nsenter -t "$(host2_libvirtd_pid)" -m -n -u \
        env PWN_CODE="$code" "$v/nova-compute" "${cpu[@]}" --config-file "$e/nova/nova-host2.conf"
    wait_http "http://127.0.0.1:$PWN_PORTS_PLACEMENT/" 180 placement
    wait_http "http://127.0.0.1:$PWN_PORTS_GLANCE/" 180 glance
    wait_http "http://127.0.0.1:$PWN_PORTS_NOVA/" 180 nova-api
    wait_http "http://127.0.0.1:$PWN_PORTS_NEUTRON/" 180 neutron
}

main() {
    mkdir -p "$PWN_CLOUD_ETC" "$PWN_CLOUD_STATE" "$PWN_CLOUD_LOG" "$PWN_CLOUD_RUN"
    ensure_host
    ensure_backends
    ensure_venv
    configure_keystone
    configure_placement
    configure_glance
    configure_neutron
    configure_nova
    # a change of any service's configuration, or of the cloud's own
    # Python pieces (nsproxy, wrappers), restarts the services
    PWN_CONF_HASH=$( (find "$PWN_CLOUD_ETC" -name '*.conf' -o -name '*.ini' | sort; \
                      ls "$PWN_TOP"/tools/cloud/{nsproxy,cloud_wsgi}.py) \
                    | xargs cat | sha256sum | cut -c1-12)
    ensure_databases
    host2_mounts
    start_all
    # Users, services, endpoints, the demo project, flavor, test image, and
    # both compute hosts registered; writes openrc-admin/openrc-demo/clouds.yaml.
    bootstrap
    local t
    t=$(echo "$(date +%s.%N) - $T0" | bc 2>/dev/null || python3 -c "import time;print(round(time.time()-$T0,1))")
    log "ready in ${t} s: source $PWN_CLOUD_ETC/openrc-demo (or openrc-admin)"
}

main "$@"
