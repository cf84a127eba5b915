//! Low-latency queues (LLQ), the Tx path on Nitro. The driver builds each
//! packet's descriptors and its header in a bounce buffer and copies whole
//! entries into the device's own memory (BAR2, mapped write-combined:
//! `ena_com_write_bounce_buffer_to_dev`), then rings the doorbell with the
//! entry count. This file holds what the device offers
//! (`ena_com_config_llq_info` reads it), what the driver chose, and the
//! reading of one packet's entries.

use ena_core::admin::Status;
use ena_core::admin_defs::{llq, FeatureLlqDesc};
use ena_core::defs::{tx_desc, tx_meta_desc, TxDesc};
use ena_core::wire::Wire;

use super::checker::{check, TX_LEN_CTRL_MBZ, TX_META_CTRL_MBZ};
use super::offload::{TxMeta, TxRequest};
use super::{Model, Ring, MAX_HEADER, MAX_QUEUE_PAIRS, MAX_TX_DESCS};

/// BAR2, the device memory: one window per SQ slot.
pub const LLQ_BAR_SIZE: u64 = 4 << 20;
/// Each SQ slot's window: a ring of MAX_LLQ_DEPTH entries of 256 bytes.
pub(super) const LLQ_WINDOW: u64 = LLQ_BAR_SIZE / (2 * MAX_QUEUE_PAIRS as u64);
const MAX_ENTRY: u64 = 256;
const MAX_LLQ_DEPTH: u32 = (LLQ_WINDOW / MAX_ENTRY) as u32;
const DESC: usize = TxDesc::SIZE;

/// Entry sizes, descriptor counts before the header and strides offered.
const ENTRY_SIZES: u16 = llq::ENTRY_SIZE_128B | llq::ENTRY_SIZE_192B | llq::ENTRY_SIZE_256B;
const DESCS_BEFORE_HEADER: u16 = llq::DESCS_BEFORE_HEADER_1
    | llq::DESCS_BEFORE_HEADER_2
    | llq::DESCS_BEFORE_HEADER_4
    | llq::DESCS_BEFORE_HEADER_8;
const STRIDES: u16 = llq::SINGLE_DESC_PER_ENTRY | llq::MULTIPLE_DESCS_PER_ENTRY;

/// The layout the driver chose with SET_FEATURE LLQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LlqLayout {
    /// Bytes per entry (128, 192 or 256).
    pub entry: usize,
    /// Descriptor slots ahead of the header in a packet's first entry.
    pub descs_before_header: usize,
    /// Descriptor slots in each further entry (one, or the whole entry).
    pub descs_per_entry: usize,
    /// Entries allowed between two doorbells, when the limit is in force.
    pub burst_entries: Option<u16>,
}

/// One packet read from a queue, device placement or host.
pub(super) struct TxPacket {
    pub req_id: u16,
    /// The first data descriptor asked for a completion (COMP_REQ).
    pub comp_req: bool,
    pub frame: Vec<u8>,
    /// More descriptors or bytes than the device takes: completed, not sent.
    pub oversize: bool,
    /// The offloads the first data descriptor asks for.
    pub req: TxRequest,
    /// The packet's own meta descriptor, if it came with one.
    pub meta: Option<TxMeta>,
    /// What the protocol checker found in it: (check, slot, value).
    pub violations: Vec<(u32, usize, u32)>,
}

/// A packet being put together from its descriptors.
pub(super) struct Assembly {
    pkt: TxPacket,
    descs: usize,
    /// No descriptor of the packet seen yet (the next must say FIRST).
    first: bool,
    /// No data descriptor seen yet (the next carries the request id).
    first_data: bool,
    max_frame: usize,
    /// Device placement: a header pushed inline may be the whole packet.
    llq: bool,
    /// The longest header: `max_header_size`, or in LLQ what the first
    /// entry holds after its descriptors (ena_com_config_dev_mode sets
    /// the driver's limit to that).
    max_header: usize,
}

impl Assembly {
    pub fn new(max_frame: usize, llq: Option<LlqLayout>) -> Self {
        Self {
            pkt: TxPacket {
                req_id: 0,
                comp_req: false,
                frame: Vec::new(),
                oversize: false,
                req: TxRequest::default(),
                meta: None,
                violations: Vec::new(),
            },
            descs: 0,
            first: true,
            first_data: true,
            max_frame,
            llq: llq.is_some(),
            max_header: llq.map_or(MAX_HEADER, |l| l.entry - l.descs_before_header * DESC),
        }
    }

    fn violate(&mut self, c: u32, slot: usize, value: u32) {
        self.pkt.violations.push((c, slot, value));
    }

    /// FIRST on the packet's first descriptor (meta or data) and on no
    /// other: a FIRST inside means the packet before lacked its LAST.
    fn framing(&mut self, has_first: bool, slot: usize, value: u32) {
        if has_first != self.first {
            self.violate(check::TX_FRAMING, slot, value);
        }
        self.first = false;
    }

