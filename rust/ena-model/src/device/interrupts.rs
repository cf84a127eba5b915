//! Interrupts, as the driver's `ena_intr_msix_mgmnt` and `ena_intr_msix_io`
//! take them: vector 0 for admin completions and AENQ events, one vector
//! per IO queue pair that fires once and stays masked until unmasked. The
//! unmask write also carries the moderation delays (`ena_com_update_intr_reg`):
//! an interrupt then waits that long, so DIM and `ethtool -C` act.

use super::{check, Cq, Model, Vector};

/// `ENA_ETH_IO_INTR_REG_*`: what `ena_com_unmask_intr` writes.
const RX_DELAY_MASK: u32 = 0x7fff;
const TX_DELAY_SHIFT: u32 = 15;
const TX_DELAY_MASK: u32 = 0x7fff << 15;
const INTR_UNMASK: u32 = 1 << 30;
/// Keep the delays of the last write (the driver sets it when it has no
/// new ones).
const NO_MODERATION_UPDATE: u32 = 1 << 31;

impl Model {
    /// Vector 0 carries admin completions and AENQ events; the driver never
    /// masks it.
    pub(super) fn management_interrupt(&mut self) {
        self.stats.interrupts += 1;
        self.bus.interrupt(0);
    }

    /// Work on completion queue `cqi`: its vector fires now, after its
    /// moderation delay, or once the driver unmasks it.
    pub(super) fn io_interrupt(&mut self, cqi: usize) {
        let Some(v) = self.cq_vector(cqi) else { return };
        let rx = self.cq_is_rx(cqi);
        let slot = self.vector(v);
        if slot.masked || slot.due.is_some() {
            slot.pending = true;
            slot.pending_rx |= rx;
            return;
        }
        self.raise_after_delay(v, rx);
    }

    /// `ena_com_unmask_intr`: the driver is done polling this CQ's vector.
    pub(super) fn unmask(&mut self, cqi: usize, value: u32) {
        if !matches!(self.cqs.get(cqi), Some(Some(_))) {
            self.violate(check::UNMASK_UNKNOWN_CQ, cqi, 0, value);
            return;
        }
        if value & INTR_UNMASK == 0 {
            return;
        }
        let Some(v) = self.cq_vector(cqi) else { return };
        let slot = self.vector(v);
        if value & NO_MODERATION_UPDATE == 0 {
            slot.rx_delay = (value & RX_DELAY_MASK) as u16;
            slot.tx_delay = ((value & TX_DELAY_MASK) >> TX_DELAY_SHIFT) as u16;
            self.stats.last_intr_delays = (slot.rx_delay, slot.tx_delay);
        }
        let (rx, tx) = (self.vector(v).rx_delay, self.vector(v).tx_delay);
        self.trace_unmask(cqi, rx, tx);
        let slot = self.vector(v);
        slot.masked = false;
        if std::mem::take(&mut slot.pending) && slot.due.is_none() {
            let rx = std::mem::take(&mut slot.pending_rx);
            self.raise_after_delay(v, rx);
        }
    }

    /// Raises vector `v` now, or arms its timer for the delay of the
    /// direction that has work (Rx's when both do: the shorter wait is
    /// the driver's choice for Rx, DIM's).
    fn raise_after_delay(&mut self, v: u16, rx: bool) {
        let resolution = self.config.intr_delay_resolution as u64;
        let slot = self.vector(v);
        let units = if rx { slot.rx_delay } else { slot.tx_delay } as u64;
        if units == 0 || resolution == 0 {
            self.raise(v);
            return;
        }
        let due = self.bus.now_us() + units * resolution;
        self.vector(v).due = Some(due);
        self.bus.wake_at(due);
    }

    fn raise(&mut self, v: u16) {
        let slot = self.vector(v);
        slot.masked = true;
        slot.pending = false;
        slot.pending_rx = false;
        self.stats.interrupts += 1;
        self.bus.interrupt(v);
    }

    /// The platform's timer: every vector whose delay has passed fires;
    /// the platform keeps one timer, so it is set again for the next due.
    pub fn run_timers(&mut self) {
        let now = self.bus.now_us();
        let mut next = None::<u64>;
        for v in 0..self.vectors.len() as u16 {
            let slot = &mut self.vectors[v as usize];
            match slot.due {
                Some(d) if d <= now => {
                    slot.due = None;
                    if !slot.masked {
                        self.stats.moderated_interrupts += 1;
                        self.raise(v);
                    }
                }
                Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
                None => {}
            }
        }
        if let Some(d) = next {
            self.bus.wake_at(d);
        }
    }

    fn cq_vector(&self, cqi: usize) -> Option<u16> {
        match self.cqs.get(cqi) {
            Some(Some(Cq {
                vector: Some(v), ..
            })) => Some(*v),
            _ => None,
        }
    }

    /// Whether an Rx queue completes to `cqi`.
    fn cq_is_rx(&self, cqi: usize) -> bool {
        self.sqs.iter().flatten().any(|s| !s.tx && s.cq == cqi)
    }

    fn vector(&mut self, v: u16) -> &mut Vector {
        let i = v as usize;
        if self.vectors.len() <= i {
            self.vectors.resize(i + 1, Vector::default());
        }
        &mut self.vectors[i]
    }
}
