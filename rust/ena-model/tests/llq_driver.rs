//! ena-core's own LLQ against the software ENA: bring-up reads what the
//! device offers, sets the layout the Linux driver (2.15) would, and the Tx
//! queue writes whole entries into the device's memory; frames cross the
//! loopback byte for byte over many laps, doorbells keep within the burst
//! limit, and host placement stays a choice.

use ena_core::admin::{feature, opcode};
use ena_core::admin_defs::llq;
use ena_core::device::{aenq_group, BringUpError, DmaAllocator, Ena, IoPair};
use ena_core::devmem::DeviceMemory;
use ena_core::dma::DmaMemory;
use ena_core::llq_config::LlqPolicy;
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx, TxMeta};
use ena_core::Error;
use ena_model::{Bus, BusAlloc, BusMem, Model, ModelConfig, VirtualClock};

const GROUPS: u32 = aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE;

/// BAR2 as the model exposes it: whole entries copied in (`memcpy_toio`).
#[derive(Clone)]
struct Bar2(Bus);

impl DeviceMemory for Bar2 {
    fn write(&mut self, off: usize, entry: &[u8]) {
        self.0.device_write(off as u64, entry);
    }
}

type Driver = Ena<Model, BusAlloc, VirtualClock, Bar2>;
type Pair = IoPair<BusMem, Bar2>;

fn device(cfg: ModelConfig, policy: LlqPolicy) -> (Driver, Bus) {
    let bus = Bus::new(8 << 20, 0x1_2340_0000);
    let mut d = Ena::with_device_memory(
        Model::new(&bus, cfg),
        BusAlloc::new(&bus),
        VirtualClock::default(),
        Bar2(bus.clone()),
    );
    d.set_llq_policy(policy);
    (d, bus)
}

fn commands(d: &Driver) -> Vec<(u8, u8)> {
    d.regs.admin_log.iter().map(|(o, f, _)| (*o, *f)).collect()
}

/// A frame as the Linux driver maps it: in LLQ the first `max_header`
/// bytes pushed inline, the rest in `pieces` buffers; in host placement all
/// of it in buffers.
struct Sender {
    mem: BusMem,
    depth: u16,
}

impl Sender {
    fn new(d: &mut Driver, depth: u16) -> Self {
        Self {
            mem: d.alloc.alloc(2 * depth as usize * 16 * 2048),
            depth,
        }
    }

    fn rx_addr(&self, id: u16) -> u64 {
        self.mem.phys() + ((self.depth as u64 * 16) + id as u64) * 2048
    }

    fn fill_rx(&mut self, d: &mut Driver, p: &mut Pair, ids: impl Iterator<Item = u16>) {
        for id in ids {
            p.rx.add(self.rx_addr(id), 2048, id).unwrap();
        }
        let (db, tail) = (p.rx_doorbell, p.rx.tail());
        d.doorbell(db, tail);
    }

    /// `ena_xmit_common`: the doorbell first when the burst has no room,
    /// then the packet; the slots (entries, in LLQ) it took.
    fn send(&mut self, d: &mut Driver, p: &mut Pair, id: u16, frame: &[u8], pieces: usize) -> u16 {
        let max =
            p.tx.llq_ring()
                .map_or(0, |l| l.info().max_header() as usize);
        let hl = frame.len().min(max);
        let rest = &frame[hl..];
        let chunk = rest.len().div_ceil(pieces.max(1)).max(1);
        let mut bufs = Vec::new();
        for (i, part) in rest.chunks(chunk).enumerate() {
            let off = (id as usize * 16 + i) * 2048;
            self.mem.write(off, part);
            bufs.push(TxBuf {
                paddr: self.mem.phys() + off as u64,
                len: part.len() as u16,
            });
        }
        let ctx = TxCtx {
            bufs: &bufs,
            push_header: Some(&frame[..hl]),
            header_len: hl as u16,
            req_id: id,
            meta_valid: true,
            meta: TxMeta {
                mss: 1448,
                l3_hdr_len: 20,
                l3_hdr_offset: 14,
                l4_hdr_len: 5,
            },
            ..Default::default()
        };
        if p.tx.doorbell_needed(&ctx) {
            p.tx.write_doorbell(&mut d.regs);
        }
        p.tx.prepare(&ctx).expect("prepare")
    }

    fn receive(&mut self, p: &mut Pair) -> Option<Vec<u8>> {
        let mut rb = [RxBuf::default(); 4];
        let pkt = p.rx_done.receive(&mut p.rx, &mut rb).unwrap();
        if pkt.descs == 0 {
            return None;
        }
        let mut data = vec![0u8; rb[0].len as usize];
        let off = self.rx_addr(rb[0].req_id) - self.mem.phys();
        self.mem.read(off as usize, &mut data);
        Some(data)
    }
}

