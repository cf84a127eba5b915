//! The model as a PCI device sees the world: a platform that takes its
//! interrupts and frames (what QEMU's ena device does), and what Linux's
//! drivers ask of it beyond ena-core's bring-up.

use std::rc::Rc;

use ena_core::admin::{opcode, AdminError, Command};
use ena_core::device::{aenq_group, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::regs::{self, Registers};
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_model::{test_port, Bus, BusAlloc, BusMem, Model, ModelConfig, VirtualClock};

const DEPTH: u16 = 16;
const VECTOR: u16 = 1;

mod support;
use support::{Driver, Recorder as Host};

fn device() -> (Driver, Rc<Host>) {
    let bus = Bus::new(8 << 20, 0x1_2340_0000);
    let host = Host::new(&bus);
    let model = Model::with_platform(host.clone(), ModelConfig::default());
    (
        Ena::new(model, BusAlloc::new(&bus), VirtualClock::default()),
        host,
    )
}

/// Brought up, with a second queue pair on an MSI-X vector.
fn with_irq_pair() -> (Driver, Rc<Host>, IoPair<BusMem>, BusMem) {
    let (mut d, host) = device();
    d.bring_up(DEPTH, aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE)
        .unwrap();
    let p = d.create_pair_on(DEPTH, Some(VECTOR)).unwrap();
    let bufs = d.alloc.alloc(2 * DEPTH as usize * 2048);
    host.irqs.borrow_mut().clear();
    (d, host, p, bufs)
}

fn send(d: &mut Driver, p: &mut IoPair<BusMem>, bufs: &mut BusMem, id: u16, frame: &[u8]) {
    bufs.write(id as usize * 2048, frame);
    let b = [TxBuf {
        paddr: bufs.phys() + id as u64 * 2048,
        len: frame.len() as u16,
    }];
    p.tx.prepare(&TxCtx {
        bufs: &b,
        req_id: id,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
}

fn post_rx(
    d: &mut Driver,
    p: &mut IoPair<BusMem>,
    bufs: &BusMem,
    ids: std::ops::Range<u16>,
    len: u16,
) {
    for id in ids {
        p.rx.add(bufs.phys() + (DEPTH + id) as u64 * 2048, len, id)
            .unwrap();
    }
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
}

fn vector_irqs(host: &Host) -> usize {
    host.irqs.borrow().iter().filter(|v| **v == VECTOR).count()
}

#[test]
fn admin_completions_and_events_raise_the_management_vector() {
    let (mut d, host) = device();
    d.bring_up(DEPTH, aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE)
        .unwrap();
    let irqs = host.irqs.borrow().clone();
    // One per admin completion, plus the link-up event posted when the
    // driver enabled the group.
    assert_eq!(irqs.len() as u64, d.regs.stats.admin_commands + 1);
    assert!(irqs.iter().all(|v| *v == 0), "{irqs:?}");
    d.regs.keep_alive();
    assert_eq!(host.irqs.borrow().len(), irqs.len() + 1);
}

#[test]
fn an_io_vector_fires_once_then_waits_for_the_unmask_register() {
    let (mut d, host, mut p, mut bufs) = with_irq_pair();
    for id in 0..3 {
        send(&mut d, &mut p, &mut bufs, id, &[id as u8; 60]);
    }
    assert_eq!(
        host.sent.borrow().len(),
        3,
        "frames go to the platform's network, not a loopback"
    );
    assert_eq!(vector_irqs(&host), 1, "masked after the first completion");
    d.unmask(&p);
    assert_eq!(
        vector_irqs(&host),
        2,
        "completions arrived while masked: the unmask fires at once"
    );
    d.unmask(&p);
    assert_eq!(vector_irqs(&host), 2, "nothing pending: no interrupt");
    send(&mut d, &mut p, &mut bufs, 3, &[3; 60]);
    assert_eq!(vector_irqs(&host), 3);
    // A write without the unmask bit is only a moderation update.
    send(&mut d, &mut p, &mut bufs, 4, &[4; 60]);
    d.regs.write32(p.unmask_reg, 64);
    assert_eq!(vector_irqs(&host), 3);
    assert!(host.irqs.borrow().iter().all(|v| *v == 0 || *v == VECTOR));
}

#[test]
fn a_frame_longer_than_one_buffer_spans_several_with_first_and_last() {
    let (mut d, host, mut p, bufs) = with_irq_pair();
    let frame: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    assert!(!d.regs.can_receive(frame.len()), "no buffers posted yet");
    assert!(!d.regs.receive(&frame), "refused, so the caller keeps it");
    post_rx(&mut d, &mut p, &bufs, 0..4, 1024);
    assert_eq!(
        *host.rx_space.borrow(),
        1,
        "the platform hears of new buffers"
    );
    assert!(d.regs.can_receive(frame.len()));
    assert!(d.regs.receive(&frame));
    let mut rb = [RxBuf::default(); 4];
    let pkt = p.rx_done.receive(&mut p.rx, &mut rb).unwrap();
    assert_eq!(pkt.descs, 3);
    assert_eq!(
        rb[..3].iter().map(|b| b.len).collect::<Vec<_>>(),
        vec![1024, 1024, 952]
    );
    let mut got = Vec::new();
    for b in &rb[..3] {
        let mut part = vec![0u8; b.len as usize];
        bufs.read((DEPTH + b.req_id) as usize * 2048, &mut part);
        got.extend(part);
    }
    assert_eq!(got, frame);
    assert_eq!(vector_irqs(&host), 1);
    assert!(!d.regs.can_receive(2000), "one 1024-byte buffer left");
}

#[test]
fn statistics_mtu_and_link_settings_answer_what_ethtool_asks() {
    let (mut d, _host, mut p, mut bufs) = with_irq_pair();
    send(&mut d, &mut p, &mut bufs, 0, &[1; 100]);
    send(&mut d, &mut p, &mut bufs, 1, &[1; 200]);
    let mut basic = Command::new(opcode::GET_STATS);
    basic.put(16, &[0]);
    let c = d.admin_command(&basic).unwrap();
    let word = |i: usize| u64::from_le_bytes(c.0[8 + 8 * i..16 + 8 * i].try_into().unwrap());
    assert_eq!((word(0), word(1)), (300, 2), "tx bytes and packets");
    let mut eni = Command::new(opcode::GET_STATS);
    eni.put(16, &[2]);
    assert!(
        d.admin_command(&eni).is_ok(),
        "ENI stats: the capability the device advertises"
    );

    let mut mtu = Command::new(opcode::SET_FEATURE);
    mtu.put(17, &[14]).put(20, &9000u32.to_le_bytes());
    assert!(d.admin_command(&mtu).is_ok());
    mtu.put(20, &9217u32.to_le_bytes());
    assert_eq!(
        d.admin_command(&mtu).err(),
        Some(AdminError::IllegalParameter),
        "above max_mtu"
    );

    let mut link = Command::new(opcode::GET_FEATURE);
    link.put(17, &[27]);
    let c = d.admin_command(&link).unwrap();
    assert_eq!(
        u32::from_le_bytes(c.0[8..12].try_into().unwrap()),
        25_000,
        "Mbit/s"
    );
}

#[test]
fn the_test_port_switches_faults_that_a_reset_clears() {
    let (mut d, host, _p, _bufs) = with_irq_pair();
    d.regs
        .write32(test_port::FAULTS, test_port::WITHHOLD_KEEP_ALIVE);
    assert_eq!(
        d.regs.read32(test_port::FAULTS),
        test_port::WITHHOLD_KEEP_ALIVE
    );
    let before = host.irqs.borrow().len();
    d.regs.keep_alive();
    assert_eq!(host.irqs.borrow().len(), before, "no event, no interrupt");
    let resets = d.regs.read32(test_port::RESETS);
    // ena_com_dev_reset with reason 4 (KEEP_ALIVE_TO) in DEV_CTL's top bits.
    d.regs.write32(regs::DEV_CTL, 1 | 4 << 28);
    d.regs.write32(regs::DEV_CTL, 0);
    assert_eq!(d.regs.read32(test_port::RESETS), resets + 1);
    assert_eq!(d.regs.read32(test_port::LAST_RESET_REASON), 4);
    assert_eq!(
        d.regs.read32(test_port::FAULTS),
        0,
        "a device reset clears the keep-alive fault"
    );
    d.regs.hw_reset();
    assert_eq!(
        d.regs.read32(test_port::RESETS),
        resets + 1,
        "a PCI reset is not a driver's reset"
    );
}

/// What `ena_down` sends for a pair: the two SQs, then the two CQs.
fn destroy_pair(d: &mut Driver, p: &IoPair<BusMem>) {
    use ena_core::admin_defs::{DestroyCqCmd, DestroySqCmd};
    for sq in [p.tx_sq_idx, p.rx_sq_idx] {
        d.admin_command(&Command::from_wire(
            opcode::DESTROY_SQ,
            &DestroySqCmd {
                sq_idx: sq,
                ..Default::default()
            },
        ))
        .unwrap();
    }
    for cq in [p.tx_cq_idx, p.rx_cq_idx] {
        d.admin_command(&Command::from_wire(
            opcode::DESTROY_CQ,
            &DestroyCqCmd {
                cq_idx: cq,
                ..Default::default()
            },
        ))
        .unwrap();
    }
}

#[test]
fn link_down_up_cycles_reuse_queue_slots_and_the_limit_holds() {
    let (mut d, _host, p, _bufs) = with_irq_pair();
    let first = (p.tx_doorbell, p.unmask_reg);
    destroy_pair(&mut d, &p);
    // ip link set down/up, a hundred times: the same slots, the same registers.
    for _ in 0..100 {
        let p = d.create_pair_on(DEPTH, Some(VECTOR)).unwrap();
        assert_eq!((p.tx_doorbell, p.unmask_reg), first);
        destroy_pair(&mut d, &p);
    }
    // Eight pairs exist at most (max_sq_num, max_cq_num): the bring-up pair and seven more.
    let pairs: Vec<_> = (0..7)
        .map(|_| d.create_pair_on(DEPTH, Some(VECTOR)).unwrap())
        .collect();
    assert!(pairs
        .iter()
        .all(|p| p.tx_doorbell < ena_model::CQ_UNMASK_BASE && p.unmask_reg < test_port::FAULTS));
    assert!(
        d.create_pair_on(DEPTH, Some(VECTOR)).is_err(),
        "a ninth pair is refused"
    );
    assert!(
        d.create_pair_on(2048, None).is_err(),
        "deeper than MAX_QUEUES_NUM allows"
    );
}

#[test]
fn a_packet_is_sent_only_whole_and_never_longer_than_the_mtu_allows() {
    let (mut d, host, mut p, mut bufs) = with_irq_pair();
    // Descriptors posted, doorbell rung before the LAST one: nothing yet.
    bufs.write(0, &[7; 2000]);
    let b = [
        TxBuf {
            paddr: bufs.phys(),
            len: 1000,
        },
        TxBuf {
            paddr: bufs.phys() + 1000,
            len: 1000,
        },
    ];
    p.tx.prepare(&TxCtx {
        bufs: &b,
        req_id: 0,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail - 1);
    assert!(
        host.sent.borrow().is_empty(),
        "half a packet is not a frame"
    );
    d.doorbell(db, tail);
    assert_eq!(host.sent.borrow().len(), 1);
    assert_eq!(host.sent.borrow()[0].len(), 2000);
    // 9216 + 18 is the longest frame: one byte more is completed, not sent.
    let big = d.alloc.alloc(9300);
    let b = [TxBuf {
        paddr: big.phys(),
        len: 9235,
    }];
    p.tx.prepare(&TxCtx {
        bufs: &b,
        req_id: 1,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    assert_eq!(host.sent.borrow().len(), 1);
    assert_eq!(d.regs.stats.tx_drops, 1);
    assert_eq!(p.tx_done.next_completed(), Ok(0));
    assert_eq!(
        p.tx_done.next_completed(),
        Ok(1),
        "the dropped packet is still completed: the driver frees it"
    );
}

#[test]
fn a_received_frame_longer_than_the_mtu_allows_is_dropped_not_queued() {
    let (mut d, _host, mut p, bufs) = with_irq_pair();
    post_rx(&mut d, &mut p, &bufs, 0..8, 2048);
    assert!(d.regs.receive(&vec![0u8; 9235]), "taken off the wire");
    assert_eq!((d.regs.stats.rx_pkts, d.regs.stats.rx_drops), (0, 1));
    // Buffers so small a frame would need more than the driver's 19.
    let (mut d, _host) = device();
    d.bring_up(DEPTH, 0).unwrap();
    let mut p = d.create_pair_on(32, Some(VECTOR)).unwrap();
    let small = d.alloc.alloc(31 * 64);
    for id in 0..31 {
        p.rx.add(small.phys() + id as u64 * 64, 64, id).unwrap();
    }
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
    assert!(
        d.regs.can_receive(64 * 19 + 1),
        "not waiting for buffers: it will be dropped"
    );
    assert!(
        d.regs.receive(&vec![0u8; 64 * 19 + 1]),
        "can never fit 64-byte buffers: dropped"
    );
    assert!(
        d.regs.receive(&vec![1u8; 64 * 19]),
        "19 buffers: the most a packet may take"
    );
    assert_eq!((d.regs.stats.rx_pkts, d.regs.stats.rx_drops), (1, 1));
}

#[test]
fn a_pci_reset_is_power_on_and_bad_ring_sizes_do_not_crash_the_device() {
    let (mut d, _host, _p, _bufs) = with_irq_pair();
    d.regs.write32(
        test_port::FAULTS,
        test_port::WITHHOLD_COMPLETION | test_port::WRONG_COMPLETION_ID,
    );
    d.regs.hw_reset();
    assert_eq!(
        d.regs.read32(test_port::FAULTS),
        0,
        "an armed fault must not survive a reboot"
    );
    assert_eq!(d.regs.queues(), (0, 0));
    // An ACQ of depth 0 and an AQ of depth 3: the doorbell does nothing.
    let before = d.regs.stats.admin_commands;
    d.regs.write32(regs::AQ_CAPS, 3 | 64 << 16);
    d.regs.write32(regs::ACQ_CAPS, 64 << 16);
    d.regs.write32(regs::AQ_DB, 1);
    assert_eq!(d.regs.stats.admin_commands, before);
}

fn tcp_frame(sport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 20];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    f[14 + 9] = 6;
    f[14 + 12..14 + 20].copy_from_slice(&[198, 51, 100, 20, 198, 51, 100, 10]);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&5201u16.to_be_bytes());
    f
}

#[test]
fn the_indirection_table_steers_each_flow_to_its_queue_with_its_hash() {
    use ena_model::rss::{flow_input, toeplitz, DEFAULT_KEY};
    let (mut d, _host) = device();
    let (_, mut p0) = d.bring_up(DEPTH, 0).unwrap();
    let mut p1 = d.create_pair_on(DEPTH, Some(VECTOR)).unwrap();
    // ena_com_indirect_table_allocate: 2^7 entries, the only size offered.
    let mut get = Command::new(opcode::GET_FEATURE);
    get.put(17, &[12]);
    let c = d.admin_command(&get).unwrap();
    assert_eq!((c.0[8], c.0[10]), (7, 7), "min and max log size");
    // ena_com_indirect_table_set: even entries to queue 0, odd to queue 1.
    let mut table = d.alloc.alloc(128 * 4);
    for i in 0..128 {
        let q = if i % 2 == 0 {
            p0.rx_sq_idx
        } else {
            p1.rx_sq_idx
        };
        table.write(i * 4, &q.to_le_bytes());
    }
    let mut set = Command::new(opcode::SET_FEATURE);
    // The control buffer: length, then its address (the queue sets the flags).
    set.put(4, &(128u32 * 4).to_le_bytes())
        .put(8, &(table.phys() as u32).to_le_bytes())
        .put(12, &((table.phys() >> 32) as u16).to_le_bytes())
        .put(17, &[12])
        .put(24, &7u16.to_le_bytes())
        .put(28, &u32::MAX.to_le_bytes());
    d.admin_command(&set).expect("the table is accepted");
    // ethtool -x reads it back through a control buffer.
    let back = d.alloc.alloc(128 * 4);
    get.put(4, &(128u32 * 4).to_le_bytes())
        .put(8, &(back.phys() as u32).to_le_bytes())
        .put(12, &((back.phys() >> 32) as u16).to_le_bytes());
    d.admin_command(&get).unwrap();
    let (mut a, mut b) = ([0u8; 8], [0u8; 8]);
    back.read(0, &mut a);
    table.read(0, &mut b);
    assert_eq!(a, b);

    let bufs = d.alloc.alloc(2 * DEPTH as usize * 2048);
    for (p, base) in [(&mut p0, 0u64), (&mut p1, DEPTH as u64)] {
        for id in 0..DEPTH - 1 {
            p.rx.add(bufs.phys() + (base + id as u64) * 2048, 2048, id)
                .unwrap();
        }
        let (db, tail) = (p.rx_doorbell, p.rx.tail());
        d.doorbell(db, tail);
    }
    let mut per_queue = [0, 0];
    for sport in 40000..40010 {
        let f = tcp_frame(sport);
        let hash = toeplitz(&DEFAULT_KEY, &flow_input(&f).unwrap());
        assert!(d.regs.receive(&f));
        let want = (hash & 127) as usize % 2;
        let p = if want == 0 { &mut p0 } else { &mut p1 };
        let mut rb = [RxBuf::default(); 2];
        let pkt = p.rx_done.receive(&mut p.rx, &mut rb).unwrap();
        assert_eq!(
            (pkt.descs, pkt.hash),
            (1, hash),
            "port {sport} belongs to queue {want}"
        );
        per_queue[want] += 1;
    }
    assert!(
        per_queue[0] > 0 && per_queue[1] > 0,
        "ten flows, both queues: {per_queue:?}"
    );
}

#[test]
fn the_test_port_cuts_and_restores_the_link_with_events() {
    let (mut d, host, mut p, mut bufs) = with_irq_pair();
    assert_eq!(d.regs.read32(test_port::LINK), 1);
    d.regs.write32(test_port::LINK, 0);
    assert_eq!(d.regs.read32(test_port::LINK), 0);
    send(&mut d, &mut p, &mut bufs, 0, &[1; 60]);
    assert!(host.sent.borrow().is_empty(), "a cut wire carries nothing");
    d.regs.write32(test_port::LINK, 0);
    d.regs.write32(test_port::LINK, 7);
    d.regs.write32(test_port::LINK, 1);
    let mut events = Vec::new();
    d.poll_events(|e| events.push(e));
    use ena_core::aenq::Event;
    assert_eq!(
        events,
        vec![
            Event::LinkChange { up: true },
            Event::LinkChange { up: false },
            Event::LinkChange { up: true }
        ],
        "bring-up's event, then one per change"
    );
    send(&mut d, &mut p, &mut bufs, 1, &[1; 60]);
    assert_eq!(host.sent.borrow().len(), 1);
}

#[test]
fn withheld_tx_completions_still_send_and_a_reset_ends_the_fault() {
    let (mut d, host, mut p, mut bufs) = with_irq_pair();
    d.regs
        .write32(test_port::FAULTS, test_port::WITHHOLD_TX_COMPLETIONS);
    send(&mut d, &mut p, &mut bufs, 0, &[1; 60]);
    assert_eq!(host.sent.borrow().len(), 1, "the frame goes out");
    assert_eq!(
        p.tx_done.next_completed(),
        Err(ena_core::Error::NotReady),
        "but is never completed"
    );
    assert_eq!(vector_irqs(&host), 0);
    d.regs.write32(regs::DEV_CTL, 1);
    d.regs.write32(regs::DEV_CTL, 0);
    assert_eq!(d.regs.read32(test_port::FAULTS), 0);
}

#[test]
fn the_frame_limit_is_the_mtu_the_driver_set_not_the_devices_maximum() {
    let (mut d, host, mut p, mut bufs) = with_irq_pair();
    let mut mtu = Command::new(opcode::SET_FEATURE);
    mtu.put(17, &[14]).put(20, &1500u32.to_le_bytes());
    d.admin_command(&mtu).unwrap();
    bufs.write(0, &[5; 1519]);
    for (id, len) in [(0u16, 1518u16), (1, 1519)] {
        p.tx.prepare(&TxCtx {
            bufs: &[TxBuf {
                paddr: bufs.phys(),
                len,
            }],
            req_id: id,
            ..Default::default()
        })
        .unwrap();
    }
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    assert_eq!(host.sent.borrow().len(), 1, "1500 + 18 is the longest");
    assert_eq!(d.regs.stats.tx_drops, 1);
    post_rx(&mut d, &mut p, &bufs, 0..4, 2048);
    assert!(d.regs.receive(&[0u8; 1519]));
    assert_eq!((d.regs.stats.rx_pkts, d.regs.stats.rx_drops), (0, 1));
    assert!(d.regs.receive(&[0u8; 1518]));
    assert_eq!(d.regs.stats.rx_pkts, 1);
}
