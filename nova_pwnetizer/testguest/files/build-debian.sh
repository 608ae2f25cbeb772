#!/bin/bash
# Build a Debian 12 (bookworm) cloud image, as tenants run, from Debian
# packages only: debootstrap (minbase) from the mirror apt uses here, then
# the cloud image's packages from bookworm, bookworm-updates and
# bookworm-security: the Debian kernel, initramfs-tools, systemd, cloud-init
# (ConfigDrive and OpenStack datasources, systemd-networkd renderer),
# qemu-guest-agent, openssh-server, and pwn-stateful-http, a small service
# whose state lives in memory (a token made at start and a hit counter) on
# port 80.  The image is a whole disk (whole-disk.sh: MBR and syslinux,
# partition 1 FAT with the kernel and initrd, partition 2 the ext4 root,
# found by its label), compressed qcow2.  No passwords; empty machine-id
# and no SSH host keys, so each instance makes its own at first boot.
#
#   build-debian.sh OUTPUT_DIR
#
# Produces OUTPUT_DIR/disk.qcow2 and OUTPUT_DIR/manifest.json.  Scratch
# lives in a mktemp directory (under $TMPDIR, default /tmp) removed on exit;
# the chroot's /proc, /sys and /dev are mounted only inside private mount
# namespaces, so nothing stays mounted whatever happens.
# Environment: PWN_DEBIAN_MIRROR, PWN_DEBIAN_SECURITY_MIRROR (default: what
# apt uses here), PWN_DEBIAN_ROOT_MIB (root fs virtual size, 2048),
# PWN_BUILD_KEY (recorded in the manifest).
set -euo pipefail

