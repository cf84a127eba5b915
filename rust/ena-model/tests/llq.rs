//! LLQ, the Tx path of every Nitro ENA, as the model answers it: what it
//! offers (`ena_com_config_llq_info` chooses from it), what it accepts,
//! and packets written as `ena_com_prepare_tx` writes them in device
//! placement (descriptors and the pushed header in whole entries of BAR2)
//! sent byte-identical, with one completion each.

use std::cell::RefCell;
use std::rc::Rc;

use ena_core::admin::{feature, opcode, AdminError, Command, Completion};
use ena_core::admin_defs::{
    create_cq, create_sq, llq, CreateCqCmd, CreateCqResp, CreateSqCmd, CreateSqResp,
    DeviceAttrFeatureDesc, FeatureLlqDesc,
};
use ena_core::defs::{tx_desc, tx_meta_desc, TxCdesc, TxDesc};
use ena_core::device::{aenq_group, DmaAllocator, Ena};
use ena_core::dma::DmaMemory;
use ena_core::wire::Wire;
use ena_model::{Bus, BusAlloc, BusMem, Model, ModelConfig, Platform, VirtualClock};

/// Host memory, the device's BAR2, and the frames the device sent.
struct Host {
    bus: Bus,
    sent: RefCell<Vec<Vec<u8>>>,
}

impl Platform for Host {
    fn dma_read(&self, addr: u64, out: &mut [u8]) {
        self.bus.read(addr, out)
    }
    fn dma_write(&self, addr: u64, data: &[u8]) {
        self.bus.write(addr, data)
    }
    fn transmit(&self, frame: &[u8]) -> bool {
        self.sent.borrow_mut().push(frame.to_vec());
        true
    }
    fn llq_read(&self, offset: u64, out: &mut [u8]) {
        self.bus.llq_read(offset, out)
    }
}

type Driver = Ena<Model, BusAlloc, VirtualClock>;

fn device(config: ModelConfig) -> (Driver, Rc<Host>) {
    let bus = Bus::new(8 << 20, 0x1_2340_0000);
    let host = Rc::new(Host {
        bus: bus.clone(),
        sent: RefCell::default(),
    });
    let model = Model::with_platform(host.clone(), config);
    let mut d = Ena::new(model, BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE).unwrap();
    (d, host)
}

fn get_llq(d: &mut Driver) -> Result<FeatureLlqDesc, AdminError> {
    let mut c = Command::new(opcode::GET_FEATURE);
    c.put(17, &[feature::LLQ]);
    d.admin_command(&c).map(|r| r.feature())
}

fn set_llq(d: &mut Driver, want: &FeatureLlqDesc) -> Result<Completion, AdminError> {
    let mut c = Command::new(opcode::SET_FEATURE);
    c.put(17, &[feature::LLQ]);
    let mut b = [0u8; FeatureLlqDesc::SIZE];
    want.encode(&mut b);
    c.put(20, &b);
    d.admin_command(&c)
}

/// What `ena_com_set_llq` sends for a layout (both accelerated bits, always).
fn choice(entry_code: u16, before: u16, stride: u16) -> FeatureLlqDesc {
    FeatureLlqDesc {
        header_location_ctrl_enabled: llq::INLINE_HEADER,
        entry_size_ctrl_enabled: entry_code,
        desc_num_before_header_enabled: before,
        descriptors_stride_ctrl_enabled: stride,
        accel_mode_flags: llq::DISABLE_META_CACHING | llq::LIMIT_TX_BURST,
        ..Default::default()
    }
}

fn create_tx_cq(d: &mut Driver, depth: u16) -> (u16, BusMem) {
    let mem = d.alloc.alloc(depth as usize * 8);
    let cmd = CreateCqCmd {
        cq_caps_2: 2 & create_cq::CQ_ENTRY_SIZE_WORDS_MASK,
        cq_depth: depth,
        cq_ba_lo: mem.phys() as u32,
        cq_ba_hi: (mem.phys() >> 32) as u16,
        ..Default::default()
    };
    let r: CreateCqResp = d
        .admin_command(&Command::from_wire(opcode::CREATE_CQ, &cmd))
        .unwrap()
        .decode();
    (r.cq_idx, mem)
}

