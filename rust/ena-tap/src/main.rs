//! ena-tap: a userspace ENA driver. It takes one ENI from the kernel's
//! `ena`, drives it with ena-core over the PCI backend of `ena-pci` (BARs
//! from sysfs, DMA memory from hugepages, polled queues), and bridges its
//! frames to a TAP interface with the ENI's MAC, so the host's own stack,
//! ping and iperf3 use it like any interface. On SIGTERM or SIGINT, or on
//! an error once the device is taken, it resets the device and gives it
//! back to `ena`.
//!
//! Modules: [`args`] the command line, [`guard`] the interfaces never to
//! take, [`hw`] the device's registers, [`port`] bring-up and the queue
//! pairs, [`slab`] packet buffers, [`flow`] Tx queue per flow, [`bridge`]
//! the polled loop, [`stats`] the counters file, [`notify`] readiness to
//! systemd.
#![forbid(unsafe_code)]

mod args;
mod bridge;
pub(crate) mod flow;
mod guard;
mod hw;
mod notify;
mod port;
mod slab;
mod stats;

#[cfg(test)]
mod model_tests;

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ena_core::device::{reset_reason, DmaAllocator, Ena};
use ena_core::devmem::DeviceMemory;
use ena_core::dma::DmaMemory;
use ena_core::mmio::ReadLessRegs;
use ena_pci::bar::{Bar0, Bar2};
use ena_pci::clock::{cycles, WallClock};
use ena_pci::config::ConfigSpace;
use ena_pci::hugepage::{HugeAlloc, HugePool, HUGE_PAGE};
use ena_pci::sysfs::{format_mac, Claim, PciDevice};
use ena_pci::tap::Tap;
use ena_pci::{ifaddr, signal};

use args::{Args, Target};
use bridge::{Bridge, Options, Reflector};
use hw::Regs;
use port::{Port, PortConfig};

const SYSFS: &str = "/sys";
/// What this build is: the lab's build step names it by its sources' hash
/// (`ENA_TAP_VERSION` at compile time); cargo by the package version.
pub const VERSION: &str = match option_env!("ENA_TAP_VERSION") {
    Some(v) => v,
    None => match option_env!("CARGO_PKG_VERSION") {
        Some(v) => v,
        None => "unknown",
    },
};
/// What `driver_override` says while the device is ours.
const OWNER: &str = "ena-tap";

fn log(msg: impl AsRef<str>) {
    eprintln!("ena-tap: {}", msg.as_ref());
}

/// The interfaces never to take, from the host's own tables.
fn host_view() -> guard::Host {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mut defaults = guard::ipv4_defaults(&read("/proc/net/route"));
    defaults.extend(guard::ipv6_defaults(&read("/proc/net/ipv6_route")));
    let mut ssh = guard::ssh_sessions(&read("/proc/net/tcp"));
    ssh.extend(guard::ssh_sessions(&read("/proc/net/tcp6")));
    if let Some(a) = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|v| guard::ssh_connection_server(&v))
    {
        ssh.push(a);
    }
    guard::Host {
        defaults,
        ssh,
        addrs: ifaddr::all().unwrap_or_default(),
    }
}