out=${1:?usage: build-debian.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
label=debian-root
root_mib=${PWN_DEBIAN_ROOT_MIB:-2048}
# Debian's cloud images' kernel command line, the root by label (the disk
# may be virtio, SATA, IDE or SCSI).  Predictable NIC names, as Debian's
# images: cloud-init's networkd files match the NIC by its MAC.
cmdline="root=LABEL=$label ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0"
packages=(linux-image-amd64 initramfs-tools zstd systemd-sysv udev dbus
          systemd-resolved systemd-timesyncd cloud-init cloud-guest-utils fdisk
          e2fsprogs qemu-guest-agent openssh-server sudo python3 iproute2
          netbase ca-certificates tzdata less)

log() { echo "build-debian: $(date +%T) $*" >&2; }

mirror_of() {  # the URI apt uses here for suite $1 (main)
    apt-cache policy | awk -v s=" $1/main " 'index($0, s) && $2 ~ /^https?:/ {print $2; exit}'
}
mirror=${PWN_DEBIAN_MIRROR:-$(mirror_of "$suite")}
security=${PWN_DEBIAN_SECURITY_MIRROR:-$(mirror_of "$suite-security")}
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

work=$(mktemp -d "${TMPDIR:-/tmp}/pwn-debian.XXXXXX")
root=$work/root
cleanup() {
    # Mounts live in private namespaces gone by now; never delete through one.
    if awk -v w="$work" 'index($2, w) == 1 {found=1} END {exit !found}' /proc/self/mounts; then
        echo "build-debian: $work still has mounts; left in place" >&2
        return
    fi
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

in_root() {  # run a command in the target with /proc, /sys and /dev mounted privately
    # shellcheck disable=SC2016  # expanded by the inner shell / dpkg-query
    unshare --mount --propagation private /bin/sh -ec '
        r=$1; shift
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /dev "$r/dev"
        mount --make-rprivate "$r/dev"
        exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' sh "$root" "$@"
}

started=$SECONDS
log "debootstrap $suite (minbase) from $mirror"
unshare --mount --propagation private \
    debootstrap --variant=minbase --components=main "$suite" "$root" "$mirror" \
    > "$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# Build-time settings (removed again below): no docs, man pages or
# translations unpacked, no services started, no recommends.
cat > "$root/etc/dpkg/dpkg.cfg.d/90-pwn-build-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
EOF
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cat > "$root/etc/apt/apt.conf.d/90-pwn-build" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
EOF
write_sources() {  # $1: main mirror, $2: security mirror
    cat > "$root/etc/apt/sources.list" <<EOF
deb $1 $suite main
deb $1 $suite-updates main
deb $2 $suite-security main
EOF
}
write_sources "$mirror" "$security"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# The initrd finds the root by label on any disk bus: MODULES=most takes
# every storage driver (virtio-blk, virtio-scsi, ahci, ata_piix, ...).
mkdir -p "$root/etc/initramfs-tools/conf.d"
printf 'MODULES=most\nCOMPRESS=zstd\n' > "$root/etc/initramfs-tools/conf.d/90-pwn.conf"
echo 'RESUME=none' > "$root/etc/initramfs-tools/conf.d/resume"

log "installing ${packages[*]}"
in_root apt-get -qq update
in_root apt-get -qq -y dist-upgrade > "$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
in_root apt-get -qq -y install "${packages[@]}" > "$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log" >&2; exit 1; }
for p in ifupdown network-manager; do
    # shellcheck disable=SC2016  # expanded by the inner shell / dpkg-query
    if in_root dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        log "$p got installed"; exit 1
    fi
done

# cloud-init: the config drive first, so no wait on a metadata service
# when one is there (ds-identify reads this list too: keep it on one line);
# the network rendered for systemd-networkd (matched by the NIC's MAC).
cat > "$root/etc/cloud/cloud.cfg.d/90_datasource_network.cfg" <<'EOF'
datasource_list: [ ConfigDrive, OpenStack, NoCloud, None ]
system_info:
  network:
    renderers: [networkd]
EOF

install -m 0755 "$here/pwn-stateful-http.py" "$root/usr/local/bin/pwn-stateful-http"
install -m 0644 "$here/pwn-stateful-http.service" "$root/etc/systemd/system/pwn-stateful-http.service"
in_root systemctl -q enable systemd-networkd.service systemd-resolved.service \
    pwn-stateful-http.service

cat > "$root/etc/fstab" <<EOF
LABEL=$label / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
EOF
echo debian > "$root/etc/hostname"
cat > "$root/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
EOF
# C.UTF-8 (in libc, nothing to generate): else cloud-init's locale module
# wants en_US.UTF-8, which Debian's locale-gen does not make on request.
echo LANG=C.UTF-8 > "$root/etc/default/locale"
ln -sf /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
echo Etc/UTC > "$root/etc/timezone"

kver=$(ls "$root/lib/modules")
[ "$(echo "$kver" | wc -l)" = 1 ] || { log "more than one kernel: $kver"; exit 1; }
missing=$(in_root lsinitramfs "/boot/initrd.img-$kver" | awk -v want="virtio_blk virtio_scsi virtio_pci virtio_net ahci ata_piix ata_generic sd_mod ext4" '
    BEGIN {n = split(want, w, " ")}
    {f = $0; sub(/.*\//, "", f); sub(/\.ko(\.[a-z]+)?$/, "", f); have[f] = 1}
    END {for (i = 1; i <= n; i++) if (!have[w[i]]) printf "%s ", w[i]}')
[ -z "$missing" ] || { log "initrd lacks $missing"; exit 1; }

# shellcheck disable=SC2016  # expanded by the inner shell / dpkg-query
version() { in_root dpkg-query -W -f '${Version}' "$1"; }
kpkg=linux-image-$kver
M_KERNEL_VERSION=$(version "$kpkg") M_CLOUD_INIT=$(version cloud-init)
M_QGA=$(version qemu-guest-agent) M_SYSTEMD=$(version systemd)
M_OPENSSH=$(version openssh-server) M_PYTHON3=$(version python3)
export M_KERNEL_PACKAGE=$kpkg M_KERNEL_RELEASE=$kver M_KERNEL_VERSION M_CLOUD_INIT M_QGA \
    M_SYSTEMD M_OPENSSH M_PYTHON3

# Back to a plain Debian system: build settings off, the Debian mirrors,
# no caches, logs, keys or ids of this build.
rm -f "$root/etc/dpkg/dpkg.cfg.d/90-pwn-build-nodoc" "$root/usr/sbin/policy-rc.d" \
    "$root/etc/apt/apt.conf.d/90-pwn-build"
write_sources http://deb.debian.org/debian http://deb.debian.org/debian-security
in_root apt-get -qq clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/var/log/*.log "$root"/var/log/apt/* \
    "$root"/var/lib/systemd/random-seed "$root"/var/lib/dbus/machine-id \
    "$root"/etc/ssh/ssh_host_* "$root"/var/lib/cloud/* "$root"/root/.bash_history
: > "$root/etc/machine-id"
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
for d in dev proc sys run tmp; do
    mountpoint -q "$root/$d" && { log "$root/$d is mounted"; exit 1; }
    find "$root/$d" -mindepth 1 -delete
done

log "root file system ($(du -sm "$root" | cut -f1) MiB used, $root_mib MiB virtual)"
truncate -s "${root_mib}M" "$work/rootfs.img"
mkfs.ext4 -q -F -L "$label" -d "$root" "$work/rootfs.img" > /dev/null
ksize=$(( $(stat -c %s "$root/boot/vmlinuz-$kver") + $(stat -c %s "$root/boot/initrd.img-$kver") ))
boot_mib=$(( ksize * 3 / 2 / 1048576 + 16 ))
bash "$here/whole-disk.sh" "$work/disk.qcow2" "$root/boot/vmlinuz-$kver" \
    "$root/boot/initrd.img-$kver" "$cmdline" "$boot_mib" "$work/rootfs.img"
mkdir -p "$out"
qemu-img convert -q -c -f qcow2 -O qcow2 "$work/disk.qcow2" "$out/disk.qcow2.part"
mv "$out/disk.qcow2.part" "$out/disk.qcow2"

export M_LABEL=$label M_CMDLINE=$cmdline M_BOOT_MIB=$boot_mib M_ROOT_MIB=$root_mib \
    M_KEY=${PWN_BUILD_KEY:-} M_MIRROR=$mirror M_SECONDS=$((SECONDS - started))
python3 - "$out/manifest.json" <<'PY'
import json, os, sys
e = os.environ
manifest = {
    'distribution': 'debian', 'release': '12', 'suite': 'bookworm',
    'kernel_package': e['M_KERNEL_PACKAGE'], 'kernel_release': e['M_KERNEL_RELEASE'],
    'kernel_version': e['M_KERNEL_VERSION'], 'cloud_init_version': e['M_CLOUD_INIT'],
    'qemu_guest_agent_version': e['M_QGA'], 'systemd_version': e['M_SYSTEMD'],
    'openssh_server_version': e['M_OPENSSH'], 'python3_version': e['M_PYTHON3'],
    'root_label': e['M_LABEL'], 'kernel_cmdline': e['M_CMDLINE'],
    'boot_partition_mib': int(e['M_BOOT_MIB']), 'root_partition_mib': int(e['M_ROOT_MIB']),
    'network_renderer': 'networkd',
    'datasource_list': ['ConfigDrive', 'OpenStack', 'NoCloud', 'None'],
    'http_service': {'unit': 'pwn-stateful-http.service', 'port': 80},
    'mirror': e['M_MIRROR'], 'build_key': e['M_KEY'] or None,
    'build_seconds': int(e['M_SECONDS']),
}
with open(sys.argv[1], 'w') as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write('\n')
PY
log "image ready in $out ($(du -m "$out/disk.qcow2" | cut -f1) MiB, kernel $kver, $((SECONDS - started)) s)"