fn create_dev_sq(
    d: &mut Driver,
    depth: u16,
    cq_idx: u16,
    tx: bool,
) -> Result<CreateSqResp, AdminError> {
    let direction = if tx {
        create_sq::DIRECTION_TX
    } else {
        create_sq::DIRECTION_RX
    };
    let cmd = CreateSqCmd {
        sq_identity: direction << create_sq::SQ_DIRECTION_SHIFT,
        sq_caps_2: create_sq::PLACEMENT_DEV,
        sq_caps_3: create_sq::IS_PHYSICALLY_CONTIGUOUS_MASK,
        cq_idx,
        sq_depth: depth,
        ..Default::default()
    };
    d.admin_command(&Command::from_wire(opcode::CREATE_SQ, &cmd))
        .map(|r| r.decode())
}

/// The driver's side of one LLQ: `ena_com_prepare_tx` and its bounce
/// buffer, written the way ena_eth_com.c writes it (a spec, not a copy).
struct LlqWriter {
    window: u64,
    depth: u16,
    before: usize,
    per_entry: usize,
    buf: Vec<u8>,
    idx: usize,
    left: usize,
    tail: u16,
    phase: u8,
}

impl LlqWriter {
    fn new(window: u64, depth: u16, entry: usize, before: usize, per_entry: usize) -> Self {
        Self {
            window,
            depth,
            before,
            per_entry,
            buf: vec![0; entry],
            idx: 0,
            left: before,
            tail: 0,
            phase: 1,
        }
    }

    /// `ena_com_write_bounce_buffer_to_dev`: the whole entry at the tail.
    fn flush(&mut self, bus: &Bus) {
        let slot = (self.tail & (self.depth - 1)) as u64;
        bus.device_write(self.window + slot * self.buf.len() as u64, &self.buf);
        self.tail = self.tail.wrapping_add(1);
        if self.tail & (self.depth - 1) == 0 {
            self.phase ^= 1;
        }
        self.buf.fill(0);
    }

    /// `get_sq_desc_llq`, then the descriptor written into its slot.
    fn put(&mut self, d: &TxDesc) {
        let mut b = [0u8; 16];
        d.encode(&mut b);
        self.buf[self.idx * 16..self.idx * 16 + 16].copy_from_slice(&b);
        self.idx += 1;
        self.left -= 1;
    }

    /// `ena_com_sq_update_llq_tail`: a full line goes to the device.
    fn update_tail(&mut self, bus: &Bus) {
        if self.left == 0 {
            self.flush(bus);
            self.idx = 0;
            self.left = self.per_entry;
        }
    }

    /// One packet: optional meta descriptor, the header pushed inline, then
    /// one descriptor per buffer (the first shares the header's).
    fn send(&mut self, bus: &Bus, req_id: u16, header: &[u8], bufs: &[(u64, u16)], meta: bool) {
        let off = self.before * 16;
        self.buf[off..off + header.len()].copy_from_slice(header);
        let phase = (self.phase as u32) << tx_desc::PHASE_SHIFT;
        if meta {
            self.put(&TxDesc {
                len_ctrl: tx_meta_desc::META_DESC_MASK
                    | tx_meta_desc::EXT_VALID_MASK
                    | tx_meta_desc::ETH_META_TYPE_MASK
                    | tx_meta_desc::FIRST_MASK
                    | tx_meta_desc::META_STORE_MASK
                    | phase,
                ..Default::default()
            });
            self.update_tail(bus);
        }
        let n = bufs.len().max(1);
        for i in 0..n {
            if i > 0 {
                self.update_tail(bus);
            }
            let phase = (self.phase as u32) << tx_desc::PHASE_SHIFT;
            let (addr, len) = bufs.get(i).copied().unwrap_or((0, 0));
            let mut d = TxDesc {
                len_ctrl: phase | len as u32,
                buff_addr_lo: addr as u32,
                buff_addr_hi_hdr_sz: (addr >> 32) as u32,
                ..Default::default()
            };
            if i == 0 {
                d.len_ctrl |= tx_desc::COMP_REQ_MASK
                    | ((req_id as u32 >> 10) << tx_desc::REQ_ID_HI_SHIFT)
                    | if meta { 0 } else { tx_desc::FIRST_MASK };
                d.meta_ctrl = (req_id as u32 & 0x3ff) << tx_desc::REQ_ID_LO_SHIFT;
                d.buff_addr_hi_hdr_sz |= (header.len() as u32) << tx_desc::HEADER_LENGTH_SHIFT;
            }
            if i + 1 == n {
                d.len_ctrl |= tx_desc::LAST_MASK;
            }
            self.put(&d);
        }
        self.update_tail(bus);
        if self.idx > 0 {
            self.flush(bus);
        }
        self.idx = 0;
        self.left = self.before;
    }
}