fn frame(n: usize) -> Vec<u8> {
    (0..60 + (n * 211) % 1455)
        .map(|i| (i as u8).wrapping_mul(7) ^ n as u8)
        .collect()
}

/// Sends `count` frames in bursts of 1–7, each burst closed by a doorbell,
/// and takes them back from the loopback; returns the frames received.
fn exchange(d: &mut Driver, p: &mut Pair, s: &mut Sender, count: usize) -> Vec<Vec<u8>> {
    let depth = s.depth;
    s.fill_rx(d, p, 0..depth - 1);
    let (mut got, mut n, mut used) = (Vec::new(), 0usize, Vec::new());
    while n < count {
        let burst = (1 + n % 7).min(count - n);
        for k in 0..burst {
            let id = ((n + k) % depth as usize) as u16;
            used.push(s.send(d, p, id, &frame(n + k), (n + k) % 4));
        }
        p.tx.write_doorbell(&mut d.regs);
        for _ in 0..burst {
            p.tx_done
                .next_completed()
                .expect("a Tx completion per packet");
            p.tx.ack(used.remove(0));
        }
        while let Some(f) = s.receive(p) {
            got.push(f);
        }
        let tail = p.rx.tail();
        s.fill_rx(d, p, (0..burst as u16).map(|k| (tail + k) % depth));
        n += burst;
    }
    got
}

#[test]
fn bring_up_negotiates_llq_as_linux_2_15_does() {
    let (mut d, _) = device(ModelConfig::default(), LlqPolicy::Recommended);
    let (_, p) = d.bring_up(16, GROUPS).expect("bring-up");
    assert_eq!(
        commands(&d),
        vec![
            (opcode::GET_FEATURE, feature::DEVICE_ATTRIBUTES),
            (opcode::GET_FEATURE, feature::MAX_QUEUES_NUM),
            (opcode::GET_FEATURE, feature::LLQ),
            (opcode::SET_FEATURE, feature::HOST_ATTR_CONFIG),
            (opcode::GET_FEATURE, feature::AENQ_CONFIG),
            (opcode::SET_FEATURE, feature::AENQ_CONFIG),
            (opcode::SET_FEATURE, feature::LLQ),
            (opcode::CREATE_CQ, 0),
            (opcode::CREATE_SQ, 0),
            (opcode::CREATE_CQ, 0),
            (opcode::CREATE_SQ, 0),
        ]
    );
    assert!(d.regs.admin_log.iter().all(|(_, _, status)| *status == 0));
    // Nitro v4 recommends 256-byte entries: inline header after two
    // descriptors, an entry's worth of descriptors after, 4096 bytes of
    // burst, a meta descriptor with every packet.
    let info = *d.llq().expect("LLQ taken");
    assert_eq!(
        (
            info.header_location_ctrl,
            info.desc_list_entry_size,
            info.descs_num_before_header,
            info.desc_stride_ctrl,
            info.descs_per_entry,
            info.max_entries_in_tx_burst,
            info.disable_meta_caching,
            info.max_header()
        ),
        (
            llq::INLINE_HEADER,
            256,
            2,
            llq::MULTIPLE_DESCS_PER_ENTRY,
            16,
            16,
            true,
            224
        )
    );
    assert!(
        p.tx.llq_ring().is_some(),
        "the Tx queue is in device memory"
    );
    assert_eq!(d.regs.llq_in_use(), (256, 1));

    // A device that recommends 128-byte entries gets them; so does one
    // told to (`force_large_llq_header=0`).
    let small = ModelConfig {
        llq_large: false,
        ..Default::default()
    };
    for (cfg, policy) in [
        (small, LlqPolicy::Recommended),
        (ModelConfig::default(), LlqPolicy::Normal),
    ] {
        let (mut d, _) = device(cfg, policy);
        d.bring_up(16, GROUPS).unwrap();
        let info = d.llq().unwrap();
        assert_eq!(
            (
                info.desc_list_entry_size,
                info.max_entries_in_tx_burst,
                info.max_header()
            ),
            (128, 32, 96)
        );
        assert_eq!(d.regs.llq_in_use(), (128, 1));
    }
}

#[test]
fn frames_cross_the_loopback_from_device_memory_byte_for_byte() {
    for (cfg, policy) in [
        (ModelConfig::default(), LlqPolicy::Recommended),
        (ModelConfig::default(), LlqPolicy::Normal),
    ] {
        let (mut d, _) = device(cfg, policy);
        let (_, mut p) = d.bring_up(16, GROUPS).unwrap();
        let mut s = Sender::new(&mut d, 16);
        let got = exchange(&mut d, &mut p, &mut s, 300);
        let want: Vec<Vec<u8>> = (0..300).map(frame).collect();
        assert_eq!(got.len(), want.len(), "{policy:?}");
        assert!(got == want, "{policy:?}: a frame changed on the way");
        let st = d.regs.stats;
        assert_eq!(st.tx_pkts, 300);
        assert_eq!(
            st.llq_entries,
            p.tx.tail() as u64,
            "every entry written was read, over {} laps",
            p.tx.tail() / 16
        );
        assert!(p.tx.tail() / 16 > 20);
        assert_eq!(st.llq_burst_errors, 0);
        let v = d.regs.violations();
        assert_eq!(
            v.total(),
            0,
            "{policy:?}: the protocol kept: {:?}",
            v.report()
        );
    }
}

