//! Interrupts, as the driver's `ena_intr_msix_mgmnt` and `ena_intr_msix_io`
//! take them: vector 0 for admin completions and AENQ events, one vector
//! per IO queue pair that fires once and stays masked until unmasked.

use super::{Cq, Model, Vector};

/// `ENA_ETH_IO_INTR_REG_INTR_UNMASK_MASK`: what `ena_com_unmask_intr` writes.
const INTR_UNMASK: u32 = 1 << 30;

impl Model {
    /// Vector 0 carries admin completions and AENQ events; the driver never
    /// masks it.
    pub(super) fn management_interrupt(&mut self) {
        self.stats.interrupts += 1;
        self.bus.interrupt(0);
    }

    pub(super) fn io_interrupt(&mut self, cqi: usize) {
        let Some(v) = self.cq_vector(cqi) else { return };
        let slot = self.vector(v);
        if slot.masked {
            slot.pending = true;
        } else {
            slot.masked = true;
            self.stats.interrupts += 1;
            self.bus.interrupt(v);
        }
    }

    /// `ena_com_unmask_intr`: the driver is done polling this CQ's vector.
    pub(super) fn unmask(&mut self, cqi: usize, value: u32) {
        if value & INTR_UNMASK == 0 {
            return;
        }
        let Some(v) = self.cq_vector(cqi) else { return };
        let slot = self.vector(v);
        slot.masked = false;
        if std::mem::take(&mut slot.pending) {
            slot.masked = true;
            self.stats.interrupts += 1;
            self.bus.interrupt(v);
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

    fn vector(&mut self, v: u16) -> &mut Vector {
        let i = v as usize;
        if self.vectors.len() <= i {
            self.vectors.resize(i + 1, Vector::default());
        }
        &mut self.vectors[i]
    }
}
