//! The interface the driver must never take: the one the host's traffic
//! leaves by (the best default route of the main table, IPv4 or IPv6) or
//! the one an SSH session arrives on (`$SSH_CONNECTION`, and every
//! established connection to local port 22). Taking it would cut the
//! operator off. The host's files are parsed here; reading them is the
//! caller's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A default route: its interface, metric and (IPv4) gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRoute {
    pub iface: String,
    pub metric: u32,
    pub via: Option<IpAddr>,
    pub v6: bool,
}

const RTF_UP: u32 = 0x1;

/// The default routes of `/proc/net/route` (the main table).
pub fn ipv4_defaults(text: &str) -> Vec<DefaultRoute> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let hex = |i: usize| u32::from_str_radix(f.get(i)?, 16).ok();
            let (dest, gw, flags, metric, mask) =
                (hex(1)?, hex(2)?, hex(3)?, f.get(6)?.parse().ok()?, hex(7)?);
            (dest == 0 && mask == 0 && flags & RTF_UP != 0).then(|| DefaultRoute {
                iface: f[0].to_string(),
                metric,
                // The kernel prints the address as it lies in memory.
                via: (gw != 0).then(|| IpAddr::V4(Ipv4Addr::from(u32::from_be(gw.to_le())))),
                v6: false,
            })
        })
        .collect()
}

/// The default routes of `/proc/net/ipv6_route`.
pub fn ipv6_defaults(text: &str) -> Vec<DefaultRoute> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 || f[0].chars().any(|c| c != '0') || f[1] != "00" {
                return None;
            }
            let flags = u32::from_str_radix(f[8], 16).ok()?;
            let metric = u32::from_str_radix(f[5], 16).ok()?;
            (flags & RTF_UP != 0 && f[9] != "lo").then(|| DefaultRoute {
                iface: f[9].to_string(),
                metric,
                via: None,
                v6: true,
            })
        })
        .collect()
}

/// The route the host's traffic takes: the lowest metric (of one family).
pub fn best(routes: &[DefaultRoute]) -> Option<&DefaultRoute> {
    routes.iter().min_by_key(|r| r.metric)
}

/// The server address of `$SSH_CONNECTION` ("client port server port").
pub fn ssh_connection_server(var: &str) -> Option<IpAddr> {
    var.split_whitespace().nth(2)?.parse().ok()
}

fn hex_ipv4(s: &str) -> Option<IpAddr> {
    let v = u32::from_str_radix(s, 16).ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v.to_le()))))
}

fn hex_ipv6(s: &str) -> Option<IpAddr> {
    if s.len() != 32 {
        return None;
    }
    let mut b = [0u8; 16];
    for (i, w) in b.chunks_exact_mut(4).enumerate() {
        let v = u32::from_str_radix(&s[8 * i..8 * i + 8], 16).ok()?;
        w.copy_from_slice(&v.to_le_bytes());
    }
    let a = Ipv6Addr::from(b);
    Some(match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    })
}

/// Local addresses of established TCP connections to port 22, from
/// `/proc/net/tcp` or `/proc/net/tcp6`.
pub fn ssh_sessions(text: &str) -> Vec<IpAddr> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (addr, port) = f.get(1)?.split_once(':')?;
            if port != "0016" || *f.get(3)? != "01" {
                return None;
            }
            if addr.len() == 8 {
                hex_ipv4(addr)
            } else {
                hex_ipv6(addr)
            }
        })
        .collect()
}

/// What the host looks like to the guard.
#[derive(Clone, Debug, Default)]
pub struct Host {
    pub defaults: Vec<DefaultRoute>,
    /// Local addresses SSH sessions arrive on.
    pub ssh: Vec<IpAddr>,
    /// (interface, address) of every configured address.
    pub addrs: Vec<(String, IpAddr)>,
}

