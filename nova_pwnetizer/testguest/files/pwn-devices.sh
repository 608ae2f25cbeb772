#!/bin/sh
# Report the drivers the test guest bound, one "class=driver,..." field each:
# nic (per interface), disk (driver chain of the first disk), video, usb, input.

chain() {  # drivers from a sysfs device up to the PCI bus, comma separated
    p=$(readlink -f "$1"); out=""
    while [ -n "$p" ] && [ "$p" != / ] && [ "$p" != /sys/devices ]; do
        [ -e "$p/driver" ] && out="$out${out:+,}$(basename "$(readlink "$p/driver")")"
        p=${p%/*}
    done
    echo "$out"
}

nics=""
for d in /sys/class/net/*; do
    i=${d##*/}; [ "$i" = lo ] && continue
    nics="$nics${nics:+;}$i:$(basename "$(readlink "$d/device/driver" 2>/dev/null)")"
done
disk=""
for b in vda sda hda; do
    [ -e "/sys/block/$b" ] && { disk="$b:$(chain /sys/block/$b/device)"; break; }
done
video=""
[ -e /sys/class/drm/card0/device ] && video=$(chain /sys/class/drm/card0/device)
usb=""
for drv in uhci_hcd ehci-pci xhci_hcd ohci-pci; do
    ls /sys/bus/pci/drivers/$drv 2>/dev/null | grep -q ':' && usb="$usb${usb:+,}$drv"
done
input=$(grep -h '^N: Name=' /proc/bus/input/devices 2>/dev/null | sed 's/^N: Name="//; s/"$//' |
        grep -i tablet | tr ' ' '_' | tr '\n' ',' | sed 's/,$//')
echo "PWN DEVICES nic=$nics disk=$disk video=${video:-none} usb=${usb:-none} input=${input:-ps2}"
