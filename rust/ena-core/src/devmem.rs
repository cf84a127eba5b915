//! The device's own memory: BAR2, mapped write-combined, where a
//! device-placement (LLQ) Tx queue lives. The third hardware boundary,
//! beside [`crate::dma`] and [`crate::regs`]: the driver only ever copies
//! whole entries into it, never reads it back.

/// Device memory the driver writes LLQ entries into.
pub trait DeviceMemory {
    /// Copies one whole entry to byte `off`: `__iowrite64_copy` (memcpy_toio)
    /// of a bounce buffer. Whole entries, because write-combining merges
    /// them into full bus writes and the device reads an entry at once.
    /// Over real device memory the implementation orders the copy after the
    /// CPU's earlier stores (the `wmb()` ena_com issues just before it).
    fn write(&mut self, off: usize, entry: &[u8]);
}

/// No device memory mapped: queues stay in host placement, as the Linux
/// driver falls back when the device exposes no memory BAR. It has no
/// values, so a queue of this type can never be in device placement.
#[derive(Clone, Copy, Debug)]
pub enum NoDeviceMemory {}

impl DeviceMemory for NoDeviceMemory {
    fn write(&mut self, _off: usize, _entry: &[u8]) {
        match *self {}
    }
}
