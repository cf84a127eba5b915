//! The driver's port and loop against the software ENA, in-process: the
//! same code that runs on the PCI backend, with the model's loopback as
//! the wire and a TAP double as the host's stack. Frames from the "stack"
//! leave by their flow's queue, come back through the device's RSS, and
//! reach the "stack" again byte for byte; link events become carrier;
//! silence and broken completions become a reset that traffic survives.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use ena_core::device::{reset_reason, Ena};
use ena_core::devmem::DeviceMemory;
use ena_core::llq_config::LlqPolicy;
use ena_core::Clock;
use ena_model::{Bus, BusAlloc, Lifetime, Model, ModelConfig, VirtualClock};

use crate::bridge::{Bridge, Frames, Options, StepError, HOUSEKEEPING_PASSES};
use crate::flow::tests::tcp4;
use crate::port::{Port, PortConfig, PortError};

/// BAR2 as the model exposes it.
#[derive(Clone)]
struct Bar2(Bus);

impl DeviceMemory for Bar2 {
    fn write(&mut self, off: usize, entry: &[u8]) {
        self.0.device_write(off as u64, entry);
    }
}

type TestPort = Port<Model, BusAlloc, VirtualClock, Bar2>;

/// The host's stack: frames it sends, frames it got, its carrier.
#[derive(Default)]
struct Stack {
    outbox: VecDeque<Vec<u8>>,
    inbox: Vec<Vec<u8>>,
    carrier: Option<bool>,
}

