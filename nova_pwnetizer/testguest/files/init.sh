#!/bin/sh
# /init of the pwnetizer test guest (busybox).  It loads every device
# driver the randomizer may choose, brings up every NIC (hot-plugged ones
# too) with DHCP, answers a command agent on the second serial port and
# runs the clone workload: an in-memory counter and numbered records on
# the first disk (on the whole-disk image: its partition pwn.records=N),
# both reported on the console (first serial port).
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec </dev/ttyS0 >/dev/ttyS0 2>&1

log() { echo "PWN $*"; }

arg() {  # arg NAME DEFAULT: value of pwn.NAME= on the kernel command line
    for w in $(cat /proc/cmdline); do
        case "$w" in "pwn.$1="*) echo "${w#*=}"; return ;; esac
    done
    echo "$2"
}

BOOTID=$(cut -c1-8 /proc/sys/kernel/random/uuid)
TICK_US=$(arg tick_us 100000)
hostname "$(arg hostname pwnguest)"
log "BOOT id=$BOOTID kernel=$(uname -r)"
for m in $(cat /etc/modules); do modprobe "$m" 2>/dev/null; done
ip link set lo up

driver_of() { basename "$(readlink "/sys/class/net/$1/device/driver" 2>/dev/null)"; }

netwatch() {  # bring up and DHCP every new NIC; report NIC changes
    seen=" "
    while :; do
        now=" "
        for d in /sys/class/net/*; do
            i=${d##*/}
            [ "$i" = lo ] && continue
            idx=$(cat "$d/ifindex" 2>/dev/null) || continue
            key="$idx:$i"
            now="$now$key "
            case "$seen" in *" $key "*) continue ;; esac
            mac=$(cat "$d/address" 2>/dev/null) || continue
            ip link set "$i" up 2>/dev/null
            log "NIC $i mac=$mac driver=$(driver_of "$i")"
            udhcpc -i "$i" -s /etc/udhcpc/default.script -b -q -t 30 -T 1 -A 1 \
                >/dev/null 2>&1 &
        done
        for key in $seen; do
            case "$now" in *" $key "*) ;; *) log "NICGONE ${key#*:}" ;; esac
        done
        seen=$now
        sleep 0.2
    done
}

agent() {  # one shell command a line on ttyS1; output ends with @@END rc
    stty -F /dev/ttyS1 raw -echo 2>/dev/null
    while :; do
        while IFS= read -r line; do
            out=$(sh -c "$line" 2>&1); rc=$?
            printf '%s\n@@END %s\n' "$out" "$rc"
        done </dev/ttyS1 >/dev/ttyS1
        sleep 0.2
    done
}

find_disk() {  # the records' device: the first disk, or its partition pwn.records=N
    part=$(arg records '')
    for _ in $(seq 100); do
        for d in vda sda hda vdb sdb; do
            [ -b "/dev/$d$part" ] && { echo "/dev/$d$part"; return; }
        done
        sleep 0.1
    done
}

rec_at() { dd if="$DISK" bs=512 skip="$1" count=1 2>/dev/null | head -c 6; }

last_record() {  # records are contiguous from sector 1: binary search the end
    lo=0; hi=$(($(blockdev --getsz "$DISK") - 1))
    while [ "$lo" -lt "$hi" ]; do
        mid=$(((lo + hi + 1) / 2))
        if [ "$(rec_at "$mid")" = PWNREC ]; then lo=$mid; else hi=$((mid - 1)); fi
    done
    echo "$lo"
}

netwatch &
agent &
httpd -p 80 -h /www
DISK=$(find_disk)
if [ -z "$DISK" ]; then log "NODISK"; else
    seq=$(last_record)
    log "DISK $DISK last=$seq"
fi
(sleep 2; pwn-devices) &
mem=0
while :; do
    mem=$((mem + 1))
    if [ -n "$DISK" ]; then
        seq=$((seq + 1))
        printf 'PWNREC %d %s %d\n' "$seq" "$BOOTID" "$mem" |
            dd of="$DISK" bs=512 seek="$seq" conv=sync,notrunc,fsync 2>/dev/null ||
            log "IOERR rec=$seq"
    fi
    echo "TICK mem=$mem rec=${seq:-0}"
    usleep "$TICK_US"
done