impl Host {
    /// Refuses `iface` when the host's traffic or an SSH session uses it,
    /// saying which.
    pub fn refuse(&self, iface: &str) -> Result<(), String> {
        for v6 in [false, true] {
            let family: Vec<DefaultRoute> = self
                .defaults
                .iter()
                .filter(|r| r.v6 == v6)
                .cloned()
                .collect();
            let Some(r) = best(&family) else { continue };
            if r.iface == iface {
                let via = r.via.map(|v| format!(" via {v}")).unwrap_or_default();
                return Err(format!(
                    "refusing {iface}: it carries the host's default route{via} (metric {}); take a secondary ENI",
                    r.metric
                ));
            }
        }
        for (name, addr) in &self.addrs {
            if name == iface && self.ssh.contains(addr) {
                return Err(format!(
                    "refusing {iface}: it carries an SSH session (to {addr}); take a secondary ENI"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
ens5\t00000000\t01002A0A\t0003\t0\t0\t512\t00000000\t0\t0\t0
ens6\t00000000\t01002A0A\t0003\t0\t0\t513\t00000000\t0\t0\t0
ens5\t00002A0A\t00000000\t0001\t0\t0\t512\t00FFFFFF\t0\t0\t0
";

    #[test]
    fn the_best_ipv4_default_route_is_the_lowest_metric() {
        let d = ipv4_defaults(ROUTE);
        assert_eq!(d.len(), 2, "{d:?}");
        let b = best(&d).unwrap();
        assert_eq!((b.iface.as_str(), b.metric), ("ens5", 512));
        assert_eq!(b.via, Some("10.42.0.1".parse().unwrap()));
    }

    #[test]
    fn ipv6_defaults_skip_the_loopback_table_entries() {
        let text = "\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 ens5
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 ens5
";
        let d = ipv6_defaults(text);
        assert_eq!(
            d,
            vec![DefaultRoute {
                iface: "ens5".into(),
                metric: 1024,
                via: None,
                v6: true
            }]
        );
    }

    #[test]
    fn ssh_sessions_are_found_in_the_environment_and_in_proc_net_tcp() {
        assert_eq!(
            ssh_connection_server("203.0.113.9 50122 10.42.0.5 22"),
            Some("10.42.0.5".parse().unwrap())
        );
        assert_eq!(ssh_connection_server(""), None);
        let tcp = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 05002A0A:0016 0971000B:C3CA 01 00000000:00000000 02:0000A0D5 00000000     0        0 2 4
   2: 05002A0A:A2F0 0A0A0A0A:0050 01 00000000:00000000 00:00000000 00000000     0        0 3 1
";
        assert_eq!(
            ssh_sessions(tcp),
            vec!["10.42.0.5".parse::<IpAddr>().unwrap()]
        );
        let tcp6 = "\
  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF0000FE2A000A:0016 0000000000000000FFFF00000B007109:C3CA 01 0
   1: 000080FE000000000000000001000000:0016 000080FE000000000000000002000000:C3CA 01 0
";
        assert_eq!(
            ssh_sessions(tcp6),
            vec![
                "10.0.42.254".parse::<IpAddr>().unwrap(),
                "fe80::1".parse::<IpAddr>().unwrap()
            ]
        );
    }

    #[test]
    fn the_default_route_and_ssh_interfaces_are_refused_by_name() {
        let host = Host {
            defaults: ipv4_defaults(ROUTE),
            ssh: vec!["10.42.0.77".parse().unwrap()],
            addrs: vec![
                ("ens5".into(), "10.42.0.5".parse().unwrap()),
                ("ens6".into(), "10.42.0.6".parse().unwrap()),
                ("ens7".into(), "10.42.0.77".parse().unwrap()),
            ],
        };
        let e = host.refuse("ens5").unwrap_err();
        assert!(
            e.contains(
                "refusing ens5: it carries the host's default route via 10.42.0.1 (metric 512)"
            ),
            "{e}"
        );
        // A default route of a higher metric (AL2023 gives every ENI one)
        // does not make ens6 the host's way out.
        host.refuse("ens6").unwrap();
        let e = host.refuse("ens7").unwrap_err();
        assert!(
            e.contains("refusing ens7: it carries an SSH session (to 10.42.0.77)"),
            "{e}"
        );
        Host::default().refuse("ens5").unwrap();
    }
}
