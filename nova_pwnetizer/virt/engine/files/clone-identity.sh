#!/bin/sh
# clone-identity.sh: make a live clone's guest OS its own machine.
#
# After the switch-over the clone runs a copy of its source's guest: same
# machine-id, hostname, host keys, network config bound to the source's MACs.
# The host runs this script inside the guest through the QEMU guest agent, as
# root, in two phases (so the new NICs can stay link-down until phase 1 ran):
#
#   guest-exec path=/bin/sh arg=['-c', <this text>, 'clone-identity', ARGS...]
#
#   rebind --mac OLD=NEW [--mac OLD=NEW ...] [--hostname NAME] [--seed HEX]
#          [--ssh-host-keys] [--cloud-init keep|new] [--instance-id ID]
#          [--genid-changed]
#   online --mac OLD=NEW [--mac OLD=NEW ...]
#
# stdout: one "key: value" line per thing done; stderr: why something could
# not be done.  Exit 0 when the essentials (network config rebind and new
# machine-id; in "online", finding each new NIC) worked or had nothing to do,
# 1 when one failed, 2 for bad arguments (then nothing was changed).
# POSIX sh (dash, bash, busybox sh); never reads stdin; no sleeps but the
# bounded wait for addresses in "online" (3 s at most).
#
# Tests: PWN_GUEST_ROOT (default empty) prefixes every path under /etc, /run,
# /var, /sys and /proc; commands are run by name from PATH.

exec </dev/null
set -u
LC_ALL=C
export LC_ALL
umask 022

R=${PWN_GUEST_ROOT:-}
HEX='[0-9a-f]'
MACPAT="$HEX$HEX:$HEX$HEX:$HEX$HEX:$HEX$HEX:$HEX$HEX:$HEX$HEX"
RC=0

say() { printf '%s: %s\n' "$1" "$2"; }
warn() { printf '%s: %s\n' "$1" "$2" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
usage() {
    warn usage "$1"
    exit 2
}
# systemd is PID 1 (sd_booted()'s own test)
systemd_runs() { [ -d "$R/run/systemd/system" ]; }
unit_active() { systemd_runs && have systemctl && systemctl is-active --quiet "$1"; }
nm_active() {
    if systemd_runs && have systemctl; then
        systemctl is-active --quiet NetworkManager
    else
        have nmcli && [ "$(nmcli -t -f RUNNING general 2>/dev/null)" = running ]
    fi
}

# --- arguments: all checked before anything changes -------------------------

PHASE=${1:-}
[ $# -gt 0 ] && shift
case $PHASE in
    rebind | online) ;;
    *) usage "first argument must be rebind or online, not '$PHASE'" ;;
esac

PAIRS=''
OLDS=''
NEWS=''
HOSTNAME_NEW=''
SEED=''
SSH_KEYS=0
GENID_CHANGED=0
CLOUD_INIT=''
INSTANCE_ID=''

valid_mac() {
    # shellcheck disable=SC2254  # the pattern is meant to be a pattern
    case $1 in
        $MACPAT) return 0 ;;
    esac
    return 1
}

