//! The command line: which ENI, and how to run it. Every refusal names the
//! option and the value.

use std::path::PathBuf;

use ena_core::llq_config::LlqPolicy;

pub const USAGE: &str = "\
usage: ena-tap (--mac MAC | --pci BDF) [options]

Takes an ENA from its kernel driver, drives it from userspace (polled
queues, DMA memory from hugepages) and bridges it to a TAP interface with
the ENI's MAC. SIGTERM or SIGINT reset the device and give it back to ena.

  --mac MAC            the ENI by MAC (its interface must exist: bound to ena)
  --pci BDF            the ENI by PCI address (0000:00:04.0)
  --tap NAME           the TAP to create (default enatap0)
  --queues N           queue pairs, 1-8 (default 1); more spread Rx by RSS
  --ring N             ring depth, a power of two 64-1024 (default 256)
  --mtu N              MTU of the device and the TAP, 68-9216 (default 1500)
  --llq on|off         Tx in device memory when the device offers it (default on)
  --hugepages DIR      a hugetlbfs mount (default /dev/hugepages)
  --stats FILE         counters, rewritten every second
  --keep-alive-ms N    reset the device after N ms without a keep-alive (default 6000)
  --batch N            frames per queue per pass, 1-256 (default 32)
  --version            print the build's version and exit
  --reflect SECONDS    benchmark, no TAP: send every received frame back out
                       with its MACs swapped for SECONDS, busy-polling, then
                       print packets per second per core
";

/// What `parse` returns for `--version`.
pub const VERSION_ASKED: &str = "--version";

/// How the ENI is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Mac([u8; 6]),
    Pci(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub target: Target,
    pub tap: String,
    pub queues: u16,
    pub ring: u16,
    pub mtu: u32,
    pub llq: LlqPolicy,
    pub hugepages: PathBuf,
    pub stats: Option<PathBuf>,
    pub keep_alive_ms: u64,
    pub batch: usize,
    /// The benchmark: reflect frames for this many seconds instead of
    /// bridging to a TAP.
    pub reflect: Option<u64>,
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    opt: &str,
    v: &str,
    lo: T,
    hi: T,
) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if n >= lo && n <= hi => Ok(n),
        _ => Err(format!("{opt} '{v}': expected a number from {lo} to {hi}")),
    }
}

impl Args {
    pub fn parse(argv: &[String]) -> Result<Self, String> {
        let mut target = None;
        let mut a = Args {
            target: Target::Pci(String::new()),
            tap: "enatap0".into(),
            queues: 1,
            ring: 256,
            mtu: 1500,
            llq: LlqPolicy::Recommended,
            hugepages: "/dev/hugepages".into(),
            stats: None,
            keep_alive_ms: 6000,
            batch: 32,
            reflect: None,
        };
        let mut it = argv.iter();
        while let Some(opt) = it.next() {
            if opt == "-h" || opt == "--help" {
                return Err(String::new());
            }
            if opt == "--version" {
                return Err(VERSION_ASKED.into());
            }
            let v = it
                .next()
                .ok_or_else(|| format!("{opt} needs a value"))?
                .as_str();
            match opt.as_str() {
                "--mac" | "--pci" if target.is_some() => {
                    return Err(format!(
                        "{opt} '{v}': the ENI is already named (give one of --mac and --pci)"
                    ))
                }
                "--mac" => {
                    target = Some(Target::Mac(
                        ena_pci::sysfs::parse_mac(v).map_err(|e| format!("--mac: {e}"))?,
                    ))
                }
                "--pci" => {
                    target = Some(Target::Pci(
                        ena_pci::sysfs::parse_bdf(v).map_err(|e| format!("--pci: {e}"))?,
                    ))
                }
                "--tap" => {
                    ena_pci::tap::check_name(v).map_err(|e| format!("--tap: {e}"))?;
                    a.tap = v.into();
                }
                "--queues" => a.queues = number(opt, v, 1, 8)?,
                "--ring" => {
                    a.ring = number(opt, v, 64, 1024)?;
                    if !a.ring.is_power_of_two() {
                        return Err(format!("--ring '{v}': not a power of two"));
                    }
                }
                "--mtu" => a.mtu = number(opt, v, 68, 9216)?,
                "--llq" => {
                    a.llq = match v {
                        "on" => LlqPolicy::Recommended,
                        "off" => LlqPolicy::Off,
                        _ => return Err(format!("--llq '{v}': expected on or off")),
                    }
                }
                "--hugepages" => a.hugepages = v.into(),
                "--stats" => a.stats = Some(v.into()),
                "--keep-alive-ms" => a.keep_alive_ms = number(opt, v, 100, 600_000)?,
                "--batch" => a.batch = number(opt, v, 1, 256)?,
                "--reflect" => a.reflect = Some(number(opt, v, 1, 600)?),
                _ => return Err(format!("unknown option '{opt}'")),
            }
        }
        a.target = target.ok_or("name the ENI with --mac or --pci")?;
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        Args::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn version_needs_no_eni() {
        assert_eq!(parse("--version").unwrap_err(), VERSION_ASKED);
        assert_eq!(
            parse("--mac 02:e1:ab:00:00:0b --version").unwrap_err(),
            VERSION_ASKED
        );
    }

    #[test]
    fn defaults_and_every_option() {
        let a = parse("--mac 02:e1:ab:00:00:0b").unwrap();
        assert_eq!(a.target, Target::Mac([2, 0xe1, 0xab, 0, 0, 0xb]));
        assert_eq!(
            (a.tap.as_str(), a.queues, a.ring, a.mtu, a.batch),
            ("enatap0", 1, 256, 1500, 32)
        );
        let a = parse(
            "--pci 00:04.0 --tap tb --queues 2 --ring 512 --mtu 9001 --llq off --hugepages /mnt/h --stats /tmp/s --keep-alive-ms 3000 --batch 64 --reflect 5",
        )
        .unwrap();
        assert_eq!(a.target, Target::Pci("0000:00:04.0".into()));
        assert_eq!(
            (a.queues, a.ring, a.mtu, a.llq, a.keep_alive_ms, a.batch),
            (2, 512, 9001, LlqPolicy::Off, 3000, 64)
        );
        assert_eq!(a.stats, Some("/tmp/s".into()));
        assert_eq!(a.reflect, Some(5));
    }

    #[test]
    fn bad_values_are_refused_by_option_and_value() {
        for (line, want) in [
            ("", "name the ENI with --mac or --pci"),
            ("--mac 02:e1", "--mac: '02:e1' is not a MAC address"),
            (
                "--pci 0000:00:04.9",
                "--pci: '0000:00:04.9' is not a PCI address",
            ),
            (
                "--mac 02:e1:ab:00:00:0b --pci 00:04.0",
                "--pci '00:04.0': the ENI is already named",
            ),
            (
                "--pci 00:04.0 --queues 9",
                "--queues '9': expected a number from 1 to 8",
            ),
            (
                "--pci 00:04.0 --ring 300",
                "--ring '300': not a power of two",
            ),
            (
                "--pci 00:04.0 --mtu 9217",
                "--mtu '9217': expected a number from 68 to 9216",
            ),
            (
                "--pci 00:04.0 --llq maybe",
                "--llq 'maybe': expected on or off",
            ),
            (
                "--pci 00:04.0 --tap a/b",
                "--tap: 'a/b' is not an interface name",
            ),
            ("--pci 00:04.0 --frob 1", "unknown option '--frob'"),
            (
                "--pci 00:04.0 --reflect 0",
                "--reflect '0': expected a number from 1 to 600",
            ),
            ("--pci", "--pci needs a value"),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }
}