/// A device-placement Tx queue set up as the drivers do it.
struct Lab {
    d: Driver,
    host: Rc<Host>,
    w: LlqWriter,
    doorbell: u32,
    cq: BusMem,
    cq_head: u16,
    data: BusMem,
}

fn lab(entry_code: u16, before: u16, stride: u16, depth: u16) -> Lab {
    let (mut d, host) = device(ModelConfig::default());
    set_llq(&mut d, &choice(entry_code, before, stride)).expect("the layout is offered");
    let (cq_idx, cq) = create_tx_cq(&mut d, depth);
    let r = create_dev_sq(&mut d, depth, cq_idx, true).expect("a device-placement Tx queue");
    let entry = llq::entry_bytes(entry_code).unwrap();
    let per_entry = if stride == llq::MULTIPLE_DESCS_PER_ENTRY {
        entry / 16
    } else {
        1
    };
    let data = d.alloc.alloc(2 << 20);
    Lab {
        w: LlqWriter::new(
            r.llq_descriptors_offset as u64,
            depth,
            entry,
            before as usize,
            per_entry,
        ),
        doorbell: r.sq_doorbell_offset,
        d,
        host,
        cq,
        cq_head: 0,
        data,
    }
}

impl Lab {
    /// A frame split into the pushed header and `pieces` buffers.
    fn send(&mut self, req_id: u16, frame: &[u8], header: usize, pieces: usize, meta: bool) {
        let rest = &frame[header..];
        let chunk = rest.len().div_ceil(pieces.max(1)).max(1);
        let mut bufs = Vec::new();
        for (i, part) in rest.chunks(chunk).enumerate() {
            let off = (req_id as usize * 16 + i) * 2048;
            self.data.write(off, part);
            bufs.push((self.data.phys() + off as u64, part.len() as u16));
        }
        let bus = self.host.bus.clone();
        self.w.send(&bus, req_id, &frame[..header], &bufs, meta);
    }
    fn ring(&mut self) {
        let (db, tail) = (self.doorbell, self.w.tail);
        self.d.doorbell(db, tail);
    }
    /// Completed request ids, in the order the device wrote them.
    fn completions(&mut self) -> Vec<u16> {
        let depth = self.w.depth;
        let mut out = Vec::new();
        loop {
            let slot = (self.cq_head & (depth - 1)) as usize;
            let mut b = [0u8; 8];
            self.cq.read(slot * 8, &mut b);
            let c = TxCdesc::decode(&b);
            let phase = ((self.cq_head / depth) & 1) as u8 ^ 1;
            if c.flags & 1 != phase {
                return out;
            }
            out.push(c.req_id);
            self.cq_head = self.cq_head.wrapping_add(1);
        }
    }
    fn sent(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.host.sent.borrow_mut())
    }
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn the_device_offers_llq_as_a_nitro_card_does() {
    let (mut d, _) = device(ModelConfig::default());
    let mut attrs = Command::new(opcode::GET_FEATURE);
    attrs.put(17, &[feature::DEVICE_ATTRIBUTES]);
    let a: DeviceAttrFeatureDesc = d.admin_command(&attrs).unwrap().feature();
    assert_ne!(a.supported_features & 1 << feature::LLQ, 0);
    let o = get_llq(&mut d).unwrap();
    assert_eq!((o.max_llq_num, o.max_llq_depth), (8, 1024));
    assert_eq!(o.header_location_ctrl_supported, llq::INLINE_HEADER);
    assert_eq!(
        o.entry_size_ctrl_supported,
        llq::ENTRY_SIZE_128B | llq::ENTRY_SIZE_192B | llq::ENTRY_SIZE_256B
    );
    assert_eq!(o.desc_num_before_header_supported, 1 | 2 | 4 | 8);
    assert_eq!(
        o.descriptors_stride_ctrl_supported,
        llq::SINGLE_DESC_PER_ENTRY | llq::MULTIPLE_DESCS_PER_ENTRY
    );
    // Large entries recommended, and a wide ring half as deep (Nitro v4).
    assert_eq!(o.entry_size_recommended as u16, llq::ENTRY_SIZE_256B);
    assert_eq!(o.max_wide_llq_depth, 512);
    assert_eq!(
        o.accel_mode_flags,
        llq::DISABLE_META_CACHING | llq::LIMIT_TX_BURST
    );
    assert_eq!(o.accel_mode_max_tx_burst_size, 4096);
    assert_eq!(o.feature_version, llq::FEATURE_VERSION_1);

    let normal = ModelConfig {
        llq_large: false,
        ..Default::default()
    };
    let (mut d, _) = device(normal);
    let o = get_llq(&mut d).unwrap();
    assert_eq!(o.entry_size_recommended as u16, llq::ENTRY_SIZE_128B);
}

