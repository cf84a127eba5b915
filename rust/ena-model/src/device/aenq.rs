//! The asynchronous event queue (`ena_com_aenq_intr_handler` reads it):
//! keep-alives and link changes, in the groups the driver enabled.

use ena_core::admin::ENTRY_SIZE;
use ena_core::admin_defs::{to_entry, AenqEntry, HwHints};
use ena_core::device::aenq_group;
use ena_core::wire::Wire;

use super::admin::HW_HINTS;
use super::{check, Model};

/// `ENA_ADMIN_UPDATE_HINTS`, a syndrome of the NOTIFICATION group.
const UPDATE_HINTS: u16 = 2;
/// `ENA_ADMIN_DEVICE_REQUEST_RESET`, an AENQ group of its own (bit 7):
/// the device asks the driver to reset it.
pub(super) const DEVICE_REQUEST_RESET: u32 = 1 << 7;

impl Model {
    /// An event of one group (`aenq_group` bit; the entry carries the
    /// bit's number, `enum ena_admin_aenq_group`), if the driver enabled it.
    pub(super) fn post_event(&mut self, group_bit: u32, syndrome: u16, data: &[u8]) {
        if !self.aenq.usable() || self.enabled_groups & group_bit == 0 {
            return;
        }
        if !self.pending_events.is_empty() || !self.aenq_room() {
            // No room yet (ena_com_admin_aenq_enable comes after the groups
            // are set, and a busy driver lags): held, in order, up to a ring.
            if self.pending_events.len() >= self.aenq.depth as usize {
                self.stats.aenq_overruns += 1;
                return;
            }
            self.pending_events
                .push_back((group_bit, syndrome, data.to_vec()));
            return;
        }
        self.write_event(group_bit, syndrome, data);
    }

    /// The event into the ring at the device's place, phase last.
    fn write_event(&mut self, group_bit: u32, syndrome: u16, data: &[u8]) {
        let group = group_bit.trailing_zeros() as u16;
        self.trace_event(group, syndrome, data);
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
        self.write_phase_last(self.aenq.entry(ENTRY_SIZE as u64), &to_entry(&ev), 4);
        self.aenq.advance();
        self.management_interrupt();
    }

    fn aenq_room(&self) -> bool {
        let room = self.aenq_head.wrapping_sub(self.aenq.index());
        room > 0 && room <= self.aenq.depth
    }

    /// AENQ_HEAD_DB: the driver consumed events; held ones go out now.
    pub(super) fn aenq_head_moved(&mut self, head: u16) {
        if self.aenq.usable() && head.wrapping_sub(self.aenq.index()) > self.aenq.depth {
            // More consumed than the device wrote.
            self.violate(
                check::AENQ_HEAD_BEYOND_TAIL,
                0,
                self.aenq.index() as usize,
                head as u32,
            );
        }
        self.aenq_head = head;
        while self.aenq_room() {
            let Some((group_bit, syndrome, data)) = self.pending_events.pop_front() else {
                return;
            };
            self.write_event(group_bit, syndrome, &data);
        }
    }

    /// One keep-alive event (`ena_keep_alive_wd` in the driver), unless the
    /// fault withholds it. It carries the drop counters
    /// (`ena_admin_aenq_keep_alive_desc`), which the driver shows in
    /// `ethtool -S`: rx_drops, tx_drops, rx_overruns, 64 bits each.
    pub fn keep_alive(&mut self) {
        self.trace_summary();
        if !self.faults.withhold_keep_alive.fires() {
            let s = self.stats;
            let data: Vec<u8> = [s.rx_drops, s.tx_drops, s.rx_overruns]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            self.post_event(aenq_group::KEEP_ALIVE, 0, &data);
        }
    }

    /// A NOTIFICATION event of syndrome UPDATE_HINTS (`ena_notification`
    /// hands it to `ena_update_hints`): the probe's hints with another
    /// driver watchdog (keep-alive) timeout.
    pub fn update_hints(&mut self, driver_watchdog_ms: u16) {
        let hints = HwHints {
            driver_watchdog_timeout: driver_watchdog_ms,
            ..HW_HINTS
        };
        let mut data = [0u8; HwHints::SIZE];
        hints.encode(&mut data);
        self.post_event(aenq_group::NOTIFICATION, UPDATE_HINTS, &data);
    }

    /// What the protocol checker asked for: one DEVICE_REQUEST_RESET
    /// (`ena_admin_device_request_reset`) until the driver resets.
    pub(super) fn respond_to_violations(&mut self) {
        if self.reset_wanted.take() && !self.reset_requested {
            self.reset_requested = true;
            self.post_event(DEVICE_REQUEST_RESET, 0, &[]);
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
