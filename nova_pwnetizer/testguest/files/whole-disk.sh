#!/bin/bash
# Make a whole-disk image that boots by itself, as cloud images do: an MBR
# partition table with a BIOS boot loader (syslinux), partition 1 a FAT
# boot partition with the kernel, the initrd and the boot loader's
# configuration, partition 2 the root file system image given, or a blank
# partition of the size given.  No loop devices or mounts: mtools writes the
# FAT partition and syslinux installs itself into the image file.
#
#   whole-disk.sh OUT.qcow2 KERNEL INITRD CMDLINE BOOT_MIB (ROOTFS_IMAGE | --blank MIB)
set -euo pipefail

out=${1:?usage: whole-disk.sh OUT KERNEL INITRD CMDLINE BOOT_MIB (ROOTFS | --blank MIB)}
kernel=$2 initrd=$3 cmdline=$4 boot_mib=$5
shift 5
if [ "${1:-}" = --blank ]; then
    root_img='' root_mib=${2:?--blank needs a size in MiB}
else
    root_img=${1:?a root file system image or --blank MIB}
    root_mib=$(( ($(stat -c %s "$root_img") + 1048575) / 1048576 ))
fi
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$mbr" ] || { echo "whole-disk: $mbr missing (apt-get install syslinux-common)" >&2; exit 1; }

work=$(mktemp -d /tmp/pwn-disk.XXXXXX)
trap 'rm -rf "$work"' EXIT
raw=$work/disk.raw
start=2048                                   # first partition at 1 MiB
boot_sectors=$((boot_mib * 2048))
root_start=$((start + boot_sectors))
truncate -s $(( (root_start + root_mib * 2048 + 2048) * 512 )) "$raw"
sfdisk -q "$raw" <<EOF
label: dos
start=$start, size=$boot_sectors, type=c, bootable
start=$root_start, size=$((root_mib * 2048)), type=83
EOF
dd if="$mbr" of="$raw" bs=440 count=1 conv=notrunc status=none

# Partition 1: FAT with the kernel, initrd and syslinux (its boot sector
# records the partition's offset, so the MBR's chain load finds it).
offset=$((start * 512))
# FAT16 whatever the disk's size (left to itself, mkfs.vfat picks the
# type from the whole file's size: FAT32, too few clusters for the
# partition, on large disks); its warning that the file is larger than
# the file system is meant so.
mkfs.vfat -F 16 -n PWNBOOT --offset "$start" "$raw" $((boot_sectors / 2)) 2>&1 \
    | { grep -v -e 'block count mismatch' -e '^mkfs.fat [0-9]' || true; } >&2
cat > "$work/syslinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $cmdline
EOF
export MTOOLS_SKIP_CHECK=1
mcopy -i "$raw@@$offset" "$kernel" ::/vmlinuz
mcopy -i "$raw@@$offset" "$initrd" ::/initrd.img
mcopy -i "$raw@@$offset" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install --offset "$offset" "$raw"

# Partition 2: the root file system, or left blank (zeros).
if [ -n "$root_img" ]; then
    dd if="$root_img" of="$raw" bs=1M seek=$((root_start * 512)) oflag=seek_bytes \
        conv=notrunc,sparse status=none
fi
qemu-img convert -q -f raw -O qcow2 "$raw" "$out"