    /// Adds one data descriptor's buffer (read through `read`); true at
    /// the packet's last. The first carries the request id and, in LLQ,
    /// the length of the header pushed inline (`header`).
    pub fn add(
        &mut self,
        d: &TxDesc,
        slot: usize,
        header: impl FnOnce(usize) -> Vec<u8>,
        read: impl FnOnce(u64, &mut [u8]),
    ) -> bool {
        self.framing(d.len_ctrl & tx_desc::FIRST_MASK != 0, slot, d.len_ctrl);
        if d.len_ctrl & TX_LEN_CTRL_MBZ != 0 || d.meta_ctrl & TX_META_CTRL_MBZ != 0 {
            self.violate(check::TX_MBZ, slot, d.len_ctrl);
        }
        let last = d.len_ctrl & tx_desc::LAST_MASK != 0;
        let len = (d.len_ctrl & tx_desc::LENGTH_MASK) as usize;
        let mut header_only = false;
        if std::mem::take(&mut self.first_data) {
            self.pkt.req_id = (((d.len_ctrl & tx_desc::REQ_ID_HI_MASK) >> tx_desc::REQ_ID_HI_SHIFT)
                << 10
                | (d.meta_ctrl & tx_desc::REQ_ID_LO_MASK) >> tx_desc::REQ_ID_LO_SHIFT)
                as u16;
            let hl = ((d.buff_addr_hi_hdr_sz & tx_desc::HEADER_LENGTH_MASK)
                >> tx_desc::HEADER_LENGTH_SHIFT) as usize;
            if hl > self.max_header {
                self.violate(check::TX_HEADER_TOO_LONG, slot, hl as u32);
            }
            self.pkt.frame = header(hl);
            self.pkt.comp_req = d.len_ctrl & tx_desc::COMP_REQ_MASK != 0;
            if !self.pkt.comp_req {
                self.violate(check::TX_NO_COMP_REQ, slot, d.len_ctrl);
            }
            self.pkt.req = TxRequest::decode(d);
            header_only = self.llq && hl > 0 && last;
        }
        if len == 0 && !header_only {
            self.violate(check::TX_ZERO_LENGTH, slot, d.len_ctrl);
        }
        let addr =
            d.buff_addr_lo as u64 | ((d.buff_addr_hi_hdr_sz & tx_desc::ADDR_HI_MASK) as u64) << 32;
        self.descs += 1;
        self.account(slot);
        let f = &mut self.pkt.frame;
        if !self.pkt.oversize && f.len() + len > self.max_frame {
            self.pkt.oversize = true;
            let total = (f.len() + len) as u32;
            self.violate(check::TX_ABOVE_MTU, slot, total);
        }
        let f = &mut self.pkt.frame;
        if !self.pkt.oversize && len > 0 {
            let start = f.len();
            f.resize(start + len, 0);
            read(addr, &mut f[start..]);
        }
        last
    }

    /// One more descriptor against `max_packet_tx_descs` (meta included).
    fn account(&mut self, slot: usize) {
        if self.descs == MAX_TX_DESCS + 1 {
            self.pkt.oversize = true;
            self.violate(check::TX_TOO_MANY_DESCS, slot, self.descs as u32);
        }
    }

    /// A meta descriptor (offload context); it heads the packet, so the
    /// request id and COMP_REQ are still the first data descriptor's.
    pub fn meta(&mut self, d: &TxDesc, slot: usize) {
        self.framing(d.len_ctrl & tx_meta_desc::FIRST_MASK != 0, slot, d.len_ctrl);
        self.pkt.meta = Some(TxMeta::decode(d));
        self.descs += 1;
        self.account(slot);
    }

    pub fn malformed(&mut self) {
        self.pkt.oversize = true;
    }

    pub fn done(self) -> TxPacket {
        self.pkt
    }
}

pub(super) fn phase_of(d: &TxDesc) -> u8 {
    ((d.len_ctrl & tx_desc::PHASE_MASK) >> tx_desc::PHASE_SHIFT) as u8
}

impl Model {
    /// GET_FEATURE LLQ: what `ena_com_config_llq_info` chooses from.
    pub(super) fn llq_offer(&self) -> FeatureLlqDesc {
        let depth = self.config.max_queue_depth.min(MAX_LLQ_DEPTH);
        let burst = self.config.llq_max_burst;
        FeatureLlqDesc {
            max_llq_num: MAX_QUEUE_PAIRS as u32,
            max_llq_depth: depth,
            header_location_ctrl_supported: llq::INLINE_HEADER,
            entry_size_ctrl_supported: ENTRY_SIZES,
            desc_num_before_header_supported: DESCS_BEFORE_HEADER,
            descriptors_stride_ctrl_supported: STRIDES,
            feature_version: llq::FEATURE_VERSION_1,
            entry_size_recommended: if self.config.llq_large {
                llq::ENTRY_SIZE_256B
            } else {
                llq::ENTRY_SIZE_128B
            } as u8,
            max_wide_llq_depth: (depth / 2) as u16,
            accel_mode_flags: llq::DISABLE_META_CACHING
                | if burst > 0 { llq::LIMIT_TX_BURST } else { 0 },
            accel_mode_max_tx_burst_size: burst,
            ..Default::default()
        }
    }

