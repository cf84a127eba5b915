//! The protocol checker, one check at a time: a driver action that breaks
//! what the headers and ena_com require trips it (counted, its first
//! instance kept, readable through the test port), and ena-core, which
//! keeps the protocol, trips none. With `Response::RequestReset` the
//! device answers as hardware would: DEVICE_REQUEST_RESET, once per reset.

use ena_core::admin::{opcode, Command};
use ena_core::admin_defs::{create_cq, CreateCqCmd, DestroyCqCmd, FeatCmd};
use ena_core::defs::{rx_desc, tx_desc, RxDesc, TxDesc};
use ena_core::device::{aenq_group, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::regs::{self, Registers};
use ena_core::wire::Wire;
use ena_model::{
    check, test_port, Bus, BusAlloc, BusMem, Instance, Model, ModelConfig, Response, VirtualClock,
    CQ_UNMASK_BASE, SQ_DOORBELL_BASE,
};

const DEPTH: u16 = 16;
mod support;
use support::{send_edited, Driver};

fn device(config: ModelConfig) -> (Driver, Bus, IoPair<BusMem>, BusMem) {
    let bus = Bus::new(8 << 20, 0x2_0000_0000);
    let mut d = Ena::new(
        Model::new(&bus, config),
        BusAlloc::new(&bus),
        VirtualClock::default(),
    );
    let groups = aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE | 1 << 7;
    let (_, p) = d.bring_up(DEPTH, groups).unwrap();
    let bufs = d.alloc.alloc(1 << 20);
    assert_eq!(
        d.regs.violations().total(),
        0,
        "bring-up keeps the protocol"
    );
    (d, bus, p, bufs)
}

fn ready() -> (Driver, Bus, IoPair<BusMem>, BusMem) {
    device(ModelConfig::default())
}

/// Posts one 64-byte packet; `edit` may break its descriptor before the
/// doorbell.
fn send(
    d: &mut Driver,
    p: &mut IoPair<BusMem>,
    bufs: &BusMem,
    id: u16,
    edit: impl Fn(&mut TxDesc),
) {
    send_edited(d, p, bufs, DEPTH, id, edit)
}

/// Exactly one check fired, `times` times.
fn only(d: &Driver, c: u32, times: u64) -> Instance {
    let v = d.regs.violations();
    assert_eq!(
        (v.count(c), v.total()),
        (times, times),
        "{} expected, found {:?}",
        check::NAMES[c as usize],
        v.report()
    );
    v.first(c).unwrap()
}

#[test]
fn ena_core_keeps_the_protocol_through_traffic_both_ways() {
    let (mut d, _bus, mut p, bufs) = ready();
    for id in 0..DEPTH - 1 {
        p.rx.add(bufs.phys() + 0x8000 + id as u64 * 2048, 2048, id)
            .unwrap();
    }
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
    for n in 0..200u16 {
        send(&mut d, &mut p, &bufs, n % 8, |_| {});
        assert_eq!(p.tx_done.next_completed(), Ok(n % 8));
        p.tx.ack(1);
    }
    assert_eq!(
        d.regs.violations().total(),
        0,
        "{:?}",
        d.regs.violations().report()
    );
}

#[test]
fn each_broken_tx_descriptor_names_its_check_and_where() {
    type Break = fn(&mut TxDesc);
    let cases: [(u32, Break); 5] = [
        (check::TX_NO_COMP_REQ, |t| {
            t.len_ctrl &= !tx_desc::COMP_REQ_MASK
        }),
        (check::TX_FRAMING, |t| t.len_ctrl &= !tx_desc::FIRST_MASK),
        (check::TX_MBZ, |t| t.len_ctrl |= 1 << 22),
        (check::TX_ZERO_LENGTH, |t| {
            t.len_ctrl &= !tx_desc::LENGTH_MASK
        }),
        (check::TX_HEADER_TOO_LONG, |t| {
            t.buff_addr_hi_hdr_sz |= 200 << tx_desc::HEADER_LENGTH_SHIFT
        }),
    ];
    for (c, edit) in cases {
        let (mut d, _bus, mut p, bufs) = ready();
        send(&mut d, &mut p, &bufs, 0, |_| {});
        send(&mut d, &mut p, &bufs, 1, edit);
        let at = only(&d, c, 1);
        assert_eq!(
            (at.queue, at.slot),
            (p.tx_sq_idx, 1),
            "{}",
            check::NAMES[c as usize]
        );
        assert_eq!(d.regs.violations().first_check(), Some(c));
    }
}

#[test]
fn a_packet_without_last_runs_into_the_next_ones_first() {
    let (mut d, _bus, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 0, |t| {
        t.len_ctrl &= !tx_desc::LAST_MASK
    });
    send(&mut d, &mut p, &bufs, 1, |_| {});
    assert_eq!(
        only(&d, check::TX_FRAMING, 1).slot,
        1,
        "FIRST inside a packet"
    );
}

#[test]
fn request_ids_must_be_within_the_queue_and_not_still_out() {
    let (mut d, _bus, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, DEPTH, |_| {});
    assert_eq!(only(&d, check::TX_REQ_ID_RANGE, 1).value, DEPTH as u32);

    // Completions deferred: the first packet with id 3 is still out when
    // the second one comes.
    let (mut d, _bus, mut p, bufs) = device(ModelConfig {
        tx_completion_window: 4,
        ..Default::default()
    });
    send(&mut d, &mut p, &bufs, 3, |_| {});
    send(&mut d, &mut p, &bufs, 3, |_| {});
    assert_eq!(only(&d, check::TX_REQ_ID_REUSED, 1).value, 3);
    d.regs.run_deferred();
    send(&mut d, &mut p, &bufs, 3, |_| {});
    assert_eq!(
        d.regs.violations().total(),
        1,
        "completed: the id is free again"
    );
}

#[test]
fn frames_past_the_mtu_and_packets_past_the_descriptor_limit() {
    let (mut d, _bus, mut p, bufs) = ready();
    let mut mtu = Command::new(opcode::SET_FEATURE);
    mtu.put(17, &[14]).put(20, &40u32.to_le_bytes());
    d.admin_command(&mtu).unwrap();
    send(&mut d, &mut p, &bufs, 0, |_| {});
    assert_eq!(
        only(&d, check::TX_ABOVE_MTU, 1).value,
        64,
        "64 bytes > 40 + 18"
    );

    // 33 descriptors in one packet (max_packet_tx_descs is 32), written
    // as a driver would that ignored the limit: a ring of 64.
    let (mut d, _bus, _p, bufs) = ready();
    let mut q = d.create_pair(64).unwrap();
    for i in 0..33u32 {
        let mut t = TxDesc {
            len_ctrl: 1 << tx_desc::PHASE_SHIFT | tx_desc::COMP_REQ_MASK | 60,
            buff_addr_lo: bufs.phys() as u32,
            buff_addr_hi_hdr_sz: (bufs.phys() >> 32) as u32,
            ..Default::default()
        };
        if i == 0 {
            t.len_ctrl |= tx_desc::FIRST_MASK;
        }
        if i == 32 {
            t.len_ctrl |= tx_desc::LAST_MASK;
        }
        q.tx.ring_mut().store(i as usize * 16, &t);
    }
    d.doorbell(q.tx_doorbell, 33);
    assert_eq!(only(&d, check::TX_TOO_MANY_DESCS, 1).value, 33);
}

#[test]
fn a_doorbell_before_its_descriptor_is_a_stale_phase() {
    let (mut d, _bus, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 0, |t| {
        t.len_ctrl ^= tx_desc::PHASE_MASK
    });
    let at = only(&d, check::STALE_PHASE, 1);
    assert_eq!((at.queue, at.slot), (p.tx_sq_idx, 0));
}

#[test]
fn doorbells_must_move_forward_within_the_ring_of_a_live_queue() {
    let (mut d, _bus, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 0, |_| {});
    send(&mut d, &mut p, &bufs, 1, |_| {});
    d.doorbell(p.tx_doorbell, 1);
    assert_eq!(only(&d, check::DOORBELL_BACKWARDS, 1).value, 1);
    d.doorbell(p.tx_doorbell, 2 + DEPTH + 1);
    assert_eq!(d.regs.violations().count(check::DOORBELL_OVERFILL), 1);
    d.doorbell(SQ_DOORBELL_BASE + 4 * 9, 1);
    assert_eq!(
        d.regs
            .violations()
            .first(check::DOORBELL_UNKNOWN_QUEUE)
            .unwrap()
            .queue,
        9
    );
}

#[test]
fn rx_descriptors_are_checked_when_posted() {
    let (mut d, bus, mut p, bufs) = ready();
    p.rx.add(bufs.phys(), 2048, 0).unwrap();
    p.rx.add(bufs.phys() + 2048, 2048, 0).unwrap();
    // The second one loses its LAST bit as well.
    let ring = p.rx.ring().phys();
    let mut b = [0u8; 16];
    bus.read(ring + 16, &mut b);
    let mut desc = RxDesc::decode(&b);
    desc.ctrl &= !rx_desc::LAST_MASK;
    desc.encode(&mut b);
    bus.write(ring + 16, &b);
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
    let v = d.regs.violations();
    assert_eq!(v.count(check::RX_REQ_ID_REUSED), 1, "id 0 posted twice");
    assert_eq!(v.first(check::RX_DESC_FLAGS).unwrap().slot, 1);
    assert_eq!(v.total(), 2);
}

#[test]
fn dma_past_the_width_or_outside_memory_is_reported() {
    // A device of 40 address bits, sent a buffer at 2^40 + 8 GiB.
    let (mut d, _bus, mut p, bufs) = device(ModelConfig {
        dma_width: 40,
        ..Default::default()
    });
    send(&mut d, &mut p, &bufs, 0, |t| t.buff_addr_hi_hdr_sz |= 0x100);
    assert_eq!(
        only(&d, check::DMA_OUTSIDE, 1).slot,
        0x102,
        "address bits 47:32"
    );
    // Within the width but not memory (the bus starts at 8 GiB).
    let (mut d, _bus, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 0, |t| {
        t.buff_addr_hi_hdr_sz &= !0xffff
    });
    assert_eq!(only(&d, check::DMA_OUTSIDE, 1).slot, 0);
}

#[test]
fn admin_commands_keep_to_features_offered_and_ids_not_in_flight() {
    let (mut d, _bus, _p, _bufs) = ready();
    // RSS_HASH_FUNCTION (10) is not in supported_features.
    let cmd = FeatCmd {
        feature_id: 10,
        ..Default::default()
    };
    assert!(d
        .admin_command(&Command::from_wire(opcode::GET_FEATURE, &cmd))
        .is_err());
    assert_eq!(only(&d, check::FEATURE_NOT_OFFERED, 1).value, 10);

    let (mut d, _bus, _p, _bufs) = ready();
    d.regs
        .write32(test_port::FAULTS, test_port::WITHHOLD_COMPLETION);
    let attrs = Command::from_wire(
        opcode::GET_FEATURE,
        &FeatCmd {
            feature_id: 1,
            ..Default::default()
        },
    );
    assert!(d.admin_command(&attrs).is_err(), "withheld: a timeout");
    assert_eq!(
        d.regs.violations().total(),
        0,
        "a timeout is the device's doing"
    );
    // ena-core's ids wrap at 4096: the withheld one comes round again.
    for _ in 0..4096 {
        d.admin_command(&attrs).unwrap();
    }
    assert_eq!(d.regs.violations().count(check::ADMIN_ID_REUSED), 1);
}

#[test]
fn reset_queue_and_register_misuse() {
    let (mut d, _bus, p, _bufs) = ready();
    let destroy = DestroyCqCmd {
        cq_idx: p.tx_cq_idx,
        ..Default::default()
    };
    d.admin_command(&Command::from_wire(opcode::DESTROY_CQ, &destroy))
        .unwrap();
    assert_eq!(
        only(&d, check::CQ_DESTROYED_BEFORE_SQ, 1).queue,
        p.tx_cq_idx
    );

    let (mut d, _bus, _p, _bufs) = ready();
    assert!(
        d.create_pair_on(DEPTH, Some(9)).is_ok(),
        "refused only by the checker"
    );
    assert_eq!(only(&d, check::MSIX_OUT_OF_TABLE, 2).value, 9, "both CQs");

    // A polled queue's -1, with the mode bit ena_com always sets, is no
    // vector at all: DPDK's PMD creates its queues so, on EC2 too.
    let (mut d, _bus, _p, bufs) = ready();
    let polled = CreateCqCmd {
        cq_caps_1: create_cq::INTERRUPT_MODE_ENABLED_MASK,
        cq_caps_2: 4,
        cq_depth: DEPTH,
        msix_vector: u32::MAX,
        cq_ba_lo: bufs.phys() as u32,
        cq_ba_hi: (bufs.phys() >> 32) as u16,
        ..Default::default()
    };
    d.admin_command(&Command::from_wire(opcode::CREATE_CQ, &polled))
        .unwrap();
    assert_eq!(d.regs.violations().total(), 0, "-1 is no vector");

    let (mut d, _bus, _p, _bufs) = ready();
    d.regs.write32(CQ_UNMASK_BASE + 4 * 12, 1 << 30);
    assert_eq!(only(&d, check::UNMASK_UNKNOWN_CQ, 1).queue, 12);

    let (mut d, _bus, _p, _bufs) = ready();
    d.regs.write32(regs::AENQ_HEAD_DB, 1000);
    assert_eq!(only(&d, check::AENQ_HEAD_BEYOND_TAIL, 1).value, 1000);

    let (mut d, _bus, _p, _bufs) = ready();
    d.regs.write32(regs::DEV_CTL, 1 | 1 << 24);
    assert_eq!(only(&d, check::RESET_REASON_RANGE, 1).value, 1 | 1 << 24);
    d.regs.write32(regs::AQ_DB, 1);
    assert_eq!(d.regs.violations().count(check::COMMAND_DURING_RESET), 1);
}

#[test]
fn the_test_port_shows_the_count_and_the_first_instance() {
    let (mut d, _bus, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 0, |_| {});
    send(&mut d, &mut p, &bufs, 1, |t| t.len_ctrl |= 1 << 25);
    let mut read = |c: u32| {
        d.regs.write32(test_port::COUNTER_SELECT, c);
        d.regs.read32(test_port::COUNTER)
    };
    use test_port::counter::*;
    assert_eq!(read(VIOLATIONS), 1);
    assert_eq!(read(FIRST_CHECK), check::TX_MBZ + 1);
    assert_eq!(read(CHECK_BASE + check::TX_MBZ), 1);
    assert_eq!(
        read(FIRST_BASE + 2 * check::TX_MBZ),
        (p.tx_sq_idx as u32) << 16 | 1
    );
    assert_ne!(read(FIRST_BASE + 2 * check::TX_MBZ + 1) & 1 << 25, 0);
}

#[test]
fn answered_as_hardware_would_one_reset_request_per_reset() {
    let (mut d, _bus, mut p, bufs) = device(ModelConfig {
        checker_response: Response::RequestReset,
        ..Default::default()
    });
    d.poll_events(|_| {}); // the link event
    send(&mut d, &mut p, &bufs, 0, |t| t.len_ctrl |= 1 << 22);
    send(&mut d, &mut p, &bufs, 1, |t| t.len_ctrl |= 1 << 22);
    let mut seen = Vec::new();
    d.poll_events(|e| seen.push(e));
    assert_eq!(
        seen,
        vec![ena_core::aenq::Event::Unhandled {
            group: 7,
            syndrome: 0
        }],
        "one DEVICE_REQUEST_RESET for two violations"
    );
    assert_eq!(d.regs.violations().total(), 2);
}
