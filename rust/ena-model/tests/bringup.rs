//! ena-core's driver against the software ENA: bring-up end to end, frames
//! over the loopback and over a wire between two devices, events, and every
//! injected fault turning into its typed error and recovered by a reset.

use ena_core::admin::{feature, opcode, AdminError, Command};
use ena_core::aenq::Event;
use ena_core::batch::{rx_refill_due, rx_refill_threshold, TxDoorbell};
use ena_core::device::{aenq_group, BringUpError, DeviceInfo, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_core::{Clock, Error};
use ena_model::{Bus, BusAlloc, BusMem, Lifetime, Model, ModelConfig, VirtualClock};

const DEPTH: u16 = 16;
const GROUPS: u32 = aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE;

type Driver = Ena<Model, BusAlloc, VirtualClock>;

fn device(mac_last: u8) -> (Driver, Bus) {
    // Above 4 GiB, so every high address word is exercised.
    let bus = Bus::new(8 << 20, 0x1_2340_0000);
    let cfg = ModelConfig {
        mac: [0x02, 0xe1, 0xab, 0, 0, mac_last],
        ..Default::default()
    };
    (
        Ena::new(
            Model::new(&bus, cfg),
            BusAlloc::new(&bus),
            VirtualClock::default(),
        ),
        bus,
    )
}

/// A device brought up, its buffers allocated and its Rx ring filled.
fn ready() -> (Driver, Bus, IoPair<BusMem>, Buffers) {
    let (mut d, bus) = device(1);
    let (_, mut p) = d.bring_up(DEPTH, GROUPS).unwrap();
    let b = Buffers::new(&mut d);
    fill_rx(&mut d, &mut p, &b, 0..DEPTH - 1);
    (d, bus, p, b)
}

/// The driver's packet buffers: Tx buffers, then Rx buffers, 2 KiB each.
struct Buffers {
    mem: BusMem,
}

impl Buffers {
    fn new(d: &mut Driver) -> Self {
        Self {
            mem: d.alloc.alloc(2 * DEPTH as usize * 2048),
        }
    }
    fn tx_addr(&self, id: u16) -> (usize, u64) {
        let off = id as usize * 2048;
        (off, self.mem.phys() + off as u64)
    }
    fn rx_addr(&self, id: u16) -> (usize, u64) {
        let off = (DEPTH + id) as usize * 2048;
        (off, self.mem.phys() + off as u64)
    }
}

fn fill_rx(d: &mut Driver, p: &mut IoPair<BusMem>, b: &Buffers, ids: impl Iterator<Item = u16>) {
    for id in ids {
        p.rx.add(b.rx_addr(id).1, 2048, id).unwrap();
    }
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
}

fn send(d: &mut Driver, p: &mut IoPair<BusMem>, b: &mut Buffers, id: u16, frame: &[u8]) -> u16 {
    // Two buffers per frame: header-ish and the rest.
    let split = frame.len().min(42);
    let (off, addr) = b.tx_addr(id);
    b.mem.write(off, frame);
    let bufs = [
        TxBuf {
            paddr: addr,
            len: split as u16,
        },
        TxBuf {
            paddr: addr + split as u64,
            len: (frame.len() - split) as u16,
        },
    ];
    let n = if frame.len() > split { 2 } else { 1 };
    let used =
        p.tx.prepare(&TxCtx {
            bufs: &bufs[..n],
            req_id: id,
            ..Default::default()
        })
        .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    used
}

fn receive(p: &mut IoPair<BusMem>, b: &Buffers) -> Option<(u16, Vec<u8>)> {
    let mut rb = [RxBuf::default(); 4];
    let pkt = p.rx_done.receive(&mut p.rx, &mut rb).unwrap();
    if pkt.descs == 0 {
        return None;
    }
    let mut data = vec![0u8; rb[0].len as usize];
    b.mem.read(b.rx_addr(rb[0].req_id).0, &mut data);
    Some((rb[0].req_id, data))
}

fn frame(n: usize) -> Vec<u8> {
    (0..60 + (n * 37) % 1400).map(|i| (i ^ n) as u8).collect()
}

#[test]
fn bring_up_runs_end_to_end_against_the_model() {
    let (mut d, _bus) = device(1);
    let (info, pair) = d.bring_up(DEPTH, GROUPS).expect("bring-up");
    assert_eq!(
        info,
        DeviceInfo {
            mac: [0x02, 0xe1, 0xab, 0, 0, 1],
            max_mtu: 9216,
            dma_width: 48,
            aenq_groups: GROUPS,
            max_sq_num: 8,
            max_queue_depth: 1024
        }
    );
    assert_eq!(
        d.regs.host_os_type(),
        Some(1),
        "the device never got the host info"
    );
    assert_eq!(d.regs.enabled_groups(), GROUPS);
    assert_eq!(
        d.regs.queues(),
        (2, 2),
        "one Tx and one Rx queue, each with its completion queue"
    );
    assert_ne!(pair.tx_doorbell, pair.rx_doorbell);
    let log: Vec<(u8, u8)> = d.regs.admin_log.iter().map(|(o, f, _)| (*o, *f)).collect();
    assert_eq!(
        log,
        vec![
            (opcode::GET_FEATURE, feature::DEVICE_ATTRIBUTES),
            (opcode::GET_FEATURE, feature::MAX_QUEUES_NUM),
            (opcode::SET_FEATURE, feature::HOST_ATTR_CONFIG),
            (opcode::GET_FEATURE, feature::AENQ_CONFIG),
            (opcode::SET_FEATURE, feature::AENQ_CONFIG),
            (opcode::CREATE_CQ, 0),
            (opcode::CREATE_SQ, 0),
            (opcode::CREATE_CQ, 0),
            (opcode::CREATE_SQ, 0),
        ]
    );
    assert!(d.regs.admin_log.iter().all(|(_, _, status)| *status == 0));
}

#[test]
fn a_queue_deeper_than_max_queues_num_allows_is_refused_before_any_queue_exists() {
    let bus = Bus::new(8 << 20, 0x1_2340_0000);
    let cfg = ModelConfig {
        max_queue_depth: 8,
        ..Default::default()
    };
    let mut d: Driver = Ena::new(
        Model::new(&bus, cfg),
        BusAlloc::new(&bus),
        VirtualClock::default(),
    );
    assert_eq!(
        d.bring_up(16, GROUPS).err(),
        Some(BringUpError::QueueTooDeep { asked: 16, max: 8 })
    );
    assert_eq!(
        d.regs.queues(),
        (0, 0),
        "no queue may be created past the limit"
    );
    let (info, _) = d
        .bring_up(8, GROUPS)
        .expect("a depth within the limit comes up");
    assert_eq!(info.max_queue_depth, 8);
}

#[test]
fn frames_loop_back_byte_identical_over_many_laps() {
    let (mut d, _bus, mut p, mut b) = ready();
    for n in 0..300 {
        let f = frame(n);
        let id = (n % 8) as u16;
        let used = send(&mut d, &mut p, &mut b, id, &f);
        assert_eq!(
            p.tx_done.next_completed(),
            Ok(id),
            "frame {n}: Tx completion"
        );
        p.tx.ack(used);
        let (rx_id, got) =
            receive(&mut p, &b).unwrap_or_else(|| panic!("frame {n} was not received"));
        assert_eq!(got, f, "frame {n} changed in the device");
        fill_rx(&mut d, &mut p, &b, std::iter::once(rx_id));
    }
    assert_eq!(
        (
            d.regs.stats.tx_pkts,
            d.regs.stats.rx_pkts,
            d.regs.stats.rx_drops
        ),
        (300, 300, 0)
    );
    let v = d.regs.violations();
    assert_eq!(v.total(), 0, "ena-core kept the protocol: {:?}", v.report());
}

#[test]
fn tx_doorbells_are_batched_per_burst_and_rx_refills_wait_for_the_threshold() {
    let (mut d, _bus, mut p, mut b) = ready();
    let before = d.regs.stats;
    let threshold = rx_refill_threshold(DEPTH);
    assert_eq!(threshold, 2);
    let mut db = TxDoorbell::new(64);
    let mut refill: Vec<u16> = Vec::new();
    let mut sent = 0usize;
    for burst in 0..6 {
        // A burst of 4 frames, one doorbell.
        for k in 0..4u16 {
            let f = frame(sent);
            let (off, addr) = b.tx_addr(k);
            b.mem.write(off, &f);
            p.tx.prepare(&TxCtx {
                bufs: &[TxBuf {
                    paddr: addr,
                    len: f.len() as u16,
                }],
                req_id: k,
                ..Default::default()
            })
            .unwrap();
            if db.posted(k != 3) {
                let (off, tail) = (p.tx_doorbell, p.tx.tail());
                d.doorbell(off, tail);
            }
            sent += 1;
        }
        for k in 0..4u16 {
            assert_eq!(p.tx_done.next_completed(), Ok(k));
            p.tx.ack(1);
        }
        // Receive the burst; refill only past the threshold, one doorbell per refill.
        for k in 0..4 {
            let (id, got) =
                receive(&mut p, &b).unwrap_or_else(|| panic!("burst {burst} frame {k} lost"));
            assert_eq!(got, frame(burst * 4 + k));
            refill.push(id);
            if rx_refill_due(p.rx.free(), DEPTH) {
                assert_eq!(refill.len() as i32, p.rx.free());
                fill_rx(&mut d, &mut p, &b, refill.drain(..));
            }
        }
    }
    let s = d.regs.stats;
    assert_eq!(s.tx_pkts - before.tx_pkts, 24);
    assert_eq!(
        s.tx_doorbells - before.tx_doorbells,
        6,
        "one Tx doorbell per burst of 4"
    );
    // A refill every threshold + 1 = 3 packets: 24 / 3.
    assert_eq!(
        s.rx_doorbells - before.rx_doorbells,
        8,
        "one Rx doorbell per refill batch"
    );
    assert_eq!(
        (s.rx_pkts - before.rx_pkts, s.rx_drops),
        (24, 0),
        "the ring never ran dry"
    );
}

#[test]
fn frames_cross_a_wire_between_two_devices_both_ways() {
    let (mut a, _ba) = device(1);
    let (mut b, _bb) = device(2);
    Model::connect(&mut a.regs, &mut b.regs);
    let (_, mut pa) = a.bring_up(DEPTH, GROUPS).unwrap();
    let (_, mut pb) = b.bring_up(DEPTH, GROUPS).unwrap();
    let (mut bufa, mut bufb) = (Buffers::new(&mut a), Buffers::new(&mut b));
    fill_rx(&mut a, &mut pa, &bufa, 0..DEPTH - 1);
    fill_rx(&mut b, &mut pb, &bufb, 0..DEPTH - 1);
    for n in 0..100 {
        let f = frame(n);
        let used = send(&mut a, &mut pa, &mut bufa, 3, &f);
        assert_eq!(pa.tx_done.next_completed(), Ok(3));
        pa.tx.ack(used);
        b.regs.deliver();
        let (id, got) = receive(&mut pb, &bufb).expect("B received A's frame");
        assert_eq!(got, f);
        fill_rx(&mut b, &mut pb, &bufb, std::iter::once(id));
        // And back.
        let used = send(&mut b, &mut pb, &mut bufb, 5, &got);
        assert_eq!(pb.tx_done.next_completed(), Ok(5));
        pb.tx.ack(used);
        a.regs.deliver();
        let (id, back) = receive(&mut pa, &bufa).expect("A received B's frame");
        assert_eq!(back, f);
        fill_rx(&mut a, &mut pa, &bufa, std::iter::once(id));
    }
    assert!(
        receive(&mut pa, &bufa).is_none(),
        "A received its own frames: a loopback, not a wire"
    );
    for m in [&a.regs, &b.regs] {
        let v = m.violations();
        assert_eq!(v.total(), 0, "ena-core kept the protocol: {:?}", v.report());
    }
}

#[test]
fn keep_alive_and_link_events_reach_the_driver() {
    let (mut d, _bus) = device(1);
    d.bring_up(DEPTH, GROUPS).unwrap();
    d.regs.keep_alive();
    d.regs.set_link(false);
    d.regs.set_link(true);
    let mut seen = Vec::new();
    assert_eq!(d.poll_events(|e| seen.push(e)), 4);
    // The device reports its link as soon as the driver enables the group.
    let want = [
        Event::LinkChange { up: true },
        Event::KeepAlive,
        Event::LinkChange { up: false },
        Event::LinkChange { up: true },
    ];
    assert_eq!(seen, want);
    // The ring wraps: many more events than its 32 entries.
    for _ in 0..100 {
        d.regs.keep_alive();
        assert_eq!(d.poll_events(|_| {}), 1);
    }
}

#[test]
fn injected_faults_give_typed_errors_and_a_reset_recovers() {
    // A completion with another command id.
    let (mut d, _bus) = device(1);
    d.regs.faults.wrong_completion_id.arm(Lifetime::Once);
    assert_eq!(
        d.bring_up(DEPTH, GROUPS).err(),
        Some(BringUpError::Admin {
            step: "get device attributes",
            error: AdminError::UnexpectedCompletion { command_id: 1 }
        })
    );
    assert!(
        d.bring_up(DEPTH, GROUPS).is_ok(),
        "a reset and a second bring-up recover"
    );

    // A completion that never comes: the admin timeout from CAPS (10 x 100 ms).
    let (mut d, _bus) = device(1);
    d.regs.faults.withhold_completion.arm(Lifetime::Once);
    let t0 = d.clock.now_us();
    assert_eq!(
        d.bring_up(DEPTH, GROUPS).err(),
        Some(BringUpError::Admin {
            step: "get device attributes",
            error: AdminError::Timeout { command_id: 0 }
        })
    );
    let waited = d.clock.now_us() - t0;
    assert!(
        (1_000_000..1_060_000).contains(&waited),
        "waited {waited} us for a 1 s admin timeout"
    );
    assert!(d.bring_up(DEPTH, GROUPS).is_ok());

    // Reset stuck in progress: CAPS' reset timeout (5 x 100 ms), then a typed error.
    let (mut d, _bus) = device(1);
    d.regs.faults.reset_stuck.arm(Lifetime::UntilCleared);
    assert_eq!(
        d.reset(0),
        Err(BringUpError::ResetTimeout { entering: false })
    );
    d.regs.faults.reset_stuck.clear();
    assert!(d.bring_up(DEPTH, GROUPS).is_ok());
    assert!(d.regs.stats.resets >= 2);

    // A Tx completion naming a request id past the queue.
    let (mut d, _bus, mut p, mut b) = ready();
    d.regs.faults.bad_tx_req_id.arm(Lifetime::UntilCleared);
    send(&mut d, &mut p, &mut b, 2, &frame(1));
    assert_eq!(
        p.tx_done.next_completed(),
        Err(Error::InvalidReqId(DEPTH + 1))
    );
    d.regs.faults.bad_tx_req_id.clear();
    let (_, mut p) = d
        .bring_up(DEPTH, GROUPS)
        .expect("reset and bring-up after a bad completion");
    fill_rx(&mut d, &mut p, &b, 0..DEPTH - 1);
    let used = send(&mut d, &mut p, &mut b, 2, &frame(2));
    assert_eq!(p.tx_done.next_completed(), Ok(2));
    p.tx.ack(used);
    assert_eq!(
        receive(&mut p, &b).map(|(_, f)| f),
        Some(frame(2)),
        "traffic resumes after the reset"
    );

    // A malformed Rx completion: no LAST bit, so the next packet's FIRST
    // arrives mid-packet.
    let (mut d, _bus, mut p, mut b) = ready();
    d.regs.faults.rx_cdesc_without_last.arm(Lifetime::Once);
    send(&mut d, &mut p, &mut b, 0, &frame(1));
    assert_eq!(
        receive(&mut p, &b),
        None,
        "a packet without its last completion is not complete"
    );
    send(&mut d, &mut p, &mut b, 1, &frame(2));
    let mut rb = [RxBuf::default(); 4];
    assert_eq!(
        p.rx_done.receive(&mut p.rx, &mut rb),
        Err(Error::MalformedCompletion)
    );
    let (_, mut p) = d
        .bring_up(DEPTH, GROUPS)
        .expect("reset and bring-up after a malformed completion");
    fill_rx(&mut d, &mut p, &b, 0..DEPTH - 1);
    send(&mut d, &mut p, &mut b, 3, &frame(3));
    assert_eq!(
        receive(&mut p, &b).map(|(_, f)| f),
        Some(frame(3)),
        "traffic resumes after the reset"
    );

    // Missed keep-alives: the watchdog fires, a reset brings the device back.
    let (mut d, _bus) = device(1);
    d.bring_up(DEPTH, GROUPS).unwrap();
    d.regs
        .faults
        .withhold_keep_alive
        .arm(Lifetime::UntilCleared);
    for _ in 0..7 {
        d.clock.sleep_us(1_000_000);
        d.regs.keep_alive();
        d.poll_events(|_| {});
    }
    assert!(
        d.keep_alive_missing(6_000_000),
        "no keep-alive for 7 s and the watchdog is quiet"
    );
    d.regs.faults.withhold_keep_alive.clear();
    d.bring_up(DEPTH, GROUPS).unwrap();
    d.regs.keep_alive();
    d.poll_events(|_| {});
    assert!(!d.keep_alive_missing(6_000_000));
}

#[test]
fn unsupported_requests_are_answered_honestly_and_the_queue_goes_on() {
    let (mut d, _bus) = device(1);
    d.bring_up(DEPTH, GROUPS).unwrap();
    let mut phc = Command::new(opcode::GET_FEATURE);
    phc.put(17, &[29]); // ENA_ADMIN_PHC_CONFIG: no clock here
    assert_eq!(
        d.admin_command(&phc).err(),
        Some(AdminError::UnsupportedOpcode),
        "PHC must be refused: the model has no clock"
    );
    let mut extended = Command::new(opcode::GET_STATS);
    extended.put(16, &[1]); // ENA_ADMIN_GET_STATS_TYPE_EXTENDED
    assert_eq!(
        d.admin_command(&extended).err(),
        Some(AdminError::UnsupportedOpcode)
    );
    assert_eq!(
        d.admin_command(&Command::new(77)).err(),
        Some(AdminError::BadOpcode)
    );
    let mut attrs = Command::new(opcode::GET_FEATURE);
    attrs.put(17, &[feature::DEVICE_ATTRIBUTES]);
    let c = d
        .admin_command(&attrs)
        .expect("the queue still works after refusals");
    assert_eq!(&c.0[32..38], &[0x02, 0xe1, 0xab, 0, 0, 1]);
    assert_eq!(d.regs.stats.unsupported, 2);
}

#[test]
fn read_less_register_reads_equal_plain_reads_and_time_out_when_unanswered() {
    use ena_core::mmio::{ReadLess, ReadLessError};
    use ena_core::regs::{self, Registers};
    let (mut d, _bus) = device(1);
    let resp = d.alloc.alloc(8);
    let mut rl = ReadLess::new(&mut d.regs, resp, 200_000);
    for reg in [
        regs::VERSION,
        regs::CONTROLLER_VERSION,
        regs::CAPS,
        regs::DEV_STS,
    ] {
        let plain = d.regs.read32(reg);
        assert_eq!(
            rl.read32(&mut d.regs, &mut d.clock, reg),
            Ok(plain),
            "register {reg:#x}"
        );
    }
    d.regs.faults.no_readless_answer.arm(Lifetime::UntilCleared);
    let t0 = d.clock.now_us();
    assert_eq!(
        rl.read32(&mut d.regs, &mut d.clock, regs::CAPS),
        Err(ReadLessError::Timeout { offset: regs::CAPS })
    );
    assert!(d.clock.now_us() - t0 >= 200_000);
}
