package infra

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
)

//go:embed hostfiles/ena-lab-ttl
var ttlTool []byte

// TTLTool is the host's safety-clock command, installed by the user data.
func TTLTool() []byte { return ttlTool }

// UserData is the first-boot script: install the safety clock and start it.
// It runs before SSH is reachable, so a lab that never gets further still
// terminates itself.
func UserData(ttlHours int) string {
	lines := []string{
		"#!/bin/bash",
		"set -euo pipefail",
		"install -d -m 0755 /etc/ena-lab /usr/local/sbin",
		"base64 -d >/usr/local/sbin/ena-lab-ttl <<'ENA_LAB_TTL'",
		base64.StdEncoding.EncodeToString(ttlTool),
		"ENA_LAB_TTL",
		"chmod 0755 /usr/local/sbin/ena-lab-ttl",
		fmt.Sprintf("/usr/local/sbin/ena-lab-ttl init %d", ttlHours),
		"cat >/etc/systemd/system/ena-lab-ttl.service <<'UNIT'",
		"[Unit]",
		"Description=ENA lab safety TTL: power off (terminate) past the deadline",
		"[Service]",
		"Type=oneshot",
		"ExecStart=/usr/local/sbin/ena-lab-ttl check",
		"UNIT",
		"cat >/etc/systemd/system/ena-lab-ttl.timer <<'UNIT'",
		"[Unit]",
		"Description=ENA lab safety TTL check",
		"[Timer]",
		"OnBootSec=1min",
		"OnUnitActiveSec=1min",
		"[Install]",
		"WantedBy=timers.target",
		"UNIT",
		"systemctl daemon-reload",
		"systemctl enable --now ena-lab-ttl.timer",
	}
	return strings.Join(lines, "\n") + "\n"
}
