//! The protocol checker: what `ena_admin_defs.h`, `ena_eth_io_defs.h` and
//! ena_com require of a driver, checked where the device meets it. Hardware
//! resets or logs when a driver breaks the protocol; a model that goes on
//! silently lets a broken patch pass offline. Each check counts, keeps its
//! first instance (queue, slot, value) and, when the device is configured
//! to, answers as hardware would: an AENQ DEVICE_REQUEST_RESET.
//!
//! The ids are ENA_CHECK_* in `ena-capi/include/ena_model.h` (a test holds
//! the two lists equal); `NAMES` is what a test or the guest tool prints.

/// The checks, by id.
pub mod check {
    /// A Tx packet whose first data descriptor lacks COMP_REQ.
    pub const TX_NO_COMP_REQ: u32 = 0;
    /// A Tx packet that does not start with FIRST, or FIRST inside one
    /// (the packet before it had no LAST).
    pub const TX_FRAMING: u32 = 1;
    /// Reserved (must-be-zero) bits set in a Tx descriptor.
    pub const TX_MBZ: u32 = 2;
    /// A Tx buffer of length 0 (only an LLQ header-only packet has one).
    pub const TX_ZERO_LENGTH: u32 = 3;
    /// A Tx request id at or past the queue's depth.
    pub const TX_REQ_ID_RANGE: u32 = 4;
    /// A Tx request id reused while the device has not completed it.
    pub const TX_REQ_ID_REUSED: u32 = 5;
    /// An inline header longer than `max_header_size`.
    pub const TX_HEADER_TOO_LONG: u32 = 6;
    /// More descriptors in a packet than `max_packet_tx_descs`.
    pub const TX_TOO_MANY_DESCS: u32 = 7;
    /// A frame longer than the MTU the driver set allows.
    pub const TX_ABOVE_MTU: u32 = 8;
    /// A descriptor below the doorbell's tail without this lap's phase:
    /// the doorbell came before the write it announces (a missing barrier).
    pub const STALE_PHASE: u32 = 9;
    /// A doorbell whose tail went backwards.
    pub const DOORBELL_BACKWARDS: u32 = 10;
    /// A doorbell announcing more entries than the ring holds.
    pub const DOORBELL_OVERFILL: u32 = 11;
    /// A doorbell of a queue that was destroyed or never created.
    pub const DOORBELL_UNKNOWN_QUEUE: u32 = 12;
    /// An Rx descriptor without FIRST, LAST and COMP_REQ, with reserved
    /// bits set, or without this lap's phase.
    pub const RX_DESC_FLAGS: u32 = 13;
    /// An Rx request id posted again while still posted, or past the depth.
    pub const RX_REQ_ID_REUSED: u32 = 14;
    /// DMA past the device's DMA width or outside guest memory.
    pub const DMA_OUTSIDE: u32 = 15;
    /// An admin command id reused while that command is in flight.
    pub const ADMIN_ID_REUSED: u32 = 16;
    /// GET/SET_FEATURE of a feature not in `supported_features`
    /// (`ena_com_check_supported_feature_id` exists to prevent it).
    pub const FEATURE_NOT_OFFERED: u32 = 17;
    /// An admin doorbell while the device is in reset.
    pub const COMMAND_DURING_RESET: u32 = 18;
    /// DESTROY_CQ of a completion queue a live submission queue uses.
    pub const CQ_DESTROYED_BEFORE_SQ: u32 = 19;
    /// CREATE_CQ with an MSI-X vector past the table.
    pub const MSIX_OUT_OF_TABLE: u32 = 20;
    /// An unmask write for a completion queue that does not exist.
    pub const UNMASK_UNKNOWN_CQ: u32 = 21;
    /// AENQ_HEAD_DB beyond the events the device has written.
    pub const AENQ_HEAD_BEYOND_TAIL: u32 = 22;
    /// A reset reason the device did not offer (extended reasons without
    /// the capability).
    pub const RESET_REASON_RANGE: u32 = 23;
    /// LLQ entries rung past the burst limit between two doorbells.
    pub const LLQ_BURST: u32 = 24;
    /// An LLQ entry whose first descriptor is this lap's and a later one
    /// of the same packet is not: part of the entry was written (entries
    /// go to device memory whole, `ena_com_write_bounce_buffer_to_dev`).
    pub const LLQ_PARTIAL_ENTRY: u32 = 25;
    /// The LLQ entry at the device's place not written, a later one below
    /// the tail written: entries written out of tail order.
    pub const LLQ_OUT_OF_ORDER: u32 = 26;
    /// How many there are.
    pub const COUNT: usize = 27;

