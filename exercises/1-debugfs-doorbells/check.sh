# shellcheck shell=bash
# Exercise 1, in the VM: after a burst, the rings file of B shows, for each
# Tx queue, doorbells=N equal to the driver's own count (ethtool -S).
mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
ip netns exec peer iperf3 -c "$IP_A" -t 1 >/dev/null 2>&1 || fail burst "iperf3 from B failed"
RINGS=/sys/kernel/debug/ena_custom/$BDF_B/rings
if [ ! -r "$RINGS" ]; then
	fail rings-file "no $RINGS: is patch 0004 still in the series, and debugfs mounted?"
elif ! grep -q '^tx0 .* doorbells=[0-9][0-9]*' "$RINGS"; then
	fail tx-lines-show-doorbells "the tx lines have no doorbells=N field: $(grep '^tx0' "$RINGS")"
else
	ip netns exec peer ethtool -S "$B" >/tmp/stats
	ok=1
	while read -r q shown; do
		counted=$(awk -v k="queue_${q}_tx_doorbells:" '$1 == k { print $2 }' /tmp/stats)
		info "tx$q: debugfs doorbells=$shown, ethtool -S queue_${q}_tx_doorbells=$counted"
		[ "$shown" = "$counted" ] || ok=0
	done < <(sed -n 's/^tx\([0-9]*\) .* doorbells=\([0-9]*\).*/\1 \2/p' "$RINGS")
	total=$(sed -n 's/^tx[0-9]* .* doorbells=\([0-9]*\).*/\1/p' "$RINGS" | awk '{ n += $1 } END { print n + 0 }')
	if [ "$ok" = 1 ] && [ "$total" -gt 0 ]; then
		pass tx-lines-show-doorbells
	else
		fail tx-lines-show-doorbells "debugfs and ethtool -S disagree, or no doorbell counted ($total in all)"
	fi
fi