/// Everything that can be checked before the device is touched.
fn find_device(a: &Args) -> Result<PciDevice, String> {
    let root = Path::new(SYSFS);
    let dev = match &a.target {
        Target::Mac(m) => PciDevice::by_mac(root, m),
        Target::Pci(b) => PciDevice::at(root, b),
    }
    .map_err(|e| e.to_string())?;
    dev.check_ena().map_err(|e| e.to_string())?;
    let host = host_view();
    for iface in dev.interfaces() {
        host.refuse(&iface)
            .map_err(|e| format!("{e} ({} is {})", iface, dev.bdf()))?;
    }
    if a.reflect.is_none() && Path::new("/sys/class/net").join(&a.tap).exists() {
        return Err(format!(
            "--tap {}: an interface of that name already exists",
            a.tap
        ));
    }
    if !a.hugepages.is_dir() {
        return Err(format!(
            "--hugepages {}: not a directory (mount hugetlbfs there: mount -t hugetlbfs none {})",
            a.hugepages.display(),
            a.hugepages.display()
        ));
    }
    Ok(dev)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = match Args::parse(&argv) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) if e == args::VERSION_ASKED => {
            println!("ena-tap {VERSION}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            log(&e);
            eprint!("{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(format!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Args) -> Result<(), String> {
    let dev = find_device(a)?;
    signal::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let cfg = PortConfig {
        queues: a.queues,
        depth: a.ring,
        mtu: a.mtu,
        llq: a.llq,
        chunk: HUGE_PAGE,
    };
    // The memory first: a shortage leaves the device with its driver.
    let pool = HugePool::new(&a.hugepages, cfg.chunks_needed()).map_err(|e| e.to_string())?;
    let revision = dev.revision().map_err(|e| e.to_string())?;
    let from = dev.driver();
    let claim = Claim::take(&dev, OWNER).map_err(|e| e.to_string())?;
    log(format!(
        "took {} from {}",
        dev.bdf(),
        from.as_deref().unwrap_or("no driver")
    ));
    // From here every way out gives the device back (Claim's drop, too).
    let config = ConfigSpace::open(&dev.file("config")).map_err(|e| e.to_string())?;
    // A panic is an error like any other here: the device still goes
    // back. Bus mastering goes off before the pool's pages are freed (this
    // frame holds the pool), and ena's probe resets the device.
    let result = config
        .enable_bus_master()
        .map_err(|e| e.to_string())
        .and_then(|_| {
            std::panic::catch_unwind(AssertUnwindSafe(|| drive(a, &dev, &pool, revision, cfg)))
                .unwrap_or_else(|_| Err("the driver panicked (see above)".into()))
        });
    if let Err(e) = config.disable_bus_master() {
        log(format!("bus mastering stays on: {e}"));
    }
    drop(pool);
    let overridden = match claim.pinned() {
        "" => "driver_override cleared".to_string(),
        p => format!("driver_override back to {p}"),
    };
    match claim.release() {
        Err(e) => log(format!("giving {} back failed: {e}", dev.bdf())),
        Ok(()) => log(format!(
            "gave {} back to the kernel ({overridden}, drivers_probe)",
            dev.bdf()
        )),
    }
    result
}

/// Maps the BARs, builds the driver over them and runs it.
fn drive(
    a: &Args,
    dev: &PciDevice,
    pool: &HugePool,
    revision: u8,
    cfg: PortConfig,
) -> Result<(), String> {
    let bar0 = Bar0::map(dev).map_err(|e| e.to_string())?;
    let mut alloc = HugeAlloc(pool.clone());
    let regs = if revision & 1 != 0 {
        Regs::Direct(bar0)
    } else {
        let resp = alloc.alloc(8);
        Regs::ReadLess(Box::new(ReadLessRegs::new(
            bar0,
            resp,
            WallClock::new(),
            hw::READ_LESS_TIMEOUT_US,
        )))
    };
    let bar2 = if a.llq == ena_core::llq_config::LlqPolicy::Off {
        None
    } else {
        Bar2::map(dev).map_err(|e| e.to_string())?
    };
    match bar2 {
        Some(b) => {
            let wc = if b.write_combined() {
                "write-combined"
            } else {
                "uncached"
            };
            log(format!("BAR2 mapped {wc} ({} KiB)", b.len() / 1024));
            serve(
                a,
                dev,
                Ena::with_device_memory(regs, alloc, WallClock::new(), b),
                cfg,
            )
        }
        None => serve(a, dev, Ena::new(regs, alloc, WallClock::new()), cfg),
    }
}

fn serve<A, B>(
    a: &Args,
    dev: &PciDevice,
    ena: Ena<Regs, A, WallClock, B>,
    cfg: PortConfig,
) -> Result<(), String>
where
    A: DmaAllocator,
    A::Mem: DmaMemory,
    B: DeviceMemory + Clone,
{
    let mode = ena.regs.mode();
    let mut port = match Port::open(ena, cfg) {
        Ok(p) => p,
        Err((mut ena, e)) => {
            let why = ena
                .regs
                .read_less_error()
                .map(|r| format!(" (read-less: {r:?})"))
                .unwrap_or_default();
            let _ = ena.reset(reset_reason::NORMAL);
            return Err(format!("{}: {e}{why}", dev.bdf()));
        }
    };
    let placement = match port.ena.llq() {
        Some(l) => format!("LLQ, {}-byte entries", l.desc_list_entry_size),
        None => "host placement".into(),
    };
    let result = match a.reflect {
        Some(secs) => reflect(a, dev, &mut port, mode, &placement, secs),
        None => bridge_to_tap(a, dev, &mut port, mode, &placement),
    };
    if let Err(e) = port.ena.reset(reset_reason::NORMAL) {
        log(format!("the final reset failed: {e:?}"));
    }
    result
}

fn bridge_to_tap<A, B>(
    a: &Args,
    dev: &PciDevice,
    port: &mut Port<Regs, A, WallClock, B>,
    mode: &str,
    placement: &str,
) -> Result<(), String>
where
    A: DmaAllocator,
    B: DeviceMemory + Clone,
{
    let mac = port.info.mac;
    let mut tap = Tap::create(&a.tap).map_err(|e| e.to_string())?;
    tap.set_mac(mac)
        .and_then(|_| tap.set_mtu(a.mtu))
        .and_then(|_| tap.set_carrier(false))
        .and_then(|_| tap.set_up())
        .map_err(|e| e.to_string())?;
    let up = format!(
        "{} ({}) up: {} queue pair(s) of {}, {placement}, {mode}, MTU {}, TAP {}",
        dev.bdf(),
        format_mac(&mac),
        a.queues,
        a.ring,
        a.mtu,
        a.tap
    );
    log(&up);
    // The TAP is set up by name: only now may it move to another namespace.
    notify::ready(&up);
    let mut bridge = Bridge::new(Options {
        batch: a.batch,
        keep_alive_us: a.keep_alive_ms * 1000,
        idle_spins: 64,
        idle_wait: Duration::from_millis(1),
    });
    let stats_file = a.stats.clone();
    let mut tick = |p: &Port<Regs, A, WallClock, B>, b: &Bridge| {
        if let Some(f) = &stats_file {
            if let Err(e) = stats::write(f, &stats::render(p, b)) {
                log(format!("cannot write {}: {e}", f.display()));
            }
        }
    };
    let stop = || signal::raised().is_some();
    let result = bridge.run(port, &mut tap, &stop, &mut tick, &mut |m| log(m));
    notify::stopping();
    tick(port, &bridge);
    match (signal::raised(), result) {
        (_, Err(e)) => Err(e.to_string()),
        (Some(sig), Ok(())) => {
            log(format!("{}: stopping", signal::name(sig)));
            Ok(())
        }
        (None, Ok(())) => Ok(()),
    }
}

/// The benchmark: the loop forwards every received frame back out of the
/// port (no TAP), busy-polling for `secs` seconds. Busy-polling takes a
/// whole core whatever the load, so the figure per core counts only the
/// passes that moved frames: the rate one core would reach if the offered
/// load kept it busy (ixy's packets per second per core), and its inverse,
/// the driver's time per packet.
fn reflect<A, B>(
    a: &Args,
    dev: &PciDevice,
    port: &mut Port<Regs, A, WallClock, B>,
    mode: &str,
    placement: &str,
    secs: u64,
) -> Result<(), String>
where
    A: DmaAllocator,
    B: DeviceMemory + Clone,
{
    log(format!(
        "{} ({}) up: {} queue pair(s) of {}, {placement}, {mode}, MTU {}, reflecting for {secs} s",
        dev.bdf(),
        format_mac(&port.info.mac),
        a.queues,
        a.ring,
        a.mtu
    ));
    let mut bridge = Bridge::new(Options {
        batch: a.batch,
        keep_alive_us: a.keep_alive_ms * 1000,
        idle_spins: u32::MAX,
        idle_wait: Duration::ZERO,
    });
    let mut wire = Reflector::new(4096);
    let sent =
        |p: &Port<Regs, A, WallClock, B>| p.queues.iter().map(|q| q.stats.tx_packets).sum::<u64>();
    let stats_file = a.stats.clone();
    let mut tick = |p: &Port<Regs, A, WallClock, B>, b: &Bridge| {
        if let Some(f) = &stats_file {
            let _ = stats::write(f, &stats::render(p, b));
        }
    };
    let (start, c0, cpu0, sent0) = (Instant::now(), cycles(), stats::cpu_seconds(), sent(port));
    let until = Duration::from_secs(secs);
    let stop = || signal::raised().is_some() || start.elapsed() >= until;
    let result = bridge.run(port, &mut wire, &stop, &mut tick, &mut |m| log(m));
    tick(port, &bridge);
    let wall = start.elapsed().as_secs_f64();
    // The cycle counter's rate, from the run itself.
    let hz = cycles().saturating_sub(c0) as f64 / wall;
    let cpu = match (cpu0, stats::cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let n = sent(port) - sent0;
    let busy = if hz > 0.0 {
        bridge.busy_cycles as f64 / hz
    } else {
        0.0
    };
    log(format!(
        "reflect: {n} packets forwarded in {wall:.1} s: {:.0} packets/s, {cpu:.2} CPU s (busy-polling); \
         passes that moved frames took {busy:.2} s: {:.0} packets/s per core, {:.0} ns per packet; {} dropped (reflector full)",
        n as f64 / wall,
        if busy > 0.0 { n as f64 / busy } else { 0.0 },
        if n > 0 { busy * 1e9 / n as f64 } else { 0.0 },
        bridge.drops.to_tap
    ));
    result.map_err(|e| e.to_string())
}