#[test]
fn doorbells_keep_within_the_burst_limit() {
    let (mut d, _) = device(ModelConfig::default(), LlqPolicy::Recommended);
    let (_, mut p) = d.bring_up(64, GROUPS).unwrap();
    let mut s = Sender::new(&mut d, 64);
    s.fill_rx(&mut d, &mut p, 0..63);
    let before = d.regs.stats.tx_doorbells;
    // 40 frames of 3 buffers behind a meta descriptor: two entries each,
    // 16 entries per burst, so the doorbell is rung before packets 8, 16,
    // 24 and 32, and once to close.
    for id in 0..40u16 {
        assert_eq!(s.send(&mut d, &mut p, id, &[id as u8; 1000], 3), 2);
        while p.tx_done.next_completed().is_ok() {
            p.tx.ack(2);
        }
    }
    p.tx.write_doorbell(&mut d.regs);
    assert_eq!(d.regs.stats.tx_doorbells - before, 5);
    assert_eq!(d.regs.stats.tx_pkts, 40);
    assert_eq!(d.regs.stats.llq_burst_errors, 0);
    while p.tx_done.next_completed().is_ok() {
        p.tx.ack(2);
    }
    // A caller that does not ask is stopped before it overruns the device.
    let bufs = [TxBuf {
        paddr: s.rx_addr(0),
        len: 100,
    }];
    for id in 0..64u16 {
        let ctx = TxCtx {
            bufs: &bufs,
            push_header: Some(&[0u8; 14]),
            header_len: 14,
            req_id: id,
            ..Default::default()
        };
        if let Err(e) = p.tx.prepare(&ctx) {
            assert_eq!(e, Error::BurstExceeded);
            assert_eq!(id, 16, "16 one-entry packets fit the burst");
            assert_eq!(d.regs.stats.llq_burst_errors, 0);
            return;
        }
    }
    panic!("the burst limit was never met");
}

#[test]
fn host_placement_stays_selectable() {
    // Asked for, with the device's memory mapped and LLQ offered.
    let (mut d, _) = device(ModelConfig::default(), LlqPolicy::Off);
    let (_, mut p) = d.bring_up(16, GROUPS).unwrap();
    assert!(commands(&d).iter().all(|(_, f)| *f != feature::LLQ));
    assert!(d.llq().is_none() && p.tx.llq_ring().is_none());
    assert_eq!(d.regs.llq_in_use(), (0, 0));
    let mut s = Sender::new(&mut d, 16);
    let got = exchange(&mut d, &mut p, &mut s, 50);
    assert_eq!(got, (0..50).map(frame).collect::<Vec<_>>());

    // A device without LLQ: host placement, nothing asked.
    let off = ModelConfig {
        llq: false,
        ..Default::default()
    };
    let (mut d, _) = device(off, LlqPolicy::Recommended);
    let (_, p) = d.bring_up(16, GROUPS).unwrap();
    assert!(commands(&d).iter().all(|(_, f)| *f != feature::LLQ));
    assert!(p.tx.llq_ring().is_none());
}

#[test]
fn a_reset_forgets_the_layout_and_bring_up_sets_it_again() {
    let (mut d, _) = device(ModelConfig::default(), LlqPolicy::Recommended);
    d.bring_up(16, GROUPS).unwrap();
    d.reset(0).unwrap();
    assert!(d.llq().is_none());
    assert_eq!(d.regs.llq_in_use(), (0, 0));
    let (_, mut p) = d.bring_up(16, GROUPS).unwrap();
    assert_eq!(d.regs.llq_in_use(), (256, 1));
    let mut s = Sender::new(&mut d, 16);
    assert_eq!(exchange(&mut d, &mut p, &mut s, 20).len(), 20);
}

#[test]
fn a_ring_deeper_than_llq_allows_is_refused() {
    // 256-byte entries: Nitro's wide ring is half as deep (512).
    let (mut d, _) = device(ModelConfig::default(), LlqPolicy::Large);
    assert_eq!(
        d.bring_up(1024, GROUPS).err(),
        Some(BringUpError::QueueTooDeep {
            asked: 1024,
            max: 512
        })
    );
    // 128-byte ones take the full depth.
    let (mut d, _) = device(ModelConfig::default(), LlqPolicy::Normal);
    assert!(d.bring_up(1024, GROUPS).is_ok());
}