valid_hostname() {
    [ ${#1} -ge 1 ] && [ ${#1} -le 253 ] || return 1
    case $1 in
        .* | *. | *..*) return 1 ;;
    esac
    vh_rest=$1
    while [ -n "$vh_rest" ]; do
        vh_label=${vh_rest%%.*}
        case $vh_rest in
            *.*) vh_rest=${vh_rest#*.} ;;
            *) vh_rest='' ;;
        esac
        [ ${#vh_label} -le 63 ] || return 1
        case $vh_label in
            '' | -* | *- | *[!A-Za-z0-9-]*) return 1 ;;
        esac
    done
    return 0
}

need_value() {
    [ $# -ge 2 ] || usage "$1 needs a value"
}

while [ $# -gt 0 ]; do
    case $1 in
        --mac)
            need_value "$@"
            case $2 in
                *=*) ;;
                *) usage "--mac takes OLD=NEW, not '$2'" ;;
            esac
            old=${2%%=*}
            new=${2#*=}
            if ! valid_mac "$old" || ! valid_mac "$new"; then
                usage "--mac '$2': MACs must be lower-case aa:bb:cc:dd:ee:ff"
            fi
            [ "$old" != "$new" ] || usage "--mac '$2': the new MAC is the old one"
            for seen in $OLDS $NEWS; do
                if [ "$seen" = "$old" ] || [ "$seen" = "$new" ]; then
                    usage "--mac '$2': each MAC may appear once"
                fi
            done
            PAIRS="$PAIRS $old=$new"
            OLDS="$OLDS $old"
            NEWS="$NEWS $new"
            shift 2
            ;;
        --hostname | --seed | --cloud-init | --instance-id)
            [ "$PHASE" = rebind ] || usage "$1 is for rebind only"
            need_value "$@"
            case $1 in
                --hostname)
                    [ -z "$HOSTNAME_NEW" ] || usage "--hostname given twice"
                    valid_hostname "$2" || usage "--hostname '$2' is no RFC 1123 host name"
                    HOSTNAME_NEW=$2
                    ;;
                --seed)
                    [ -z "$SEED" ] || usage "--seed given twice"
                    case $2 in
                        '' | *[!0-9a-fA-F]*) usage "--seed must be hex" ;;
                    esac
                    [ ${#2} -le 512 ] || usage "--seed is longer than 512 hex digits"
                    [ $((${#2} % 2)) -eq 0 ] || usage "--seed needs whole bytes"
                    SEED=$2
                    ;;
                --cloud-init)
                    [ -z "$CLOUD_INIT" ] || usage "--cloud-init given twice"
                    case $2 in
                        keep | new) CLOUD_INIT=$2 ;;
                        *) usage "--cloud-init takes keep or new, not '$2'" ;;
                    esac
                    ;;
                --instance-id)
                    [ -z "$INSTANCE_ID" ] || usage "--instance-id given twice"
                    case $2 in
                        '' | *[!A-Za-z0-9-]*) usage "--instance-id '$2': [A-Za-z0-9-] only" ;;
                    esac
                    [ ${#2} -le 64 ] || usage "--instance-id is longer than 64"
                    INSTANCE_ID=$2
                    ;;
            esac
            shift 2
            ;;
        --ssh-host-keys)
            [ "$PHASE" = rebind ] || usage "$1 is for rebind only"
            SSH_KEYS=1
            shift
            ;;
        --genid-changed)
            [ "$PHASE" = rebind ] || usage "$1 is for rebind only"
            GENID_CHANGED=1
            shift
            ;;
        *) usage "unknown argument '$1'" ;;
    esac
done
# (a clone without NICs still gets the rest of rebind)
[ -n "$PAIRS" ] || [ "$PHASE" = rebind ] || usage "at least one --mac OLD=NEW is needed"
if [ "$CLOUD_INIT" = new ] && [ -n "$INSTANCE_ID" ]; then
    usage "--instance-id goes with --cloud-init keep"
fi

# --- helpers -------------------------------------------------------------------

upper() { printf '%s' "$1" | tr a-f A-F; }
# a BRE matching the MAC in any letter case
anycase() { printf '%s' "$1" | sed 's/[a-f]/[&]/g; s/\[a\]/[aA]/g; s/\[b\]/[bB]/g; s/\[c\]/[cC]/g; s/\[d\]/[dD]/g; s/\[e\]/[eE]/g; s/\[f\]/[fF]/g'; }

