//! When to ring a doorbell and when to refill Rx: a doorbell is an MMIO
//! write (a VM exit under virtualisation), so drivers batch them.
//! - Tx: `ena_start_xmit` rings only when the stack has no more packets
//!   queued (`netdev_xmit_more()`), DPDK once per burst; [`TxDoorbell`]
//!   also rings when a budget of packets is pending.
//! - Rx: `ena_refill_rx_bufs` runs only once the free entries exceed
//!   `min(ring_size / ENA_RX_REFILL_THRESH_DIVIDER, ENA_RX_REFILL_THRESH_PACKET)`,
//!   then rings once for the whole refill.

/// `ENA_RX_REFILL_THRESH_DIVIDER`
pub const RX_REFILL_THRESH_DIVIDER: u16 = 8;
/// `ENA_RX_REFILL_THRESH_PACKET`
pub const RX_REFILL_THRESH_PACKET: u16 = 256;

/// The number of free Rx entries above which the driver refills.
pub fn rx_refill_threshold(depth: u16) -> u16 {
    (depth / RX_REFILL_THRESH_DIVIDER).min(RX_REFILL_THRESH_PACKET)
}

/// True when an Rx queue with `free` empty entries should be refilled now.
pub fn rx_refill_due(free: i32, depth: u16) -> bool {
    free > rx_refill_threshold(depth) as i32
}

/// Counts packets posted since the last Tx doorbell.
#[derive(Debug, Clone, Copy)]
pub struct TxDoorbell {
    pending: u16,
    budget: u16,
}

impl TxDoorbell {
    /// `budget`: ring at the latest after this many packets (at least 1).
    pub fn new(budget: u16) -> Self {
        Self {
            pending: 0,
            budget: budget.max(1),
        }
    }
    pub fn pending(&self) -> u16 {
        self.pending
    }
    /// One packet posted; `more` says another follows at once. True when
    /// the doorbell must be rung now (the caller then writes the tail).
    pub fn posted(&mut self, more: bool) -> bool {
        self.pending += 1;
        if !more || self.pending >= self.budget {
            self.pending = 0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;

    #[test]
    fn refill_threshold_is_an_eighth_of_the_ring_capped_at_256() {
        assert_eq!(rx_refill_threshold(16), 2);
        assert_eq!(rx_refill_threshold(1024), 128);
        assert_eq!(rx_refill_threshold(8192), 256);
        assert!(!rx_refill_due(2, 16));
        assert!(rx_refill_due(3, 16));
    }

    #[test]
    fn tx_doorbell_rings_at_end_of_burst_or_at_budget() {
        let mut db = TxDoorbell::new(4);
        let rings: alloc::vec::Vec<bool> = (0..10).map(|i| db.posted(i != 9)).collect();
        assert_eq!(
            rings,
            [false, false, false, true, false, false, false, true, false, true]
        );
        assert_eq!(db.pending(), 0);
        assert!(
            TxDoorbell::new(0).posted(true),
            "a zero budget still rings every packet"
        );
    }
}
