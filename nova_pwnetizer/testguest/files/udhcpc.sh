#!/bin/sh
# udhcpc hook of the pwnetizer test guest: configure the lease, report it.
case "$1" in
    deconfig) ifconfig "$interface" 0.0.0.0 ;;
    bound|renew)
        ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
        echo "PWN DHCP $interface ip=$ip" >/dev/ttyS0 ;;
esac
exit 0