# The sed program that rebinds every OLD to its NEW.  Only whole MACs: the
# characters around one must not be hex digits or colons (so a MAC inside a
# longer colon-separated address is left alone).  Exact lower and exact upper
# case keep the file's style (NetworkManager writes upper case); a mixed-case
# match becomes lower case.  The last expression runs twice because two MACs
# separated by one character share that character as their context.
SEDPROG=''
ERE=''
S='\([^0-9A-Fa-f:]\)'
for pair in $PAIRS; do
    o=${pair%%=*}
    n=${pair#*=}
    for form in "$o $n" "$(upper "$o") $(upper "$n")" "$(anycase "$o") $n"; do
        from=${form% *}
        to=${form#* }
        SEDPROG="$SEDPROG
s/^$from\$/$to/
s/^$from$S/$to\\1/
s/$S$from\$/\\1$to/
s/$S$from$S/\\1$to\\2/g
s/$S$from$S/\\1$to\\2/g"
    done
    ERE="${ERE:+$ERE|}$o"
done
ERE="(^|[^0-9A-Fa-f:])($ERE)([^0-9A-Fa-f:]|\$)"

# The interface that holds MAC $1 now (kernel names are lower case).
iface_of() {
    for io_dir in "$R"/sys/class/net/*; do
        [ -r "$io_dir/address" ] || continue
        read -r io_addr <"$io_dir/address" || continue
        if [ "$io_addr" = "$1" ]; then
            printf '%s\n' "${io_dir##*/}"
            return 0
        fi
    done
    return 1
}

# A networkd .network file matches on MACAddress= and Name= together (cloud-
# init writes both): the rebind helps only if the new NIC has the old name.
check_networkd_name() {
    cn_names=$(sed -n 's/^[[:space:]]*Name[[:space:]]*=[[:space:]]*//p' "$1")
    [ -n "$cn_names" ] || return 0
    for cn_pair in $PAIRS; do
        cn_new=${cn_pair#*=}
        grep -qi -- "$cn_new" "$1" || continue
        cn_if=$(iface_of "$cn_new") || continue
        cn_ok=0
        set -f
        for cn_pat in $cn_names; do
            # shellcheck disable=SC2254  # Name= takes globs
            case $cn_if in
                $cn_pat) cn_ok=1 ;;
            esac
        done
        set +f
        [ $cn_ok = 1 ] || warn network-config \
            "${1#"$R"} also matches Name=$cn_names but $cn_new is $cn_if"
    done
}

NETPLAN_CHANGED=0
REBOUND=0

rebind_file() {
    [ -f "$1" ] || return 0
    grep -Eiq -e "$ERE" "$1" 2>/dev/null || return 0
    if [ -L "$1" ]; then
        # write through the link: sed -i would replace it by a file (and no
        # temporary file: a guest user could have planted one at its path)
        rf_text=$(sed "$SEDPROG" "$1") && printf '%s\n' "$rf_text" >"$1"
        rf_rc=$?
    else
        sed -i "$SEDPROG" "$1"
        rf_rc=$?
    fi
    if [ $rf_rc -ne 0 ]; then
        warn network-config "could not rewrite ${1#"$R"}"
        RC=1
        return 0
    fi
    REBOUND=$((REBOUND + 1))
    say network-config "rebound ${1#"$R"}"
    case $1 in
        "$R"/etc/netplan/*) NETPLAN_CHANGED=1 ;;
        *.network) check_networkd_name "$1" ;;
    esac
}

rebind_all() {
    for f in \
        "$R"/etc/systemd/network/* "$R"/etc/systemd/network/*.d/*.conf \
        "$R"/run/systemd/network/* "$R"/run/systemd/network/*.d/*.conf \
        "$R"/etc/netplan/*.yaml \
        "$R"/etc/NetworkManager/system-connections/* \
        "$R"/run/NetworkManager/system-connections/* \
        "$R"/etc/network/interfaces "$R"/etc/network/interfaces.d/* \
        "$R"/etc/udev/rules.d/*persistent-net*.rules \
        "$R"/etc/sysconfig/network-scripts/ifcfg-*; do
        case $f in
            "$R"/etc/systemd/network/* | "$R"/run/systemd/network/*)
                case $f in
                    *.network | *.link | *.netdev | *.conf) ;;
                    *) continue ;;
                esac
                ;;
        esac
        rebind_file "$f"
    done
    [ $REBOUND -gt 0 ] || say network-config "nothing bound to the old MACs"
    if [ $NETPLAN_CHANGED = 1 ]; then
        if ! have netplan; then
            warn netplan "the yaml changed but there is no netplan command"
        elif netplan generate; then
            say netplan generated
        else
            warn netplan "netplan generate failed"
            RC=1
        fi
    fi
}

# --- rebind steps -------------------------------------------------------------

# The host's bytes go into the kernel's pool and are credited, then the CRNG
# is reseeded at once (RNDRESEEDCRNG, Linux >= 4.17), so /dev/urandom no
# longer follows the source's stream.  Without python3 the bytes are only
# written to /dev/urandom: mixed into the input pool, not credited, and the
# CRNG takes them at its next scheduled reseed only.
RNG_PY='
import fcntl, os, struct, sys
seed = bytes.fromhex(sys.argv[1])
fd = os.open("/dev/urandom", os.O_WRONLY)
try:
    # RNDADDENTROPY: struct rand_pool_info {int entropy_count (bits);
    # int buf_size (bytes); __u32 buf[]}
    fcntl.ioctl(fd, 0x40085203, struct.pack("ii", 8 * len(seed), len(seed)) + seed)
    try:
        fcntl.ioctl(fd, 0x5207)  # RNDRESEEDCRNG
    except OSError:
        sys.exit(3)
finally:
    os.close(fd)
'

reseed() {
    if [ -z "$SEED" ]; then
        say rng "unchanged (no seed given)"
        return 0
    fi
    if [ "$GENID_CHANGED" = 1 ] && [ -d "$R/sys/bus/acpi/drivers/vmgenid" ]; then
        # the kernel's vmgenid driver (Linux >= 5.18) reseeded the CRNG when
        # the host gave the clone its new VM generation ID: no python3 to
        # start (seconds on a slow guest) for the ioctls
        rs_why='the kernel reseeded on the new VM generation ID'
    elif have python3; then
        python3 -I -S -c "$RNG_PY" "$SEED"
        case $? in
            0)
                say rng "reseeded (ioctl)"
                return 0
                ;;
            3)
                say rng "credited (ioctl; no RNDRESEEDCRNG in this kernel)"
                return 0
                ;;
        esac
        rs_why='ioctl failed'
    else
        rs_why='no python3'
    fi
    # octal escapes for printf %b, by arithmetic only (no fork per byte)
    rs_esc=''
    rs_rest=$SEED
    while [ -n "$rs_rest" ]; do
        rs_b=$((0x${rs_rest%"${rs_rest#??}"}))
        rs_rest=${rs_rest#??}
        rs_esc="$rs_esc\\0$((rs_b / 64))$((rs_b / 8 % 8))$((rs_b % 8))"
    done
    if printf '%b' "$rs_esc" >/dev/urandom; then
        say rng "mixed ($rs_why)"
    else
        warn rng "could not write /dev/urandom"
    fi
}

# 16 bytes of /dev/urandom (read after the reseed) XOR the seed's last 16
# bytes, so the id differs from the source's even where the CRNG was not
# reseeded yet; shaped as a v4 UUID as systemd-machine-id-setup does.
# Append byte $1 in two lower-case hex digits to nm_id (no fork).
hex_byte() {
    for hb_n in $(($1 / 16)) $(($1 % 16)); do
        case $hb_n in
            10) hb_n=a ;;
            11) hb_n=b ;;
            12) hb_n=c ;;
            13) hb_n=d ;;
            14) hb_n=e ;;
            15) hb_n=f ;;
        esac
        nm_id=$nm_id$hb_n
    done
}

new_machine_id() {
    nm_rand=$(od -An -N16 -tx1 /dev/urandom 2>/dev/null | tr -d ' \n')
    case $nm_rand in
        *[!0-9a-f]* | '') nm_rand='' ;;
    esac
    if [ ${#nm_rand} -ne 32 ]; then
        nm_rand=$(tr -d '\n-' <"$R/proc/sys/kernel/random/uuid" 2>/dev/null)
    fi
    [ ${#nm_rand} -eq 32 ] || return 1
    nm_seed=$SEED
    while [ ${#nm_seed} -gt 32 ]; do nm_seed=${nm_seed#??}; done
    while [ ${#nm_seed} -lt 32 ]; do nm_seed="00$nm_seed"; done
    nm_id=''
    nm_i=0
    while [ -n "$nm_rand" ]; do
        nm_b=$((0x${nm_rand%"${nm_rand#??}"} ^ 0x${nm_seed%"${nm_seed#??}"}))
        nm_rand=${nm_rand#??}
        nm_seed=${nm_seed#??}
        case $nm_i in
            6) nm_b=$(((nm_b & 15) | 64)) ;;
            8) nm_b=$(((nm_b & 63) | 128)) ;;
        esac
        hex_byte "$nm_b"
        nm_i=$((nm_i + 1))
    done
    printf '%s\n' "$nm_id"
}

machine_id() {
    if ! mi_id=$(new_machine_id); then
        warn machine-id "no random source (od or /proc/sys/kernel/random/uuid)"
        RC=1
        return 0
    fi
    # Written in place (">" truncates the same inode), so this also works
    # where /etc/machine-id is a symlink or systemd's bind mount of
    # /run/machine-id; in that last case the id lasts until the next boot
    # only (systemd-machine-id-commit persists it when / is writable).
    if ! printf '%s\n' "$mi_id" >"$R/etc/machine-id"; then
        warn machine-id "could not write /etc/machine-id"
        RC=1
        return 0
    fi
    if grep -q ' /etc/machine-id ' "$R/proc/self/mountinfo" 2>/dev/null; then
        say machine-id "changed (transient: /etc/machine-id is a mount)"
    else
        say machine-id changed
    fi
    mi_dbus="$R/var/lib/dbus/machine-id"
    if [ -L "$mi_dbus" ]; then
        say dbus-machine-id "left (a symlink)"
    elif [ -f "$mi_dbus" ]; then
        if printf '%s\n' "$mi_id" >"$mi_dbus"; then
            say dbus-machine-id changed
        else
            warn dbus-machine-id "could not write /var/lib/dbus/machine-id"
        fi
    fi
}

random_seed() {
    rsf="$R/var/lib/systemd/random-seed"
    [ -f "$rsf" ] || return 0
    rs_size=$(wc -c <"$rsf" | tr -d ' ')
    [ "${rs_size:-0}" -gt 0 ] || return 0
    # same file (mode kept), same size, new bytes
    if dd if=/dev/urandom of="$rsf" bs="$rs_size" count=1 2>/dev/null; then
        say random-seed rewritten
    else
        warn random-seed "could not rewrite /var/lib/systemd/random-seed"
    fi
}

set_hostname() {
    [ -n "$HOSTNAME_NEW" ] || return 0
    hn_old=''
    if [ -r "$R/etc/hostname" ]; then
        read -r hn_old <"$R/etc/hostname" || hn_old=${hn_old:-}
    fi
    if [ -z "$hn_old" ] && [ -r "$R/proc/sys/kernel/hostname" ]; then
        read -r hn_old <"$R/proc/sys/kernel/hostname" || hn_old=${hn_old:-}
    fi
    hn_done=0
    if systemd_runs && have hostnamectl; then
        if hostnamectl set-hostname "$HOSTNAME_NEW"; then
            hn_done=1
        else
            warn hostname "hostnamectl failed; setting it by hand"
        fi
    fi
    if [ $hn_done = 0 ]; then
        # the kernel takes 64 characters at most: a longer FQDN gives its
        # first label there
        hn_kernel=$HOSTNAME_NEW
        [ ${#hn_kernel} -le 64 ] || hn_kernel=${HOSTNAME_NEW%%.*}
        if printf '%s\n' "$hn_kernel" >"$R/etc/hostname"; then
            hn_done=1
        else
            warn hostname "could not write /etc/hostname"
        fi
        if have hostname; then
            hostname "$hn_kernel" || warn hostname "hostname $hn_kernel failed"
        elif ! printf '%s' "$hn_kernel" >"$R/proc/sys/kernel/hostname"; then
            warn hostname "could not set the kernel's host name"
        fi
    fi
    [ $hn_done = 1 ] && say hostname "$HOSTNAME_NEW"
    hosts="$R/etc/hosts"
    if [ -n "$hn_old" ] && [ "$hn_old" != "$HOSTNAME_NEW" ] && [ -f "$hosts" ]; then
        # each name of the old host (short or with a domain) is renamed; a
        # domain stays unless the new name brings its own
        if hosts_text="$(awk -v old="$hn_old" -v new="$HOSTNAME_NEW" '
            BEGIN { sub(/\..*/, "", old); news = new; sub(/\..*/, "", news) }
            $1 == "127.0.1.1" {
                for (i = 2; i <= NF; i++) {
                    short = $i; sub(/\..*/, "", short)
                    if (short != old) continue
                    if ($i == short) $i = news
                    else if (new != news) $i = new
                    else { dom = $i; sub(/^[^.]*/, "", dom); $i = news dom }
                    c = 1
                }
            }
            { print }
            END { exit c ? 0 : 1 }' "$hosts")"; then
            if printf '%s\n' "$hosts_text" >"$hosts"; then
                say hosts "127.0.1.1 now names $HOSTNAME_NEW"
            else
                warn hosts "could not rewrite /etc/hosts"
            fi
        fi
    fi
}

