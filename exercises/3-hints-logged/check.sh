# shellcheck shell=bash
# Exercise 3, in the VM: an UPDATE_HINTS notification with a 4000 ms
# watchdog makes B's driver log "hints: driver_watchdog_timeout=4000 ms".
enaport "$BDF_B" write hints 4000
logged() { dmesg | grep "ena_custom $BDF_B" | grep -q 'hints: driver_watchdog_timeout=4000 ms'; }
if wait_for 5 logged; then
	pass hints-logged
	info "$(dmesg | grep 'hints: driver_watchdog_timeout=' | tail -n 1)"
else
	fail hints-logged "no 'hints: driver_watchdog_timeout=4000 ms' from ena_custom $BDF_B; the driver said: $(ena_dmesg 3 | tr '\n' ' ')"
fi
