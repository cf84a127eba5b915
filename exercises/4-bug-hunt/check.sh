# shellcheck shell=bash disable=SC2015 # pass only echoes
# Exercise 4, in the VM: traffic both ways through B, which works with or
# without the bug; the protocol checker that follows is what tells.
iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
ip netns exec peer iperf3 -c "$IP_A" -t 1 -R >/dev/null 2>&1 && pass traffic-to-b || fail traffic-to-b "iperf3 to B failed"
