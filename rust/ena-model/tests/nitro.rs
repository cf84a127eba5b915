//! The paths a Nitro device makes Linux's drivers take besides LLQ, each as
//! the driver meets it: checksums finished on Tx from the meta descriptor
//! (or the one the queue kept) and checked on Rx; interrupts held back by
//! the unmask register's delays; HW hints, MAX_QUEUES_EXT, interrupt
//! moderation and customer metrics offered as features; an UPDATE_HINTS
//! notification; the Rx offset; frames without buffers dropped and counted.

use std::rc::Rc;

use ena_core::admin::{feature, opcode, AdminError, Command};
use ena_core::admin_defs::{
    create_cq, create_sq, host_feature, split_addr, to_raw, CreateCqCmd, CreateSqCmd, FeatCmd,
    HostInfo, HwHints, IntrModerDesc, QueueExtFeatureDesc, SetFeatureHostAttrDesc,
};
use ena_core::defs::{proto, rx_cdesc};
use ena_core::device::{aenq_group, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::regs::Registers;
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx, TxMeta};
use ena_core::wire::Wire;
use ena_model::{test_port, Bus, BusAlloc, BusMem, Model, ModelConfig, VirtualClock};

const DEPTH: u16 = 16;
const VECTOR: u16 = 1;

mod support;
use support::{Driver, Recorder as Host};