#[test]
fn the_drivers_choice_is_taken_when_offered_and_refused_otherwise() {
    let (mut d, _) = device(ModelConfig::default());
    use llq::*;
    for ok in [
        choice(ENTRY_SIZE_128B, 2, MULTIPLE_DESCS_PER_ENTRY), // Debian's 6.1 ena
        choice(ENTRY_SIZE_256B, 2, MULTIPLE_DESCS_PER_ENTRY), // 2.15's large LLQ
        choice(ENTRY_SIZE_192B, 1, SINGLE_DESC_PER_ENTRY),
        choice(ENTRY_SIZE_256B, 8, MULTIPLE_DESCS_PER_ENTRY),
    ] {
        assert!(set_llq(&mut d, &ok).is_ok(), "{ok:?}");
    }
    let header_ring = FeatureLlqDesc {
        header_location_ctrl_enabled: HEADER_RING,
        ..choice(ENTRY_SIZE_128B, 2, MULTIPLE_DESCS_PER_ENTRY)
    };
    for bad in [
        header_ring,
        choice(
            ENTRY_SIZE_128B | ENTRY_SIZE_256B,
            2,
            MULTIPLE_DESCS_PER_ENTRY,
        ),
        choice(0, 2, MULTIPLE_DESCS_PER_ENTRY),
        choice(ENTRY_SIZE_128B, 3, MULTIPLE_DESCS_PER_ENTRY),
        choice(ENTRY_SIZE_128B, 0, MULTIPLE_DESCS_PER_ENTRY),
        choice(ENTRY_SIZE_128B, 8, MULTIPLE_DESCS_PER_ENTRY), // no room for a header
        choice(ENTRY_SIZE_128B, 2, 3),
    ] {
        assert_eq!(
            set_llq(&mut d, &bad).err(),
            Some(AdminError::IllegalParameter),
            "{bad:?}"
        );
    }
}

#[test]
fn device_placement_needs_the_layout_set_first_and_is_for_tx_only() {
    let (mut d, _) = device(ModelConfig::default());
    let (cq, _) = create_tx_cq(&mut d, 1024);
    assert_eq!(
        create_dev_sq(&mut d, 1024, cq, true).err(),
        Some(AdminError::IllegalParameter),
        "no layout chosen yet"
    );
    set_llq(
        &mut d,
        &choice(llq::ENTRY_SIZE_256B, 2, llq::MULTIPLE_DESCS_PER_ENTRY),
    )
    .unwrap();
    assert_eq!(
        create_dev_sq(&mut d, 1024, cq, false).err(),
        Some(AdminError::IllegalParameter),
        "Rx queues stay in host memory"
    );
    let r = create_dev_sq(&mut d, 1024, cq, true).unwrap();
    let window = ena_model::LLQ_BAR_SIZE / 16;
    assert_eq!(r.llq_descriptors_offset as u64, r.sq_idx as u64 * window);
    assert_eq!(d.regs.llq_in_use(), (256, 1));
    // A reset forgets the layout, as the drivers expect (they set it again).
    d.reset(0).unwrap();
    assert_eq!(d.regs.llq_in_use(), (0, 0));
}

