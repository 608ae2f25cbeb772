# shellcheck shell=bash
# Per-host identity of the test hosts of tools/setup-host.sh, as if each
# were a machine of its own: a host name (its own UTS namespace), its own
# /etc/pki (host certificate from a test CA made here), /etc/ssh (host key,
# sshd, the nova user's key and the other hosts trusted, for Nova's resize
# and cold migration) and /etc/libvirt.  They live in /etc/netns/NETNS/,
# which `ip netns exec NETNS` bind-mounts over /etc (iproute2's own
# mechanism), so every process of a test host sees its own and the
# machine's /etc stays as it is.  Sourced by setup-host.sh, never run.

PWN_CA_DIR=${PWN_CA_DIR:-$PWN_STATE_DIR/ca}
PWN_CERT_DAYS=${PWN_CERT_DAYS:-3650}

host_etc() { echo "/etc/netns/$1"; }   # host_etc NETNS

ensure_test_ca() {  # the test CA that signs every test host's certificate
    [ -f "$PWN_CA_DIR/cacert.pem" ] && return 0
    log "making the test CA in $PWN_CA_DIR"
    mkdir -p "$PWN_CA_DIR"
    chmod 700 "$PWN_CA_DIR"
    openssl req -x509 -newkey rsa:3072 -nodes -days "$PWN_CERT_DAYS" -sha256 \
        -subj "/O=nova-pwnetizer test/CN=nova-pwnetizer test CA" \
        -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout "$PWN_CA_DIR/cakey.pem" -out "$PWN_CA_DIR/cacert.pem" 2>/dev/null
}

host_pki() {  # host_pki DIR NAME ADDR: /etc/pki of one host, libvirt's and QEMU's layout
    local pki=$1 name=$2 addr=$3 key cert
    [ -f "$pki/libvirt/servercert.pem" ] && [ -f "$pki/CA/cacert.pem" ] \
        && cmp -s "$pki/CA/cacert.pem" "$PWN_CA_DIR/cacert.pem" && return 0
    mkdir -p "$pki"/{CA,libvirt/private,qemu}
    key=$pki/libvirt/private/serverkey.pem
    cert=$pki/libvirt/servercert.pem
    openssl req -newkey rsa:2048 -nodes -subj "/O=nova-pwnetizer test/CN=$name" \
        -keyout "$key" -out "$pki/host.csr" 2>/dev/null
    # one key and certificate per host, for both ends of a connection
    printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=critical,CA:false\n' \
        "$name" "$addr" > "$pki/host.ext"
    openssl x509 -req -in "$pki/host.csr" -CA "$PWN_CA_DIR/cacert.pem" \
        -CAkey "$PWN_CA_DIR/cakey.pem" -CAcreateserial -days "$PWN_CERT_DAYS" -sha256 \
        -extfile "$pki/host.ext" -out "$cert" 2>/dev/null
    rm -f "$pki/host.csr" "$pki/host.ext"
    cp "$PWN_CA_DIR/cacert.pem" "$pki/CA/cacert.pem"
    cp "$cert" "$pki/libvirt/clientcert.pem"
    cp "$key" "$pki/libvirt/private/clientkey.pem"
    cp "$PWN_CA_DIR/cacert.pem" "$pki/qemu/ca-cert.pem"
    for end in server client; do
        cp "$cert" "$pki/qemu/$end-cert.pem"
        cp "$key" "$pki/qemu/$end-key.pem"
    done
    chmod 600 "$pki"/libvirt/private/*.pem "$pki"/qemu/*-key.pem
}

host_ssh() {  # host_ssh DIR ADDR: /etc/ssh of one host (sshd on ADDR, the nova user's key)
    local ssh=$1 addr=$2
    mkdir -p "$ssh"
    cp -n /etc/ssh/moduli "$ssh/" 2>/dev/null || true
    [ -f "$ssh/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "" -f "$ssh/ssh_host_ed25519_key"
    [ -f "$ssh/nova_id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C nova -f "$ssh/nova_id_ed25519"
    cat > "$ssh/sshd_config" <<EOF
# sshd of one nova-pwnetizer test host (tools/host-identity.sh)
ListenAddress $addr
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile $PWN_STATE_DIR/sshd-$addr.pid
AuthorizedKeysFile /etc/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    # the client side: Nova's remotefs runs plain "ssh"/"scp"
    cat > "$ssh/ssh_config" <<'EOF'
# ssh of one nova-pwnetizer test host (tools/host-identity.sh)
Host *
    IdentityFile /etc/ssh/nova_id_ed25519
    UserKnownHostsFile /etc/ssh/ssh_known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
EOF
}

host_trust() {  # host_trust NAME:ADDR:NETNS...: every host trusts every host's key
    local h keys='' known=''
    for h in "$@"; do
        local name=${h%%:*} rest=${h#*:}
        local addr=${rest%%:*} ssh
        ssh=$(host_etc "${rest#*:}")/ssh
        keys+=$(cat "$ssh/nova_id_ed25519.pub")$'\n'
        known+="$name,$addr $(cut -d' ' -f1-2 "$ssh/ssh_host_ed25519_key.pub")"$'\n'
    done
    for h in "$@"; do
        local rest=${h#*:} ssh
        ssh=$(host_etc "${rest#*:}")/ssh
        printf '%s' "$keys" > "$ssh/authorized_keys"
        printf '%s' "$known" > "$ssh/ssh_known_hosts"
        chmod 600 "$ssh/authorized_keys"
    done
}

host_libvirt_conf() {  # host_libvirt_conf DIR: the host's own /etc/libvirt
    local dir=$1
    [ -d "$dir" ] && return 0
    cp -a /etc/libvirt "$dir"
    rm -rf "$dir/qemu/"*.xml "$dir/qemu/autostart" "$dir/storage" "$dir/qemu/networks/autostart"
}

ensure_host_identity() {  # ensure_host_identity NETNS NAME ADDR
    local ns=$1 name=$2 addr=$3 etc
    etc=$(host_etc "$ns")
    mkdir -p "$etc" /etc/pki
    echo "$name" > "$etc/hostname"
    ensure_test_ca
    host_pki "$etc/pki" "$name" "$addr"
    host_ssh "$etc/ssh" "$addr"
    host_libvirt_conf "$etc/libvirt"
}

start_sshd() {  # start_sshd PID ADDR: a host's sshd, in the namespaces of its libvirtd PID
    local pid=$1 addr=$2 pidf
    pidf=$PWN_STATE_DIR/sshd-$addr.pid
    if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then
        return 0
    fi
    mkdir -p /run/sshd
    nsenter -t "$pid" -m -n -u /usr/sbin/sshd -f /etc/ssh/sshd_config
}

alive() {  # alive PID: running, not a zombie waiting to be reaped
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

hostname_of() { nsenter -t "$1" -u hostname 2>/dev/null || true; }  # hostname_of PID
