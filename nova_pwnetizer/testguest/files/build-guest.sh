#!/bin/bash
# Build the pwnetizer test guest from Debian packages only: a Debian
# linux-image kernel and a busybox initramfs that runs the clone test
# workload.  Usage: build-guest.sh OUTPUT_DIR
# Produces OUTPUT_DIR/{vmlinuz,initrd.img,base.qcow2,manifest.json} (the
# kernel and initrd booted directly, with a blank disk for the records)
# and OUTPUT_DIR/disk.qcow2, the same guest as a whole-disk image that
# boots by itself (boot loader, kernel and initrd on partition 1, the
# records on partition 2), as tenants' cloud images do.
set -euo pipefail

out=${1:?usage: build-guest.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/pwn-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

log() { echo "build-guest: $*" >&2; }

kpkg=${PWN_GUEST_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
[ -n "$kpkg" ] || { log "cannot resolve the linux-image-amd64 kernel package (run apt-get update)"; exit 1; }
log "downloading $kpkg and busybox-static"
apt-get download -qq "$kpkg" busybox-static 2>/dev/null
dpkg-deb -x "$kpkg"_*.deb kernel
dpkg-deb -x busybox-static_*.deb bb
kver=$(ls kernel/lib/modules)

# Modules: every NIC, disk, video and input driver the clone randomizer may
# choose, plus what hot-plug and the agent need.  Dependencies come from
# depmod run over the package's own tree.
modules=(virtio_pci virtio_net virtio_blk virtio_scsi virtio_console virtio_rng
         virtio_input virtio_balloon sd_mod sr_mod ahci ata_piix ata_generic
         e1000 e1000e 8139cp 8139too ne2k-pci pcnet32 vmxnet3
         bochs virtio-gpu cirrus qxl usbhid hid_generic uhci_hcd ehci_pci
         xhci_pci ohci_pci evdev psmouse)
depmod -b kernel "$kver"
root=$work/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,www,lib/modules/"$kver",etc/udhcpc}
want=()
for m in "${modules[@]}"; do
    path=$(modinfo -b kernel -k "$kver" -F filename "$m" 2>/dev/null || true)
    case "$path" in ""|"(builtin)"|*builtin*) continue ;; esac
    want+=("$m")
    for dep in $(modprobe -d kernel -S "$kver" --show-depends "$m" | awk '$1=="insmod"{print $2}'); do
        rel=${dep#kernel/lib/modules/"$kver"/}
        mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
        cp -n "$dep" "$root/lib/modules/$kver/$rel"
    done
done
cp kernel/lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$root" "$kver"
printf '%s\n' "${want[@]}" > "$root/etc/modules"

cp bb/bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done
install -m 0755 "$here/init.sh" "$root/init"
install -m 0755 "$here/udhcpc.sh" "$root/etc/udhcpc/default.script"
install -m 0755 "$here/pwn-devices.sh" "$root/bin/pwn-devices"
gcc -static -O2 -Wall -o "$root/bin/pwn-dirty" "$here/pwn-dirty.c"
echo "pwnetizer test guest" > "$root/www/index.html"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > initrd.img
mkdir -p "$out"
cp kernel/boot/vmlinuz-"$kver" "$out/vmlinuz"
cp initrd.img "$out/initrd.img"
rm -f "$out/base.qcow2"
qemu-img create -q -f qcow2 "$out/base.qcow2" "${PWN_GUEST_DISK_SIZE:-256M}"
# Console on ttyS0 (Nova's console log), a tick every 200 ms.
bash "$here/whole-disk.sh" "$out/disk.qcow2" "$out/vmlinuz" "$out/initrd.img" \
    "console=ttyS0 loglevel=5 pwn.tick_us=200000 pwn.records=2" 32 --blank 64
bbver=$(dpkg-deb -f busybox-static_*.deb Version)
cat > "$out/manifest.json" <<JSON
{"kernel_package": "$kpkg", "kernel_version": "$kver", "busybox_version": "$bbver",
 "modules": $(printf '"%s",' "${want[@]}" | sed 's/,$//; s/^/[/; s/$/]/')}
JSON
log "guest ready in $out (kernel $kver)"