#[test]
fn packets_written_as_entries_are_sent_byte_identical_in_every_layout() {
    use llq::*;
    for (code, before, stride) in [
        (ENTRY_SIZE_128B, 2, MULTIPLE_DESCS_PER_ENTRY),
        (ENTRY_SIZE_256B, 2, MULTIPLE_DESCS_PER_ENTRY),
        (ENTRY_SIZE_192B, 1, SINGLE_DESC_PER_ENTRY),
        (ENTRY_SIZE_128B, 4, SINGLE_DESC_PER_ENTRY),
        (ENTRY_SIZE_256B, 8, MULTIPLE_DESCS_PER_ENTRY),
    ] {
        let mut l = lab(code, before, stride, 64);
        let room = entry_bytes(code).unwrap() - before as usize * 16;
        let mut want = Vec::new();
        // (length, pushed header, buffers, meta descriptor): header only,
        // header and one buffer, a packet whose descriptors spill into
        // further entries, and each again behind a meta descriptor.
        let shapes = [(60, 60, 0), (1514, 54, 1), (9000, 42, 9)];
        for (i, &(len, hl, pieces)) in shapes.iter().enumerate() {
            for meta in [false, true] {
                let hl = hl.min(room);
                let f = frame(len.max(hl), (i * 2 + meta as usize) as u8);
                let id = want.len() as u16;
                l.send(id, &f, hl, pieces, meta);
                l.ring(); // within the burst limit, as the drivers ring
                want.push(f);
            }
        }
        assert_eq!(
            l.sent(),
            want,
            "entry {code} before {before} stride {stride}"
        );
        let ids: Vec<u16> = (0..want.len() as u16).collect();
        assert_eq!(l.completions(), ids);
        assert_eq!(l.d.regs.stats.llq_entries, l.w.tail as u64);
        assert_eq!(l.d.regs.stats.llq_burst_errors, 0);
    }
}

#[test]
fn laps_flip_the_phase_and_a_tail_ahead_of_the_entries_sends_nothing_yet() {
    let mut l = lab(llq::ENTRY_SIZE_128B, 2, llq::MULTIPLE_DESCS_PER_ENTRY, 8);
    for round in 0..5u16 {
        for k in 0..6u16 {
            let id = round * 6 + k;
            l.send(id % 8, &frame(200, id as u8), 40, 1, true);
        }
        l.ring();
        assert_eq!(l.sent().len(), 6, "round {round}");
        assert_eq!(l.completions().len(), 6);
    }
    // A doorbell past what was written: the entry at the tail still has
    // the last lap's phase, so the device waits for it.
    let tail = l.w.tail;
    let db = l.doorbell;
    l.d.doorbell(db, tail.wrapping_add(1));
    assert!(l.sent().is_empty());
    l.send(1, &frame(100, 9), 40, 1, false);
    l.ring();
    assert_eq!(l.sent(), vec![frame(100, 9)]);
}

#[test]
fn a_burst_beyond_the_advertised_limit_is_counted() {
    // 4096 bytes of 256-byte entries: 16 entries between doorbells.
    let mut l = lab(llq::ENTRY_SIZE_256B, 2, llq::MULTIPLE_DESCS_PER_ENTRY, 64);
    for id in 0..16 {
        l.send(id, &frame(100, 1), 40, 1, true);
    }
    l.ring();
    assert_eq!(l.d.regs.stats.llq_burst_errors, 0);
    for id in 0..17 {
        l.send(id, &frame(100, 2), 40, 1, true);
    }
    l.ring();
    assert_eq!(l.d.regs.stats.llq_burst_errors, 1);
    assert_eq!(l.sent().len(), 33, "still sent: the error is counted");
    let v = l.d.regs.violations();
    assert_eq!(v.count(ena_model::check::LLQ_BURST), 1, "{:?}", v.report());
    assert_eq!(
        v.first(ena_model::check::LLQ_BURST).unwrap().value,
        17,
        "entries rung"
    );
}

