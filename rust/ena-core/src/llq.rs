//! Device placement (LLQ, "low-latency queue"): the Tx ring lives in the
//! device's memory, and the driver fills it a whole entry at a time. Each
//! packet starts a new entry laid out as
//!
//! ```text
//! | desc 0 .. desc n-1 (n = descs_num_before_header) | pushed header ... |
//! ```
//!
//! and further descriptors go in the entries after, one or an entry's
//! worth each (the stride). An entry is built in a bounce buffer in host
//! memory, then copied out in one go (`ena_com_write_bounce_buffer_to_dev`),
//! so write-combining sends it as full bus writes. This file is the layout
//! ([`LlqInfo`]) and that writer ([`LlqRing`], `ena_com_llq_pkt_ctrl` with
//! its bounce buffer and the Tx burst budget). The layout is chosen in
//! [`crate::llq_config`].

use crate::defs::TxDesc;
use crate::devmem::DeviceMemory;
use crate::ring::Cursor;
use crate::wire::Wire;
use crate::Error;

/// The largest entry (`ENA_ADMIN_LIST_ENTRY_SIZE_256B`): the bounce buffer.
pub const MAX_ENTRY: usize = 256;
const DESC: usize = TxDesc::SIZE;

/// `struct ena_com_llq_info`: the layout in force, in the `llq` enums of
/// [`crate::admin_defs::llq`] and the numbers derived from them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LlqInfo {
    /// `INLINE_HEADER` (the header rides in the packet's first entry).
    pub header_location_ctrl: u16,
    /// `SINGLE_DESC_PER_ENTRY` or `MULTIPLE_DESCS_PER_ENTRY`.
    pub desc_stride_ctrl: u16,
    /// The entry size code, and its bytes (128, 192 or 256).
    pub desc_list_entry_size_ctrl: u16,
    pub desc_list_entry_size: u16,
    /// Descriptor slots ahead of the header in a packet's first entry.
    pub descs_num_before_header: u16,
    /// Descriptor slots in each further entry: 1, or the whole entry.
    pub descs_per_entry: u16,
    /// Entries the driver may write between two doorbells; 0: no limit.
    pub max_entries_in_tx_burst: u16,
    /// The device wants a meta descriptor with every packet.
    pub disable_meta_caching: bool,
}

impl LlqInfo {
    /// `tx_max_header_size` in device placement (`ena_com_config_dev_mode`):
    /// what is left of the first entry after its descriptors.
    pub fn max_header(&self) -> u32 {
        (self.desc_list_entry_size as u32)
            .saturating_sub(self.descs_num_before_header as u32 * DESC as u32)
    }

    /// Entries a packet of `descs` descriptors takes (meta included), as
    /// `ena_com_is_doorbell_needed` counts them.
    pub fn entries_for(&self, descs: u16) -> u16 {
        let before = self.descs_num_before_header;
        if descs > before {
            1 + (descs - before).div_ceil(self.descs_per_entry.max(1))
        } else {
            1
        }
    }
}

/// What the Tx queue knows of a device-placement ring: the entry being
/// built, where it goes, and how many more may go before a doorbell.
pub struct LlqRing<B> {
    bar: B,
    /// Byte offset of the queue's window in device memory
    /// (`llq_descriptors_offset`).
    base: usize,
    info: LlqInfo,
    /// `desc_list_entry_size` as a length.
    entry: usize,
    /// ena_com rotates four bounce buffers; the copy out is complete when
    /// [`DeviceMemory::write`] returns, so one serves.
    bounce: [u8; MAX_ENTRY],
    /// Next descriptor slot in the entry, and the slot it ends at: ena_com
    /// counts the slots left instead, which is `line_end - idx` (one field
    /// moves per descriptor, not two).
    idx: usize,
    line_end: usize,
    entries_in_tx_burst_left: u16,
}