# New DHCP client identities.  systemd-networkd's default DHCPv4 client id
# and its DHCPv6 DUID (DUID-EN) are derived from the machine-id, which the
# daemon reads once: sd_id128_get_machine() keeps it in a static variable
# for the process's life, so "networkctl reload" (which re-reads the
# .network files only) would go on sending the source's DUID; a restart is
# needed.  It comes after the rebind and the new machine-id, so the new
# daemon reads both.  The new NICs are still link-down: nothing is lost.
dhcp_identity() {
    if unit_active systemd-networkd; then
        if systemctl restart systemd-networkd; then
            say dhcp-identity "systemd-networkd restarted (DUID from the new machine-id)"
        else
            warn dhcp-identity "systemctl restart systemd-networkd failed"
        fi
    fi
    # dhclient keeps its DUID ("default-duid") and its leases (which would
    # ask for the source's address again) in its lease files; NetworkManager
    # keeps leases per connection and interface.
    for dl in "$R"/var/lib/dhcp/dhclient*.lease* "$R"/var/lib/dhclient/*.lease* \
        "$R"/var/lib/NetworkManager/*.lease; do
        [ -f "$dl" ] || continue
        if rm -f "$dl"; then
            say dhcp-identity "removed ${dl#"$R"}"
        else
            warn dhcp-identity "could not remove ${dl#"$R"}"
        fi
    done
    if nm_active; then
        # re-read the rebound keyfiles; the new NICs then match them
        if nmcli connection reload; then
            say networkmanager "connections reloaded"
        else
            warn networkmanager "nmcli connection reload failed"
        fi
    fi
}

ssh_host_keys() {
    [ $SSH_KEYS = 1 ] || return 0
    if ! have ssh-keygen; then
        warn ssh-host-keys "no ssh-keygen: keys left as they are"
        return 0
    fi
    # Old keys are moved aside first and come back if ssh-keygen fails, so
    # sshd is never left without host keys.
    sk_moved=''
    for sk in "$R"/etc/ssh/ssh_host_*key "$R"/etc/ssh/ssh_host_*key.pub; do
        [ -f "$sk" ] || continue
        mv -f "$sk" "$sk.clone-old" && sk_moved="$sk_moved $sk"
    done
    if [ -n "$R" ]; then
        ssh-keygen -A -f "$R"
    else
        ssh-keygen -A
    fi
    sk_rc=$?
    set -f
    for sk in $sk_moved; do
        if [ $sk_rc -eq 0 ]; then
            rm -f "$sk.clone-old"
        else
            mv -f "$sk.clone-old" "$sk"
        fi
    done
    set +f
    if [ $sk_rc -ne 0 ]; then
        warn ssh-host-keys "ssh-keygen -A failed: the old keys are back"
        return 0
    fi
    say ssh-host-keys regenerated
    if systemd_runs && have systemctl; then
        # Debian: ssh.service (sshd an alias); Red Hat: sshd.service only
        systemctl try-reload-or-restart ssh 2>/dev/null \
            || systemctl try-reload-or-restart sshd 2>/dev/null
    elif [ -x "$R/etc/init.d/ssh" ]; then
        "$R/etc/init.d/ssh" reload
    elif [ -x "$R/etc/init.d/sshd" ]; then
        "$R/etc/init.d/sshd" reload
    elif have service; then
        service ssh reload 2>/dev/null || service sshd reload 2>/dev/null
    fi || warn sshd "could not reload sshd"
}

# --cloud-init keep: make the clone's instance id (Nova: the server UUID, as
# the OpenStack datasources report it) look already initialised, so that at
# the clone's next boot cloud-init does not treat it as a first boot: no
# per-instance modules again (users, ssh keys, runcmd, scripts-user, ...),
# no user data again, no new network config rendered from the metadata.
# From cloud-init 22.4.2 (cloudinit/stages.py, helpers.py, cmd/main.py):
# - Per-instance semaphores are files instances/<iid>/sem/<name>
#   (Runners._get_sem: paths.get_ipath("sem") for PER_INSTANCE;
#   FileSemaphores._get_path joins sem_path and the name); "consume_data"
#   (user data) is one of them.  The copy below carries them over.
# - At boot, Init._restore_from_checked_cache loads instance/obj.pkl, the
#   pickled datasource, and keeps it if /run/cloud-init/.instance-id (gone
#   after a reboot) equals its id, else if ds.check_instance_id() says so
#   (OpenStack/ConfigDrive: the id equals the DMI system-uuid, i.e. the
#   clone's UUID); otherwise it deletes the instance link and discovers
#   the datasource again (sources.find_source).
# - Init._reflect_cur_instance then points /var/lib/cloud/instance at
#   instances/<datasource's iid>, and compares data/instance-id (read by
#   previous_iid() before it writes the new one) with that iid:
#   is_new_instance() decides the new network config (apply_network_config
#   renders on BOOT_NEW_INSTANCE only, unless the datasource enables BOOT).
# So with instances/<ID> holding the source's sem/ and data/instance-id = ID,
# the clone's next boot finds no new instance.  The copy's obj.pkl is
# removed: it describes the source (its iid) and, were it ever trusted
# (network stage "trust" mode, or a rerun in this boot whose
# /run/cloud-init/.instance-id still holds the old id), cloud-init would use
# instances/<old iid> and, data/instance-id being ID, see a new instance.
# Without it, cloud-init always asks the datasource.
# Caveats: ID must be what the datasource reports at the next boot (else
# cloud-init sees a new instance, as with "new"); a datasource whose id does
# not change (NoCloud seed copied with the disk) needs no --instance-id; a
# cloud_dir other than /var/lib/cloud in cloud.cfg is not followed; this
# boot's /run/cloud-init (instance-data.json) still describes the source.
cloud_init() {
    ci_dir="$R/var/lib/cloud"
    [ -d "$ci_dir" ] || return 0
    [ -n "$CLOUD_INIT" ] || CLOUD_INIT=keep
    if [ "$CLOUD_INIT" = new ]; then
        say cloud-init "new instance at next boot (first-boot modules and user data run again)"
        return 0
    fi
    if [ -z "$INSTANCE_ID" ]; then
        say cloud-init "kept (no new instance id given)"
        return 0
    fi
    ci_old=''
    if [ -r "$ci_dir/data/instance-id" ]; then
        read -r ci_old <"$ci_dir/data/instance-id" || ci_old=${ci_old:-}
    fi
    if [ "$ci_old" = "$INSTANCE_ID" ]; then
        say cloud-init "kept (instance id already $INSTANCE_ID)"
        return 0
    fi
    # cloud-init names the directory after the id with "/" made "_"
    ci_old_dir=$(printf '%s' "$ci_old" | tr / _)
    case $ci_old_dir in
        '' | . | ..)
            warn cloud-init "no current instance id in /var/lib/cloud/data/instance-id"
            return 0
            ;;
    esac
    ci_src="$ci_dir/instances/$ci_old_dir"
    ci_dst="$ci_dir/instances/$INSTANCE_ID"
    if [ ! -d "$ci_src" ]; then
        warn cloud-init "no /var/lib/cloud/instances/$ci_old_dir to copy"
        return 0
    fi
    rm -rf "$ci_dst.clone-tmp"
    if ! cp -a "$ci_src" "$ci_dst.clone-tmp"; then
        rm -rf "$ci_dst.clone-tmp"
        warn cloud-init "could not copy /var/lib/cloud/instances/$ci_old_dir"
        return 0
    fi
    rm -f "$ci_dst.clone-tmp/obj.pkl"
    rm -rf "$ci_dst"
    # the link as cloud-init makes it: absolute, to cloud_dir/instances/<iid>
    if ! { mv "$ci_dst.clone-tmp" "$ci_dst" \
        && rm -f "$ci_dir/instance" \
        && ln -s "/var/lib/cloud/instances/$INSTANCE_ID" "$ci_dir/instance" \
        && printf '%s\n' "$ci_old" >"$ci_dir/data/previous-instance-id" \
        && printf '%s\n' "$INSTANCE_ID" >"$ci_dir/data/instance-id"; }; then
        warn cloud-init "could not record instance $INSTANCE_ID"
        return 0
    fi
    say cloud-init "kept (instance $ci_old recorded as $INSTANCE_ID)"
}

# --- online steps -------------------------------------------------------------

# ip -4 -o addr: "2: ens3    inet 10.0.0.7/24 brd ... scope global ..."
ipv4_of() {
    printf '%s\n' "$ADDRS" | while read -r _ io_if io_fam io_addr _; do
        io_if=${io_if%:}
        if [ "${io_if%%@*}" = "$1" ] && [ "$io_fam" = inet ]; then
            printf '%s\n' "${io_addr%%/*}"
            break
        fi
    done
}

ARP_PY='
import socket, struct, sys
ifname, mac, ip = sys.argv[1:4]
hw = bytes.fromhex(mac.replace(":", ""))
pa = socket.inet_aton(ip)
# Ethernet broadcast, ARP request (gratuitous: sender and target are ip)
frame = (b"\xff" * 6 + hw + struct.pack("!H", 0x0806)
         + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + hw + pa + b"\x00" * 6 + pa)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
try:
    s.bind((ifname, 0))
    s.send(frame)
finally:
    s.close()
'

announce() {
    if have arping; then
        if arping -U -c 1 -I "$1" "$3" >/dev/null 2>&1; then
            say announce "$1 $3 (arping)"
        else
            warn announce "arping -U -I $1 $3 failed"
        fi
    elif have python3; then
        if python3 -I -S -c "$ARP_PY" "$1" "$2" "$3"; then
            say announce "$1 $3 (gratuitous ARP)"
        else
            warn announce "gratuitous ARP on $1 failed"
        fi
    else
        say announce "skipped (no arping or python3)"
    fi
}

online() {
    IFACES=''
    for pair in $PAIRS; do
        on_new=${pair#*=}
        if ! on_if=$(iface_of "$on_new"); then
            warn interface "no interface has $on_new"
            RC=1
            continue
        fi
        say interface "$on_new $on_if"
        IFACES="$IFACES $on_if=$on_new"
        if unit_active systemd-networkd; then
            if networkctl reconfigure "$on_if" || networkctl renew "$on_if"; then
                say link "$on_if reconfigured (systemd-networkd)"
            else
                warn link "networkctl reconfigure $on_if failed"
            fi
        elif nm_active; then
            if nmcli device connect "$on_if" >/dev/null; then
                say link "$on_if connected (NetworkManager)"
            else
                warn link "nmcli device connect $on_if failed"
            fi
        elif have ifup && [ -f "$R/etc/network/interfaces" ]; then
            if ifup "$on_if"; then
                say link "$on_if up (ifupdown)"
            else
                warn link "ifup $on_if failed"
            fi
        else
            warn link "$on_if: no systemd-networkd, NetworkManager or ifupdown to start"
        fi
    done
    [ -n "$IFACES" ] || return 0
    if ! have ip; then
        warn address "no ip command: addresses not read, not announced"
        return 0
    fi
    if ip neigh flush all; then
        say neigh flushed
    else
        warn neigh "ip neigh flush all failed"
    fi
    # Wait up to 3 s, polling every 0.1 s (every 1 s where sleep takes
    # whole seconds only), for an IPv4 address on each new interface.
    on_tries=30
    on_deadline=''
    if read -r on_up _ <"$R/proc/uptime" 2>/dev/null; then
        on_deadline=$((${on_up%.*}${on_up#*.} + 300))
    fi
    on_waiting=$IFACES
    while :; do
        ADDRS=$(ip -4 -o addr show 2>/dev/null)
        on_left=''
        for on_item in $on_waiting; do
            on_if=${on_item%%=*}
            on_addr=$(ipv4_of "$on_if")
            if [ -n "$on_addr" ]; then
                say address "$on_if $on_addr"
                announce "$on_if" "${on_item#*=}" "$on_addr"
            else
                on_left="$on_left $on_item"
            fi
        done
        on_waiting=$on_left
        if [ -z "$on_waiting" ] || [ $on_tries -le 0 ]; then
            break
        fi
        # the time spent polling counts too, where /proc/uptime tells it
        if [ -n "$on_deadline" ] && read -r on_up _ <"$R/proc/uptime" 2>/dev/null \
            && [ $((${on_up%.*}${on_up#*.})) -ge "$on_deadline" ]; then
            break
        fi
        on_tries=$((on_tries - 1))
        if ! sleep 0.1 2>/dev/null; then
            sleep 1
            on_tries=$((on_tries - 9))
        fi
    done
    for on_item in $on_waiting; do
        warn address "no IPv4 address on ${on_item%%=*} within 3 s"
    done
}

# --- main ---------------------------------------------------------------------

# Each part's time, in hundredths of a second of /proc/uptime (no process
# started for it), as one last line: where a slow guest spends the step.
TIMES=
T_LAST=
uptime_cs() {
    read -r t_up _ <"$R/proc/uptime" 2>/dev/null || return 1
    T_NOW=$(( ${t_up%.*}${t_up#*.} ))
}
uptime_cs && T_LAST=$T_NOW
mark() {
    if [ -n "$T_LAST" ] && uptime_cs; then
        TIMES="$TIMES $1=$((T_NOW - T_LAST))"
        T_LAST=$T_NOW
    fi
}

if [ "$PHASE" = rebind ]; then
    reseed; mark rng
    machine_id; mark machine-id
    rebind_all; mark network-config
    random_seed; mark random-seed
    set_hostname; mark hostname
    dhcp_identity; mark dhcp-identity
    ssh_host_keys; mark ssh
    cloud_init; mark cloud-init
else
    online; mark online
fi
[ -z "$TIMES" ] || say timing "centiseconds:$TIMES"
exit $RC