#[test]
fn with_llq_off_the_device_is_host_placement_only() {
    let off = ModelConfig {
        llq: false,
        ..Default::default()
    };
    let (mut d, _) = device(off);
    let mut attrs = Command::new(opcode::GET_FEATURE);
    attrs.put(17, &[feature::DEVICE_ATTRIBUTES]);
    let a: DeviceAttrFeatureDesc = d.admin_command(&attrs).unwrap().feature();
    assert_eq!(a.supported_features & 1 << feature::LLQ, 0);
    assert_eq!(get_llq(&mut d).err(), Some(AdminError::UnsupportedOpcode));
    let (cq, _) = create_tx_cq(&mut d, 64);
    assert_eq!(
        create_dev_sq(&mut d, 64, cq, true).err(),
        Some(AdminError::UnsupportedOpcode)
    );
    // Host placement is what bring-up used, and it still moves frames.
    let mut p = d.create_pair(16).unwrap();
    let mut bufs = d.alloc.alloc(4096);
    bufs.write(0, &frame(64, 3));
    p.tx.prepare(&ena_core::tx::TxCtx {
        bufs: &[ena_core::tx::TxBuf {
            paddr: bufs.phys(),
            len: 64,
        }],
        req_id: 0,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    assert_eq!(d.regs.stats.tx_pkts, 1);
    assert_eq!(d.regs.llq_in_use(), (0, 0));
}

#[test]
fn entries_are_judged_by_their_phase_stale_partial_or_out_of_order() {
    use ena_model::check;
    // Written whole and in order: nothing to say.
    let mut l = lab(llq::ENTRY_SIZE_128B, 2, llq::MULTIPLE_DESCS_PER_ENTRY, 16);
    l.send(0, &frame(100, 1), 40, 3, true);
    l.ring();
    assert_eq!(l.d.regs.violations().total(), 0);

    // The second descriptor of a packet's first entry still of the last
    // lap: only part of the entry reached the device.
    let mut l = lab(llq::ENTRY_SIZE_128B, 2, llq::MULTIPLE_DESCS_PER_ENTRY, 16);
    l.send(0, &frame(100, 1), 40, 1, true);
    let window = l.w.window;
    l.host.bus.device_write(window + 16 + 3, &[0]); // clears slot 1's phase byte
    l.ring();
    let v = l.d.regs.violations();
    assert_eq!(v.count(check::LLQ_PARTIAL_ENTRY), 1, "{:?}", v.report());
    assert!(l.sent().is_empty(), "the device waits for the rest");

    // Entry 1 written, entry 0 not (it keeps the last lap's phase): out of
    // the tail's order.
    let mut l = lab(llq::ENTRY_SIZE_128B, 2, llq::MULTIPLE_DESCS_PER_ENTRY, 16);
    l.send(0, &frame(100, 1), 40, 1, false);
    l.send(1, &frame(100, 2), 40, 1, false);
    l.host.bus.device_write(window + 3, &[0]); // entry 0's first descriptor
    l.ring();
    let v = l.d.regs.violations();
    assert_eq!(v.count(check::LLQ_OUT_OF_ORDER), 1, "{:?}", v.report());
    assert_eq!(v.first(check::LLQ_OUT_OF_ORDER).unwrap().slot, 0);

    // A doorbell one entry past what was written: that one is stale.
    let mut l = lab(llq::ENTRY_SIZE_128B, 2, llq::MULTIPLE_DESCS_PER_ENTRY, 16);
    l.send(0, &frame(100, 1), 40, 1, false);
    let db = l.doorbell;
    l.d.doorbell(db, l.w.tail.wrapping_add(1));
    let v = l.d.regs.violations();
    assert_eq!(
        (v.count(check::STALE_PHASE), v.total()),
        (1, 1),
        "{:?}",
        v.report()
    );
}
