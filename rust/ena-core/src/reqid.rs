//! The free request-id ring: every in-flight packet carries an id the
//! completion gives back, so completions may come in any order.

use alloc::vec::Vec;

/// Ids `0..size` handed out and taken back in any order.
pub struct ReqIds {
    free: Vec<u16>,
    next_to_use: usize,
    next_to_clean: usize,
    in_flight: Vec<bool>,
}

impl ReqIds {
    pub fn new(size: u16) -> Self {
        Self {
            free: (0..size).collect(),
            next_to_use: 0,
            next_to_clean: 0,
            in_flight: alloc::vec![false; size as usize],
        }
    }
    pub fn available(&self) -> usize {
        self.free.len() - (self.next_to_use - self.next_to_clean)
    }
    /// Takes a free id, or None when all are in flight.
    pub fn take(&mut self) -> Option<u16> {
        if self.available() == 0 {
            return None;
        }
        let id = self.free[self.next_to_use % self.free.len()];
        self.next_to_use += 1;
        self.in_flight[id as usize] = true;
        Some(id)
    }
    /// Gives an id back; false for an id that is not in flight (a device bug
    /// the driver answers with a reset: `ena_com_tx_comp_req_id_get` callers
    /// check `validate_tx_req_id`).
    pub fn give_back(&mut self, id: u16) -> bool {
        if self.in_flight.get(id as usize) != Some(&true) {
            return false;
        }
        self.in_flight[id as usize] = false;
        let n = self.free.len();
        self.free[self.next_to_clean % n] = id;
        self.next_to_clean += 1;
        true
    }
}