fn device(config: ModelConfig) -> (Driver, Rc<Host>, IoPair<BusMem>, BusMem) {
    let bus = Bus::new(8 << 20, 0x1_0000_0000);
    let host = Host::new(&bus);
    let model = Model::with_platform(host.clone(), config);
    let mut d = Ena::new(model, BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(
        DEPTH,
        aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE | aenq_group::NOTIFICATION,
    )
    .unwrap();
    let p = d.create_pair_on(DEPTH, Some(VECTOR)).unwrap();
    let bufs = d.alloc.alloc(4 * DEPTH as usize * 2048);
    host.irqs.borrow_mut().clear();
    (d, host, p, bufs)
}

fn ones(data: &[u8], mut acc: u32) -> u32 {
    for w in data.chunks(2) {
        acc += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
    }
    acc
}
fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Ethernet + IPv4 + UDP with `payload`: checksums correct, or (partial)
/// the UDP field holding the pseudo header's sum, as the stack hands a
/// device with Tx checksum offload.
fn udp4(payload: &[u8], partial: bool) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&((28 + payload.len()) as u16).to_be_bytes());
    ip.extend([198, 51, 100, 10, 198, 51, 100, 20]);
    let c = !fold(ones(&ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut udp = vec![0x30, 0x39, 0x14, 0x51, 0, 0, 0, 0];
    udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend(payload);
    let pseudo = ones(&ip[12..20], udp.len() as u32 + 17);
    let c = if partial {
        fold(pseudo)
    } else {
        !fold(ones(&udp, pseudo))
    };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    f.extend(ip);
    f.extend(udp);
    f
}

/// `ena_tx_csum` for a CHECKSUM_PARTIAL UDP/IPv4 skb.
fn send_partial(d: &mut Driver, p: &mut IoPair<BusMem>, bufs: &mut BusMem, id: u16, frame: &[u8]) {
    bufs.write(id as usize * 2048, frame);
    let b = [TxBuf {
        paddr: bufs.phys() + id as u64 * 2048,
        len: frame.len() as u16,
    }];
    p.tx.prepare(&TxCtx {
        bufs: &b,
        req_id: id,
        meta: TxMeta {
            l3_hdr_len: 20,
            l3_hdr_offset: 14,
            ..Default::default()
        },
        meta_valid: true,
        l3_proto: proto::L3_IPV4,
        l4_proto: proto::L4_UDP,
        l4_csum: true,
        l4_csum_partial: true,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
}

fn post_rx(d: &mut Driver, p: &mut IoPair<BusMem>, bufs: &BusMem, n: u16) {
    for id in 0..n {
        p.rx.add(bufs.phys() + (DEPTH + id) as u64 * 2048, 2048, id)
            .unwrap();
    }
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
}

fn get_feature(d: &mut Driver, id: u8, version: u8) -> Result<[u8; 64], AdminError> {
    let mut c = Command::new(opcode::GET_FEATURE);
    c.put(17, &[id]).put(18, &[version]);
    d.admin_command(&c).map(|c| c.0)
}

#[test]
fn the_device_finishes_a_partial_checksum_from_the_meta_it_was_sent_or_kept() {
    let (mut d, host, mut p, mut bufs) = device(ModelConfig::default());
    for id in 0..3 {
        send_partial(&mut d, &mut p, &mut bufs, id, &udp4(&[id as u8; 21], true));
    }
    let sent = host.sent.borrow();
    for (id, f) in sent.iter().enumerate() {
        assert_eq!(f, &udp4(&[id as u8; 21], false), "packet {id} left whole");
    }
    // Host placement caches the meta: only the first packet carried one.
    assert_eq!(d.regs.stats.tx_csum_offloads, 3);
    assert_eq!(d.regs.stats.cached_meta_uses, 2);
}

#[test]
fn received_frames_carry_their_protocols_and_checksum_verdicts() {
    let (mut d, _host, mut p, bufs) = device(ModelConfig::default());
    post_rx(&mut d, &mut p, &bufs, 2);
    let good = udp4(b"twelve bytes", false);
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 0x80;
    assert!(d.regs.receive(&good) && d.regs.receive(&bad));
    let mut out = [RxBuf::default(); 4];
    let first = p.rx_done.receive(&mut p.rx, &mut out).unwrap();
    assert_eq!(
        (first.l3_proto, first.l4_proto),
        (proto::L3_IPV4, proto::L4_UDP)
    );
    assert!(first.l4_csum_checked && !first.l4_csum_err && !first.l3_csum_err && !first.frag);
    let second = p.rx_done.receive(&mut p.rx, &mut out).unwrap();
    assert!(
        second.l4_csum_checked && second.l4_csum_err,
        "a flipped bit is seen"
    );
    // Every completion says a buffer was used (not a metadata descriptor).
    let cq = p.rx_done.ring_mut();
    let mut status = [0u8; 4];
    cq.read(0, &mut status);
    assert_ne!(u32::from_le_bytes(status) & rx_cdesc::BUFFER_MASK, 0);
}

#[test]
fn an_interrupt_waits_out_the_delay_the_last_unmask_set() {
    let (mut d, host, mut p, mut bufs) = device(ModelConfig::default());
    let irqs = |h: &Host| h.irqs.borrow().iter().filter(|v| **v == VECTOR).count();
    send_partial(&mut d, &mut p, &mut bufs, 0, &udp4(b"a", true));
    assert_eq!(irqs(&host), 1, "no delay set yet: at once");
    // ena_com_update_intr_reg: Rx delay 0, Tx delay 10 units, unmask.
    d.regs.write32(p.unmask_reg, 10 << 15 | 1 << 30);
    assert_eq!(d.regs.stats.last_intr_delays, (0, 10));
    send_partial(&mut d, &mut p, &mut bufs, 1, &udp4(b"b", true));
    assert_eq!(irqs(&host), 1, "held back by the Tx delay");
    assert_eq!(*host.wakes.borrow(), vec![10], "1 us per unit, from now");
    host.bus.advance(9);
    d.regs.run_timers();
    assert_eq!(irqs(&host), 1, "not yet");
    host.bus.advance(1);
    d.regs.run_timers();
    assert_eq!(irqs(&host), 2);
    assert_eq!(d.regs.stats.moderated_interrupts, 1);
    // NO_MODERATION_UPDATE keeps the delays; a zero delay fires at once.
    d.regs.write32(p.unmask_reg, 1 << 31 | 1 << 30);
    assert_eq!(d.regs.stats.last_intr_delays, (0, 10));
    d.regs.write32(p.unmask_reg, 1 << 30);
    send_partial(&mut d, &mut p, &mut bufs, 2, &udp4(b"c", true));
    assert_eq!(irqs(&host), 3);
}

#[test]
fn the_platform_timer_is_set_again_for_a_vector_still_waiting() {
    let (mut d, host, mut p, mut bufs) = device(ModelConfig::default());
    let mut q = d.create_pair_on(DEPTH, Some(VECTOR + 1)).unwrap();
    let mut qbufs = d.alloc.alloc(DEPTH as usize * 2048);
    d.regs.write32(p.unmask_reg, 10 << 15 | 1 << 30);
    d.regs.write32(q.unmask_reg, 30 << 15 | 1 << 30);
    send_partial(&mut d, &mut p, &mut bufs, 0, &udp4(b"a", true));
    send_partial(&mut d, &mut q, &mut qbufs, 0, &udp4(b"b", true));
    host.bus.advance(10);
    d.regs.run_timers();
    assert_eq!(
        host.wakes.borrow().last(),
        Some(&30),
        "the second vector's due"
    );
    host.bus.advance(20);
    d.regs.run_timers();
    let io: Vec<u16> = host
        .irqs
        .borrow()
        .iter()
        .copied()
        .filter(|v| *v != 0)
        .collect();
    assert_eq!(io, vec![VECTOR, VECTOR + 1]);
}

#[test]
fn hints_queue_limits_moderation_and_metrics_are_offered_as_nitro_offers_them() {
    let (mut d, _host, _p, _bufs) = device(ModelConfig::default());
    let attrs = get_feature(&mut d, feature::DEVICE_ATTRIBUTES, 0).unwrap();
    let supported = u32::from_le_bytes(attrs[16..20].try_into().unwrap());
    for f in [
        feature::HW_HINTS,
        feature::MAX_QUEUES_EXT,
        feature::INTERRUPT_MODERATION,
        feature::LLQ,
    ] {
        assert_ne!(supported & 1 << f, 0, "feature {f} offered");
    }
    let caps = u32::from_le_bytes(attrs[20..24].try_into().unwrap());
    assert_eq!(caps & 0b101, 0b101, "ENI stats and customer metrics");

    let h = HwHints::decode(&get_feature(&mut d, feature::HW_HINTS, 0).unwrap()[8..]);
    assert_eq!(
        (h.driver_watchdog_timeout, h.netdev_wd_timeout),
        (6000, 5000)
    );
    let q =
        QueueExtFeatureDesc::decode(&get_feature(&mut d, feature::MAX_QUEUES_EXT, 1).unwrap()[8..]);
    assert_eq!(
        (q.version, q.max_tx_sq_depth, q.max_rx_sq_depth),
        (1, 1024, 16384)
    );
    assert_eq!(
        get_feature(&mut d, feature::MAX_QUEUES_EXT, 0).err(),
        Some(AdminError::IllegalParameter),
        "only version 1 exists"
    );
    let m =
        IntrModerDesc::decode(&get_feature(&mut d, feature::INTERRUPT_MODERATION, 0).unwrap()[8..]);
    assert_eq!(m.intr_delay_resolution, 1);

    // ena_com_get_customer_metrics: what was asked, into the buffer.
    let buf = d.alloc.alloc(4096);
    let (lo, hi) = split_addr(buf.phys());
    let mut c = Command::new(opcode::GET_STATS);
    c.put(4, &64u32.to_le_bytes())
        .put(8, &lo.to_le_bytes())
        .put(12, &hi.to_le_bytes())
        .put(16, &[4])
        .put(24, &0x3fu64.to_le_bytes());
    let r = d.admin_command(&c).unwrap().0;
    assert_eq!(u64::from_le_bytes(r[8..16].try_into().unwrap()), 0x3f);
    let mut values = [0u8; 48];
    buf.read(0, &mut values);
    let v = |i: usize| u64::from_le_bytes(values[8 * i..8 * i + 8].try_into().unwrap());
    assert_eq!(
        (v(0), v(4), v(5)),
        (0, 0, 300_000),
        "allowances, conntrack available"
    );

    // Turned off, each is answered unsupported, as an older device would.
    let (mut d, _host, _p, _bufs) = device(ModelConfig {
        hw_hints: false,
        max_queues_ext: false,
        intr_delay_resolution: 0,
        ..Default::default()
    });
    for f in [
        feature::HW_HINTS,
        feature::MAX_QUEUES_EXT,
        feature::INTERRUPT_MODERATION,
    ] {
        assert_eq!(
            get_feature(&mut d, f, 1).err(),
            Some(AdminError::UnsupportedOpcode),
            "feature {f}"
        );
    }
}

#[test]
fn rx_rings_may_be_deeper_than_tx_rings_with_max_queues_ext() {
    let (mut d, _host, _p, _bufs) = device(ModelConfig::default());
    let ring = d.alloc.alloc(4096 * 16);
    let (lo, hi) = split_addr(ring.phys());
    let cq = CreateCqCmd {
        cq_caps_2: 4 & create_cq::CQ_ENTRY_SIZE_WORDS_MASK,
        cq_depth: 4096,
        cq_ba_lo: lo,
        cq_ba_hi: hi,
        ..Default::default()
    };
    let r = d
        .admin_command(&Command::from_wire(opcode::CREATE_CQ, &cq))
        .unwrap();
    let cq_idx = u16::from_le_bytes([r.0[8], r.0[9]]);
    let sq = |direction: u8| CreateSqCmd {
        sq_identity: direction << create_sq::SQ_DIRECTION_SHIFT,
        sq_caps_2: create_sq::PLACEMENT_HOST,
        cq_idx,
        sq_depth: 4096,
        sq_ba_lo: lo,
        sq_ba_hi: hi,
        ..Default::default()
    };
    assert!(d
        .admin_command(&Command::from_wire(
            opcode::CREATE_SQ,
            &sq(create_sq::DIRECTION_RX)
        ))
        .is_ok());
    assert_eq!(
        d.admin_command(&Command::from_wire(
            opcode::CREATE_SQ,
            &sq(create_sq::DIRECTION_TX)
        ))
        .err(),
        Some(AdminError::MalformedRequest),
        "Tx stays at 1024"
    );
}

#[test]
fn an_update_hints_notification_carries_the_new_keep_alive_timeout() {
    let (mut d, host, _p, _bufs) = device(ModelConfig::default());
    d.poll_events(|_| {}); // the link event bring-up left
    host.writes.borrow_mut().clear();
    d.regs.write32(test_port::HINTS, 3000);
    let mut seen = Vec::new();
    d.poll_events(|e| seen.push(e));
    assert_eq!(
        seen,
        vec![ena_core::aenq::Event::Unhandled {
            group: 3,
            syndrome: 2
        }],
        "NOTIFICATION, UPDATE_HINTS"
    );
    // The entry's body (written after its first four bytes): the hints
    // at inline_data_w4, byte 16 of the entry.
    let writes = host.writes.borrow();
    let body = &writes.iter().find(|(_, b)| b.len() == 59).unwrap().1;
    let hints = HwHints::decode(&body[11..11 + HwHints::SIZE]);
    assert_eq!(hints.driver_watchdog_timeout, 3000);
    assert_eq!(
        hints.missing_tx_completion_timeout, 5000,
        "the rest as at probe"
    );
}

/// SET_FEATURE HOST_ATTR_CONFIG with `driver_supported_features`.
fn announce(d: &mut Driver, features: u32) {
    let mut page = d.alloc.alloc(4096);
    let mut b = [0u8; HostInfo::SIZE];
    HostInfo {
        os_type: 1,
        driver_supported_features: features,
        ..Default::default()
    }
    .encode(&mut b);
    page.write(0, &b);
    let (lo, hi) = split_addr(page.phys());
    let mut cmd = FeatCmd {
        feature_id: feature::HOST_ATTR_CONFIG,
        ..Default::default()
    };
    cmd.raw = to_raw(&SetFeatureHostAttrDesc {
        os_info_ba_lo: lo,
        os_info_ba_hi: hi,
        ..Default::default()
    });
    d.admin_command(&Command::from_wire(opcode::SET_FEATURE, &cmd))
        .unwrap();
}

#[test]
fn the_rx_offset_applies_once_the_driver_says_it_takes_one() {
    let config = ModelConfig {
        rx_offset: 2,
        ..Default::default()
    };
    let (mut d, host, mut p, bufs) = device(config);
    post_rx(&mut d, &mut p, &bufs, 2);
    let frame = udp4(b"offset", false);
    let mut out = [RxBuf::default(); 4];
    assert!(d.regs.receive(&frame));
    let pkt = p.rx_done.receive(&mut p.rx, &mut out).unwrap();
    assert_eq!(
        pkt.pkt_offset, 0,
        "ena-core's bring-up did not say it takes one"
    );
    announce(&mut d, host_feature::RX_OFFSET);
    assert!(d.regs.receive(&frame));
    let pkt = p.rx_done.receive(&mut p.rx, &mut out).unwrap();
    assert_eq!(pkt.pkt_offset, 2);
    let mut got = vec![0u8; frame.len()];
    host.bus.read(
        bufs.phys() + (DEPTH + out[0].req_id) as u64 * 2048 + 2,
        &mut got,
    );
    assert_eq!(got, frame, "the frame starts at the offset");
    assert_eq!(out[0].len as usize, frame.len());
}

#[test]
fn frames_without_buffers_are_dropped_counted_and_reported_in_the_keep_alive() {
    let (mut d, host, _p, _bufs) = device(ModelConfig::default());
    d.regs.receive_or_overrun(&udp4(b"nobody posted", false));
    d.regs.receive_or_overrun(&udp4(b"nor now", false));
    assert_eq!(d.regs.stats.rx_overruns, 2);
    assert_eq!(d.regs.read32(test_port::COUNTER_SELECT), 0);
    d.regs
        .write32(test_port::COUNTER_SELECT, test_port::counter::RX_OVERRUNS);
    assert_eq!(d.regs.read32(test_port::COUNTER), 2);
    host.writes.borrow_mut().clear();
    d.regs.keep_alive();
    let writes = host.writes.borrow();
    let body = &writes.iter().find(|(_, b)| b.len() == 59).unwrap().1;
    // ena_admin_aenq_keep_alive_desc: rx_drops, tx_drops, rx_overruns.
    assert_eq!(u64::from_le_bytes(body[27..35].try_into().unwrap()), 2);
}