impl<B: DeviceMemory> LlqRing<B> {
    /// `ena_com_init_io_sq` for device placement: an empty entry with room
    /// for the first packet's descriptors, and a full burst budget.
    pub(crate) fn new(bar: B, base: usize, info: LlqInfo) -> Self {
        let entry = info.desc_list_entry_size as usize;
        assert!(
            entry <= MAX_ENTRY && entry % 8 == 0 && entry > 0,
            "LLQ entry of {entry} bytes"
        );
        assert!(
            info.descs_num_before_header as usize * DESC < entry && info.descs_per_entry >= 1,
            "LLQ layout leaves no room: {info:?}"
        );
        Self {
            bar,
            base,
            info,
            entry,
            bounce: [0; MAX_ENTRY],
            idx: 0,
            line_end: info.descs_num_before_header as usize,
            entries_in_tx_burst_left: info.max_entries_in_tx_burst,
        }
    }

    pub fn info(&self) -> &LlqInfo {
        &self.info
    }
    /// The entry being built (`llq_buf_ctrl.curr_bounce_buf`).
    pub fn bounce(&self) -> &[u8] {
        &self.bounce[..self.entry]
    }
    /// `llq_buf_ctrl.idx`: the next descriptor slot of the entry.
    pub fn idx(&self) -> u16 {
        self.idx as u16
    }
    /// `llq_buf_ctrl.descs_left_in_line`
    pub fn descs_left_in_line(&self) -> u16 {
        self.line_end.wrapping_sub(self.idx) as u16
    }
    pub fn entries_in_tx_burst_left(&self) -> u16 {
        self.entries_in_tx_burst_left
    }

    /// `is_llq_max_tx_burst_exists`
    pub(crate) fn burst_limited(&self) -> bool {
        self.info.max_entries_in_tx_burst > 0
    }

    /// `ena_com_write_tx_sq_doorbell`: a doorbell gives back the whole budget.
    pub(crate) fn refill_burst(&mut self) {
        if self.burst_limited() {
            self.entries_in_tx_burst_left = self.info.max_entries_in_tx_burst;
        }
    }

    /// `ena_com_write_header_to_bounce`: the header after the first entry's
    /// descriptor slots.
    #[inline(always)]
    pub(crate) fn write_header(&mut self, header: &[u8]) -> Result<(), Error> {
        let off = self.info.descs_num_before_header as usize * DESC;
        if off + header.len() > self.entry {
            return Err(Error::HeaderPastEntry);
        }
        self.bounce[off..off + header.len()].copy_from_slice(header);
        Ok(())
    }

    /// `get_sq_desc_llq`: the descriptor into the next slot of the entry.
    #[inline(always)]
    pub(crate) fn put<T: Wire>(&mut self, d: &T) {
        let off = self.idx * DESC;
        d.encode(&mut self.bounce[off..off + DESC]);
        self.idx += 1;
    }

    /// `ena_com_sq_update_llq_tail`: a full entry goes to the device, the
    /// next one has an entry's worth of slots (the stride).
    #[inline(always)]
    pub(crate) fn update_tail(&mut self, tail: &mut Cursor) -> Result<(), Error> {
        if self.idx == self.line_end {
            self.write_to_dev(tail)?;
            self.idx = 0;
            self.line_end = self.info.descs_per_entry as usize;
        }
        Ok(())
    }

    /// `ena_com_close_bounce_buffer`: the packet's last, partly filled entry
    /// goes out too; the next packet starts a fresh one.
    #[inline(always)]
    pub(crate) fn close(&mut self, tail: &mut Cursor) -> Result<(), Error> {
        if self.idx != 0 {
            self.write_to_dev(tail)?;
        }
        self.idx = 0;
        self.line_end = self.info.descs_num_before_header as usize;
        Ok(())
    }

    /// `ena_com_write_bounce_buffer_to_dev`: the whole entry to the tail's
    /// slot of the window, within the burst budget; then the tail moves
    /// (the phase flips on a wrap) and the bounce buffer is cleared: what
    /// the next entry leaves unfilled goes out as zeros, as ena_com's memset.
    fn write_to_dev(&mut self, tail: &mut Cursor) -> Result<(), Error> {
        if self.burst_limited() {
            if self.entries_in_tx_burst_left == 0 {
                return Err(Error::BurstExceeded);
            }
            self.entries_in_tx_burst_left -= 1;
        }
        let off = self.base + tail.slot() * self.entry;
        self.bar.write(off, &self.bounce[..self.entry]);
        tail.advance();
        self.bounce[..self.entry].fill(0);
        Ok(())
    }
}
