//! The asynchronous event queue (`ena_com_aenq_intr_handler` reads it):
//! keep-alives and link changes, in the groups the driver enabled.

use ena_core::admin::ENTRY_SIZE;
use ena_core::admin_defs::{to_entry, AenqEntry};
use ena_core::device::aenq_group;

use super::Model;

impl Model {
    /// An event of one group (`aenq_group` bit; the entry carries the
    /// bit's number, `enum ena_admin_aenq_group`), if the driver enabled it.
    pub(super) fn post_event(&mut self, group_bit: u32, syndrome: u16, data: &[u8]) {
        if !self.aenq.usable() || self.enabled_groups & group_bit == 0 {
            return;
        }
        let group = group_bit.trailing_zeros() as u16;
        let mut ev = AenqEntry {
            group,
            syndrome,
            flags: self.aenq.phase(),
            ..Default::default()
        };
        for (i, w) in data.chunks(4).enumerate() {
            let mut d = [0u8; 4];
            d[..w.len()].copy_from_slice(w);
            ev.inline_data_w4[i] = u32::from_le_bytes(d);
        }
        self.bus
            .dma_write(self.aenq.entry(ENTRY_SIZE as u64), &to_entry(&ev));
        self.aenq.advance();
        self.management_interrupt();
    }

    /// One keep-alive event (`ena_keep_alive_wd` in the driver), unless the
    /// fault withholds it.
    pub fn keep_alive(&mut self) {
        if !self.faults.withhold_keep_alive.fires() {
            self.post_event(aenq_group::KEEP_ALIVE, 0, &[]);
        }
    }

    /// Link up or down (`ena_update_on_link_change`).
    pub fn set_link(&mut self, up: bool) {
        self.link_up = up;
        self.post_event(aenq_group::LINK_CHANGE, 0, &(up as u32).to_le_bytes());
    }

    /// A device reports its link once the driver listens: the driver's
    /// carrier starts off and waits for it.
    pub(super) fn report_link(&mut self) {
        if self.link_up {
            self.post_event(aenq_group::LINK_CHANGE, 0, &1u32.to_le_bytes());
        }
    }
}