impl Frames for Stack {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(self.outbox.pop_front().map(|f| {
            buf[..f.len()].copy_from_slice(&f);
            f.len()
        }))
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        self.inbox.push(frame.to_vec());
        Ok(true)
    }
    fn set_carrier(&mut self, up: bool) -> io::Result<()> {
        self.carrier = Some(up);
        Ok(())
    }
    fn wait(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

fn cfg(queues: u16, mtu: u32, llq: LlqPolicy) -> PortConfig {
    PortConfig {
        queues,
        depth: 64,
        mtu,
        llq,
        chunk: 2 << 20,
    }
}

fn open(c: PortConfig) -> TestPort {
    let bus = Bus::new(32 << 20, 0x1_2340_0000);
    let ena = Ena::with_device_memory(
        Model::new(&bus, ModelConfig::default()),
        BusAlloc::new(&bus),
        VirtualClock::default(),
        Bar2(bus.clone()),
    );
    Port::open(ena, c).map_err(|(_, e)| e).expect("port up")
}

fn bridge() -> Bridge {
    Bridge::new(Options {
        batch: 8,
        keep_alive_us: 6_000_000,
        idle_spins: 1,
        idle_wait: Duration::ZERO,
    })
}

/// One pass as the tests take it: events and the watchdog, then the data
/// path ([`Bridge::run`] looks at events less often under load).
fn step(b: &mut Bridge, p: &mut TestPort, s: &mut Stack) -> Result<bool, StepError> {
    if let Some(up) = p.service(b.opts.keep_alive_us)? {
        s.set_carrier(up)?;
    }
    b.forward(p, s)
}

/// A frame of flow `n` padded to `len` bytes with a pattern of its own.
fn frame(n: u16, len: usize) -> Vec<u8> {
    let mut f = tcp4(40000 + n);
    f.extend((f.len()..len).map(|i| (i as u8).wrapping_mul(31) ^ n as u8));
    f
}

/// Steps until the stack got `want` frames (the device's keep-alive
/// posted each pass, as its 1 s timer would).
fn pump(p: &mut TestPort, b: &mut Bridge, s: &mut Stack, want: usize) {
    for _ in 0..1000 {
        p.ena.regs.keep_alive();
        step(b, p, s).expect("a pass");
        if s.inbox.len() >= want {
            return;
        }
    }
    panic!("{} of {want} frames came back", s.inbox.len());
}

/// The model's protocol checker saw the driver break no rule.
fn kept_the_protocol(p: &TestPort) {
    let v = p.ena.regs.violations();
    assert_eq!(
        v.total(),
        0,
        "the driver broke the protocol: {:?}",
        v.report()
    );
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

#[test]
fn sixteen_flows_leave_by_both_queues_and_return_through_rss_byte_for_byte() {
    let mut p = open(cfg(2, 1500, LlqPolicy::Recommended));
    assert!(p.ena.llq().is_some(), "LLQ taken with BAR2 mapped");
    let (mut b, mut s) = (bridge(), Stack::default());
    step(&mut b, &mut p, &mut s).unwrap();
    assert_eq!(s.carrier, Some(true), "the link event became carrier");
    // 16 flows, 10 frames each, of every size from a bare header to the MTU.
    let sent: Vec<Vec<u8>> = (0..160)
        .map(|i| frame(i % 16, 54 + (i as usize * 97) % 1461))
        .collect();
    s.outbox.extend(sent.iter().cloned());
    pump(&mut p, &mut b, &mut s, sent.len());
    assert_eq!(sorted(s.inbox.clone()), sorted(sent));
    for (i, q) in p.queues.iter().enumerate() {
        assert!(
            q.stats.tx_packets > 0 && q.stats.rx_packets > 0,
            "queue {i}: {:?}",
            q.stats
        );
        // Batches: far fewer doorbells than packets.
        assert!(
            q.stats.tx_doorbells * 2 < q.stats.tx_packets,
            "queue {i}: {:?}",
            q.stats
        );
    }
    assert_eq!(b.drops, Default::default());
    kept_the_protocol(&p);
}

#[test]
fn jumbo_frames_cross_in_host_placement_and_longer_ones_are_dropped() {
    let mut p = open(cfg(1, 9001, LlqPolicy::Off));
    assert!(p.ena.llq().is_none());
    let (mut b, mut s) = (bridge(), Stack::default());
    // 9015 bytes: the MTU and an Ethernet header, three Rx buffers.
    let sent = vec![frame(1, 9015), frame(2, 4097), frame(3, 60)];
    s.outbox.extend(sent.iter().cloned());
    s.outbox.push_back(frame(4, 9020));
    pump(&mut p, &mut b, &mut s, 3);
    assert_eq!(sorted(s.inbox.clone()), sorted(sent));
    // 9020 bytes fit the Tx buffer but not the MTU: the device drops them.
    assert_eq!(p.ena.regs.stats.tx_drops, 1);
    s.outbox.push_back(frame(5, 12000));
    step(&mut b, &mut p, &mut s).unwrap();
    assert_eq!(
        b.drops.too_long, 1,
        "longer than any Tx buffer: dropped here"
    );
}

#[test]
fn a_silent_device_is_reset_and_traffic_resumes() {
    let mut p = open(cfg(2, 1500, LlqPolicy::Recommended));
    let (mut b, mut s) = (bridge(), Stack::default());
    s.outbox.push_back(frame(0, 100));
    pump(&mut p, &mut b, &mut s, 1);
    let resets = p.ena.regs.stats.resets;
    // Keep-alives withheld, 7 s pass: the watchdog names the silence.
    p.ena
        .regs
        .faults
        .withhold_keep_alive
        .arm(Lifetime::UntilReset);
    p.ena.regs.keep_alive();
    p.ena.clock.sleep_us(7_000_000);
    let e = match step(&mut b, &mut p, &mut s) {
        Err(StepError::Port(e)) => e,
        other => panic!("expected the watchdog, got {other:?}"),
    };
    assert!(matches!(e, PortError::KeepAliveLost { .. }), "{e}");
    assert_eq!(e.reset_reason(), Some(reset_reason::KEEP_ALIVE_TO));
    p.restart(reset_reason::KEEP_ALIVE_TO).expect("up again");
    assert_eq!(p.resets, 1);
    assert!(
        p.ena.regs.stats.resets >= resets + 2,
        "the reason's reset, then bring-up's"
    );
    assert!(
        !p.ena.regs.faults.withhold_keep_alive.armed(),
        "the reset cleared the fault"
    );
    let before = s.inbox.len();
    s.outbox.extend((0..16).map(|i| frame(i, 200)));
    pump(&mut p, &mut b, &mut s, before + 16);
    assert!(
        p.queues.iter().all(|q| q.stats.rx_packets > 0),
        "counters carried on"
    );
}

#[test]
fn a_bad_tx_completion_asks_for_a_reset_and_link_events_drive_the_carrier() {
    let mut p = open(cfg(1, 1500, LlqPolicy::Recommended));
    let (mut b, mut s) = (bridge(), Stack::default());
    pump_link(&mut p, &mut b, &mut s);
    p.ena.regs.set_link(false);
    step(&mut b, &mut p, &mut s).unwrap();
    assert_eq!(s.carrier, Some(false));
    p.ena.regs.set_link(true);
    step(&mut b, &mut p, &mut s).unwrap();
    assert_eq!(s.carrier, Some(true));

    p.ena.regs.faults.bad_tx_req_id.arm(Lifetime::Once);
    s.outbox.push_back(frame(0, 100));
    let mut err = None;
    for _ in 0..10 {
        if let Err(StepError::Port(e)) = step(&mut b, &mut p, &mut s) {
            err = Some(e);
            break;
        }
    }
    let e = err.expect("the bad request id is noticed");
    assert!(e.reset_reason().is_some(), "{e}");
    p.restart(e.reset_reason().unwrap()).unwrap();
    s.outbox.push_back(frame(1, 100));
    let n = s.inbox.len();
    pump(&mut p, &mut b, &mut s, n + 1);
    kept_the_protocol(&p);
}

#[test]
fn under_load_the_loop_looks_at_events_and_stop_once_every_64_passes() {
    let mut p = open(cfg(1, 1500, LlqPolicy::Recommended));
    let (mut b, mut s) = (bridge(), Stack::default());
    pump_link(&mut p, &mut b, &mut s);
    // Frames enough that no pass is idle (an idle pass looks every time).
    s.outbox.extend((0..4000).map(|i| frame(i % 16, 200)));
    p.ena.regs.set_link(false);
    let looks = std::cell::Cell::new(0);
    let stop = || {
        looks.set(looks.get() + 1);
        looks.get() == 3
    };
    b.run(&mut p, &mut s, &stop, &mut |_, _| {}, &mut |_| {})
        .unwrap();
    assert_eq!(s.carrier, Some(false), "the link event was seen under load");
    let sent = 4000 - s.outbox.len();
    assert_eq!(HOUSEKEEPING_PASSES, 64);
    assert!(
        sent >= 128,
        "three looks, 64 busy passes apart: {sent} frames sent"
    );
    assert!(s.outbox.len() > 1000, "stopped while frames still waited");
    assert!(b.busy_cycles > 0, "busy passes were timed");
    kept_the_protocol(&p);
}

fn pump_link(p: &mut TestPort, b: &mut Bridge, s: &mut Stack) {
    step(b, p, s).unwrap();
    assert_eq!(s.carrier, Some(true));
}

#[test]
fn more_queues_than_the_device_has_or_a_larger_mtu_are_refused_by_value() {
    let bus = Bus::new(32 << 20, 0x1_2340_0000);
    let ena = |bus: &Bus| {
        Ena::with_device_memory(
            Model::new(bus, ModelConfig::default()),
            BusAlloc::new(bus),
            VirtualClock::default(),
            Bar2(bus.clone()),
        )
    };
    let e = Port::open(ena(&bus), cfg(1, 9217, LlqPolicy::Off))
        .err()
        .unwrap()
        .1;
    assert_eq!(e.to_string(), "MTU 9217 is above the device's maximum 9216");
    let e = Port::open(ena(&bus), cfg(64, 1500, LlqPolicy::Off))
        .err()
        .unwrap()
        .1;
    assert!(
        e.to_string()
            .starts_with("64 queue pairs asked, the device offers"),
        "{e}"
    );
    assert_eq!(e.reset_reason(), None);
}