    /// SET_FEATURE LLQ: one value of each offered kind, or refused.
    /// Accelerated-mode bits the device did not offer are ignored: the
    /// drivers always send both (`ena_com_set_llq`).
    pub(super) fn llq_choose(&mut self, d: &FeatureLlqDesc) -> Status {
        let one_of = |v: u16, offered: u16| v.is_power_of_two() && v & offered == v;
        let entry = llq::entry_bytes(d.entry_size_ctrl_enabled);
        let before = d.desc_num_before_header_enabled as usize;
        let (Some(entry), true, true, true) = (
            entry.filter(|_| one_of(d.entry_size_ctrl_enabled, ENTRY_SIZES)),
            d.header_location_ctrl_enabled == llq::INLINE_HEADER,
            one_of(d.desc_num_before_header_enabled, DESCS_BEFORE_HEADER),
            one_of(d.descriptors_stride_ctrl_enabled, STRIDES),
        ) else {
            return Status::IllegalParameter;
        };
        if before * DESC >= entry {
            return Status::IllegalParameter; // no room left for a header
        }
        let burst = self.config.llq_max_burst;
        let limit = d.accel_mode_flags & llq::LIMIT_TX_BURST != 0 && burst > 0;
        self.llq = Some(LlqLayout {
            entry,
            descs_before_header: before,
            descs_per_entry: if d.descriptors_stride_ctrl_enabled == llq::MULTIPLE_DESCS_PER_ENTRY {
                entry / DESC
            } else {
                1
            },
            burst_entries: limit.then(|| (burst as usize / entry) as u16),
        });
        Status::Success
    }

    /// Whether an entry after `at` and below `tail` carries its lap's
    /// phase: written before the one at `at`.
    fn llq_written_beyond(&self, l: LlqLayout, window: u64, mut at: Ring, tail: u16) -> bool {
        let mut first = [0u8; DESC];
        at.advance();
        while at.index() != tail {
            self.bus
                .llq_read(window + at.slot() * l.entry as u64, &mut first);
            if phase_of(&TxDesc::decode(&first)) == at.phase() {
                return true;
            }
            at.advance();
        }
        false
    }

    /// Whether a device-placement ring of `depth` entries fits its window.
    pub(super) fn llq_fits(&self, depth: u16) -> bool {
        self.llq
            .is_some_and(|l| depth as u64 * l.entry as u64 <= LLQ_WINDOW)
    }

    /// One packet's entries from `ring` up to `tail`, in device memory at
    /// `window`: descriptors first, the header after the first entry's
    /// `descs_before_header` slots, further descriptors in the entries
    /// after. None while the packet is not whole below the tail, or its
    /// first entry does not carry this lap's phase (not written yet).
    pub(super) fn read_llq_packet(
        &mut self,
        sqi: usize,
        l: LlqLayout,
        window: u64,
        mut ring: Ring,
        tail: u16,
    ) -> Option<(TxPacket, Ring)> {
        let mut pkt = Assembly::new(self.max_frame(), Some(l));
        let mut entry = vec![0u8; l.entry];
        let mut header = Vec::new();
        let mut slots = l.descs_before_header;
        let mut entries = 0u64;
        let mut last = false;
        while !last && (entries as usize) <= MAX_TX_DESCS {
            if ring.index() == tail {
                return None;
            }
            self.bus
                .llq_read(window + ring.slot() * l.entry as u64, &mut entry);
            if entries == 0 {
                header = entry[l.descs_before_header * DESC..].to_vec();
            }
            let slot = ring.slot() as usize;
            for i in 0..slots {
                let d = TxDesc::decode(&entry[i * DESC..(i + 1) * DESC]);
                if phase_of(&d) != ring.phase() {
                    // Below the doorbell's tail, not written in this lap:
                    // rung before the write, part of an entry written, or
                    // a later entry written before this one.
                    let c = if i > 0 {
                        check::LLQ_PARTIAL_ENTRY
                    } else if entries == 0 && self.llq_written_beyond(l, window, ring, tail) {
                        check::LLQ_OUT_OF_ORDER
                    } else {
                        check::STALE_PHASE
                    };
                    self.violate(c, sqi, slot, d.len_ctrl);
                    return None;
                }
                if d.len_ctrl & tx_desc::META_DESC_MASK != 0 {
                    pkt.meta(&d, slot);
                    continue;
                }
                last = pkt.add(
                    &d,
                    slot,
                    |hl| header[..hl.min(header.len())].to_vec(),
                    |addr, out| self.dma_in(addr, out),
                );
                if last {
                    break;
                }
            }
            ring.advance();
            entries += 1;
            slots = l.descs_per_entry;
        }
        if !last {
            pkt.malformed(); // more entries than any packet takes
        }
        self.stats.llq_entries += entries;
        Some((pkt.done(), ring))
    }
}
