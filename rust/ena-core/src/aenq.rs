//! The asynchronous event notification queue (`ena_com_aenq_intr_handler`):
//! the device posts 64-byte events with a phase bit; the driver dispatches
//! them by group and moves the head doorbell. Keep-alive events feed the
//! watchdog that makes the driver reset a silent device
//! (`check_for_missing_keep_alive`).

use crate::admin_defs::{AenqEntry, ENTRY_SIZE};
use crate::dma::DmaMemory;
use crate::regs::{self, Registers};
use crate::ring::Cursor;
use crate::wire::Wire;

/// `ENA_ADMIN_AENQ_COMMON_DESC_PHASE_MASK`
pub const PHASE_MASK: u8 = 1;

/// `enum ena_admin_aenq_group` values as they appear in an event.
pub mod group {
    pub const LINK_CHANGE: u16 = 0;
    pub const NOTIFICATION: u16 = 3;
    pub const KEEP_ALIVE: u16 = 4;
}

/// A dispatched event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    LinkChange {
        up: bool,
    },
    KeepAlive,
    /// A group this driver has no handler for (`unimplemented_aenq_handler`).
    Unhandled {
        group: u16,
        syndrome: u16,
    },
}

pub struct Aenq<M> {
    ring: M,
    head: Cursor,
    depth: u16,
    last_keep_alive_us: u64,
}

impl<M: DmaMemory> Aenq<M> {
    pub fn new(ring: M, depth: u16, now_us: u64) -> Self {
        assert!(ring.len() >= depth as usize * ENTRY_SIZE);
        Self {
            ring,
            head: Cursor::new(depth),
            depth,
            last_keep_alive_us: now_us,
        }
    }

    /// Consumes every posted event and tells the device how far it got.
    pub fn poll<R: Registers>(
        &mut self,
        r: &mut R,
        now_us: u64,
        mut on_event: impl FnMut(Event),
    ) -> usize {
        let mut n = 0;
        loop {
            let mut b = [0u8; ENTRY_SIZE];
            self.ring.read(self.head.slot() * ENTRY_SIZE, &mut b);
            let e = AenqEntry::decode(&b);
            if e.flags & PHASE_MASK != self.head.phase {
                break;
            }
            let (group, syndrome) = (e.group, e.syndrome);
            let ev = match group {
                // ena_admin_aenq_link_change_desc.flags: link_status 0
                group::LINK_CHANGE => Event::LinkChange {
                    up: e.inline_data_w4[0] & 1 != 0,
                },
                group::KEEP_ALIVE => {
                    self.last_keep_alive_us = now_us;
                    Event::KeepAlive
                }
                _ => Event::Unhandled { group, syndrome },
            };
            on_event(ev);
            self.head.advance();
            n += 1;
        }
        if n > 0 {
            // ena_com's head starts at the depth (the whole ring is free
            // at init): the doorbell says how far the device may write.
            let head = self.head.index.wrapping_add(self.depth);
            r.write32(regs::AENQ_HEAD_DB, head as u32);
        }
        n
    }

    /// The watchdog: true when no keep-alive came for `timeout_us`.
    pub fn keep_alive_missing(&self, now_us: u64, timeout_us: u64) -> bool {
        now_us.saturating_sub(self.last_keep_alive_us) > timeout_us
    }
}
