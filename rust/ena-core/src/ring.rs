//! A position in a ring whose depth is a power of two, with the phase bit
//! that flips on every lap: how the device and the driver tell a fresh entry
//! from one left over from the previous lap, without sharing an index.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Free-running index (wraps at u16), as ena_com keeps tail and head.
    pub index: u16,
    /// The phase entries written in this lap carry; starts at 1.
    pub phase: u8,
    mask: u16,
}

impl Cursor {
    pub fn new(depth: u16) -> Self {
        assert!(
            depth.is_power_of_two(),
            "queue depth {depth} is not a power of two"
        );
        Self {
            index: 0,
            phase: 1,
            mask: depth - 1,
        }
    }
    /// The entry the cursor points at.
    #[inline(always)]
    pub fn slot(&self) -> usize {
        (self.index & self.mask) as usize
    }
    /// One entry further; the phase flips when the slot wraps to 0.
    #[inline(always)]
    pub fn advance(&mut self) {
        self.index = self.index.wrapping_add(1);
        if self.index & self.mask == 0 {
            self.phase ^= 1;
        }
    }
}
