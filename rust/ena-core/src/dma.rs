//! The DMA boundary: memory the device reads and writes, seen through byte
//! copies. A real device implements it over pinned memory (the only place a
//! driver needs unsafe); tests and the device model use [`HostMem`].

use alloc::vec;
use alloc::vec::Vec;

use crate::wire::Wire;

/// Memory shared with the device.
pub trait DmaMemory {
    /// The bus address the device uses for byte 0.
    fn phys(&self) -> u64;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn read(&self, off: usize, out: &mut [u8]);
    fn write(&mut self, off: usize, data: &[u8]);

    /// Reads one wire structure at a byte offset.
    #[inline(always)]
    fn load<T: Wire>(&self, off: usize) -> T {
        let mut buf = [0u8; 64];
        self.read(off, &mut buf[..T::SIZE]);
        T::decode(&buf[..T::SIZE])
    }

    /// Writes one wire structure at a byte offset.
    #[inline(always)]
    fn store<T: Wire>(&mut self, off: usize, v: &T) {
        let mut buf = [0u8; 64];
        v.encode(&mut buf[..T::SIZE]);
        self.write(off, &buf[..T::SIZE]);
    }
}

/// Ordinary memory standing in for DMA memory, with a made-up bus address.
#[derive(Clone, Debug)]
pub struct HostMem {
    bytes: Vec<u8>,
    phys: u64,
}

impl HostMem {
    pub fn new(len: usize, phys: u64) -> Self {
        Self {
            bytes: vec![0; len],
            phys,
        }
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl DmaMemory for HostMem {
    fn phys(&self) -> u64 {
        self.phys
    }
    fn len(&self) -> usize {
        self.bytes.len()
    }
    #[inline(always)]
    fn read(&self, off: usize, out: &mut [u8]) {
        out.copy_from_slice(&self.bytes[off..off + out.len()]);
    }
    #[inline(always)]
    fn write(&mut self, off: usize, data: &[u8]) {
        self.bytes[off..off + data.len()].copy_from_slice(data);
    }
}
