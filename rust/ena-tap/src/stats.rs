//! The counters, one `name value` line each, written to a file (replaced
//! whole, so a reader never sees half of it): what the port and the
//! bridge did, for a test or an operator to read.

use std::fmt::Write as _;
use std::path::Path;

use ena_core::device::DmaAllocator;

use crate::bridge::Bridge;
use crate::port::Port;

pub fn render<R, A: DmaAllocator, C, B>(port: &Port<R, A, C, B>, bridge: &Bridge) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "version {}", crate::VERSION);
    let _ = writeln!(s, "ring {}", port.cfg.depth);
    let _ = writeln!(s, "mtu {}", port.cfg.mtu);
    let _ = writeln!(s, "link {}", if port.link_up { "up" } else { "down" });
    let _ = writeln!(s, "resets {}", port.resets);
    let _ = writeln!(s, "keep_alives {}", port.keep_alives);
    let _ = writeln!(s, "queues {}", port.queues.len());
    let (mut rx, mut tx) = (0, 0);
    for (i, q) in port.queues.iter().enumerate() {
        let st = q.stats;
        let _ = writeln!(s, "q{i}_rx_packets {}", st.rx_packets);
        let _ = writeln!(s, "q{i}_rx_bytes {}", st.rx_bytes);
        let _ = writeln!(s, "q{i}_tx_packets {}", st.tx_packets);
        let _ = writeln!(s, "q{i}_tx_bytes {}", st.tx_bytes);
        let _ = writeln!(s, "q{i}_tx_doorbells {}", st.tx_doorbells);
        rx += st.rx_packets;
        tx += st.tx_packets;
    }
    let _ = writeln!(s, "rx_packets {rx}");
    let _ = writeln!(s, "tx_packets {tx}");
    let _ = writeln!(s, "dropped_to_tap {}", bridge.drops.to_tap);
    let _ = writeln!(s, "dropped_too_long {}", bridge.drops.too_long);
    s
}

/// Replaces `path` with `text` (written beside it, then renamed).
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// CPU seconds (user and system) this process used, from
/// `/proc/self/stat` (fields 14 and 15, in USER_HZ: 100 per second on
/// Linux, whatever the kernel's HZ).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_cpu_seconds(&stat)
}

fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name may hold spaces: count fields after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_is_utime_plus_stime_in_hundredths() {
        let stat = "42 (ena tap) R 1 42 42 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 5 1000 10";
        assert_eq!(super::parse_cpu_seconds(stat), Some(2.87));
        assert!(super::cpu_seconds().is_some());
    }
}