    /// Each check's name, as the guest tool and the tests print it.
    pub const NAMES: [&str; COUNT] = [
        "tx-no-comp-req",
        "tx-framing",
        "tx-mbz",
        "tx-zero-length",
        "tx-req-id-range",
        "tx-req-id-reused",
        "tx-header-too-long",
        "tx-too-many-descs",
        "tx-above-mtu",
        "stale-phase",
        "doorbell-backwards",
        "doorbell-overfill",
        "doorbell-unknown-queue",
        "rx-desc-flags",
        "rx-req-id-reused",
        "dma-outside",
        "admin-id-reused",
        "feature-not-offered",
        "command-during-reset",
        "cq-destroyed-before-sq",
        "msix-out-of-table",
        "unmask-unknown-cq",
        "aenq-head-beyond-tail",
        "reset-reason-range",
        "llq-burst",
        "llq-partial-entry",
        "llq-out-of-order",
    ];
}

/// Where a violation was seen: the queue (or command id, or register
/// offset), the ring slot, and the offending value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Instance {
    pub queue: u16,
    pub slot: u16,
    pub value: u32,
}

/// What the device does besides counting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Response {
    /// Count and remember; the driver goes on (the default).
    #[default]
    Count,
    /// Also post DEVICE_REQUEST_RESET, once until the driver resets, as
    /// a device that found itself in an unhealthy state.
    RequestReset,
}

/// The violations seen since power-on: a driver reset does not clear
/// them (a reset is often what a violation leads to).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Violations {
    counts: [u64; check::COUNT],
    first: [Option<Instance>; check::COUNT],
    first_check: Option<u32>,
}

impl Violations {
    pub fn count(&self, c: u32) -> u64 {
        self.counts.get(c as usize).copied().unwrap_or(0)
    }
    pub fn first(&self, c: u32) -> Option<Instance> {
        self.first.get(c as usize).copied().flatten()
    }
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// The check that fired first of all.
    pub fn first_check(&self) -> Option<u32> {
        self.first_check
    }
    /// Every check that fired, by name, with its count and first instance.
    pub fn report(&self) -> Vec<(&'static str, u64, Instance)> {
        (0..check::COUNT)
            .filter(|&c| self.counts[c] > 0)
            .map(|c| {
                (
                    check::NAMES[c],
                    self.counts[c],
                    self.first[c].unwrap_or_default(),
                )
            })
            .collect()
    }
    pub(super) fn record(&mut self, c: u32, at: Instance) {
        let i = c as usize;
        self.counts[i] += 1;
        self.first[i].get_or_insert(at);
        self.first_check.get_or_insert(c);
    }
}

/// Bits a Tx data descriptor must leave zero: those `ena_eth_io_tx_desc`
/// marks MBZ (ena_com clears the descriptor before it fills it).
pub(super) const TX_LEN_CTRL_MBZ: u32 = 1 << 22 | 1 << 25 | 0b111 << 29;
pub(super) const TX_META_CTRL_MBZ: u32 = 0b1111 << 18;
/// And an Rx descriptor's `ctrl` (bit 1, bits 7:6). Bit 5 is MBO in the
/// header, yet no driver sets it and devices take that: not checked.
pub(super) const RX_CTRL_MBZ: u8 = 1 << 1 | 0b11 << 6;
