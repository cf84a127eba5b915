# shellcheck shell=bash
# Exercise 2, in the VM: B's rx-copybreak is 512 (512 - NET_IP_ALIGN, and
# NET_IP_ALIGN is 0 on x86), and 428-byte frames are copied
# (rx_copybreak_pkt counts them).
cb=$(ip netns exec peer ethtool --get-tunable "$B" rx-copybreak 2>/dev/null | awk '{ print $NF }')
if [ "$cb" = 512 ]; then
	pass rx-copybreak-default-512
else
	fail rx-copybreak-default-512 "ethtool --get-tunable rx-copybreak says ${cb:-nothing}, not 512: ENA_DEFAULT_RX_COPYBREAK should be (512 - NET_IP_ALIGN)"
fi
copied() { ip netns exec peer ethtool -S "$B" | awk '$1 ~ /^queue_[0-9]+_rx_rx_copybreak_pkt:$/ { n += $2 } END { print n + 0 }'; }
c0=$(copied)
ping -c 20 -i 0.05 -s 400 -W 2 "$IP_B" >/dev/null 2>&1 || true
c1=$(copied)
info "rx_copybreak_pkt: $c0 -> $c1 after 20 pings of 428 bytes"
if [ $((c1 - c0)) -ge 20 ]; then
	pass frames-of-428-bytes-copied
else
	fail frames-of-428-bytes-copied "only $((c1 - c0)) of 20 were copied: the default still stops below 428 bytes"
fi
