//! The device's BARs, mapped from sysfs: BAR0 (`resource0`, the registers
//! and doorbells) read and written 32 bits at a time with volatile
//! accesses, and BAR2 (`resource2_wc`, write-combined; `resource2`
//! uncached when the platform offers no WC mapping), where a
//! device-placement Tx queue's LLQ entries are copied whole.
//!
//! Ordering: every register write is preceded by a full fence (the
//! kernel's `wmb()` before a doorbell): descriptors in host memory and LLQ
//! entries still in the CPU's write-combining buffers reach the device
//! before the doorbell that tells it to read them.

use std::fs::OpenOptions;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{fence, Ordering};

use ena_core::devmem::DeviceMemory;
use ena_core::regs::Registers;

use crate::mmap::Mapping;
use crate::sysfs::PciDevice;
use crate::Error;

fn map_resource(path: &Path) -> Result<Mapping, Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", path, e))?
        .len() as usize;
    if len == 0 {
        return Err(Error::new(format!(
            "{} is empty: the BAR is not assigned",
            path.display()
        )));
    }
    Mapping::new(&file, len, 0).map_err(|e| Error::io("cannot mmap", path, e))
}

/// BAR0: the device's registers.
pub struct Bar0 {
    map: Mapping,
}

impl Bar0 {
    pub fn map(dev: &PciDevice) -> Result<Self, Error> {
        let map = map_resource(&dev.file("resource0"))?;
        Ok(Self { map })
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    #[inline(always)]
    fn reg(&self, off: u32) -> *mut u32 {
        let off = off as usize;
        assert!(
            off % 4 == 0 && off + 4 <= self.map.len(),
            "register {off:#x} outside BAR0 ({} bytes)",
            self.map.len()
        );
        // SAFETY: in bounds and 4-byte aligned (checked; the mapping is
        // page aligned).
        unsafe { self.map.ptr().add(off).cast::<u32>() }
    }
}

impl Registers for Bar0 {
    #[inline(always)]
    fn read32(&mut self, off: u32) -> u32 {
        // SAFETY: reg() checked the offset; BAR0 is device memory that
        // must be read exactly once, hence volatile.
        u32::from_le(unsafe { std::ptr::read_volatile(self.reg(off)) })
    }
    #[inline(always)]
    fn write32(&mut self, off: u32, value: u32) {
        fence(Ordering::SeqCst);
        // SAFETY: reg() checked the offset; a volatile store is the MMIO
        // write itself.
        unsafe { std::ptr::write_volatile(self.reg(off), value.to_le()) }
    }
}

/// BAR2: the device's memory, shared by every device-placement queue.
#[derive(Clone)]
pub struct Bar2 {
    map: Rc<Mapping>,
    write_combined: bool,
}

impl Bar2 {
    /// `resource2_wc`, else `resource2`; None when the device has no BAR2
    /// (no LLQ: the queues stay in host memory).
    pub fn map(dev: &PciDevice) -> Result<Option<Self>, Error> {
        for (name, wc) in [("resource2_wc", true), ("resource2", false)] {
            let path = dev.file(name);
            if path.exists() {
                return Ok(Some(Self {
                    map: Rc::new(map_resource(&path)?),
                    write_combined: wc,
                }));
            }
        }
        Ok(None)
    }
    pub fn write_combined(&self) -> bool {
        self.write_combined
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl DeviceMemory for Bar2 {
    /// `__iowrite64_copy` after `wmb()`: the entry in 64-bit stores, front
    /// to back, once the CPU's earlier stores are out.
    #[inline(always)]
    fn write(&mut self, off: usize, entry: &[u8]) {
        assert!(
            off % 8 == 0 && entry.len() % 8 == 0 && off + entry.len() <= self.map.len(),
            "LLQ entry at {off:#x}+{} outside BAR2 ({} bytes) or not in 64-bit words",
            entry.len(),
            self.map.len()
        );
        fence(Ordering::SeqCst);
        // SAFETY: in bounds and 8-byte aligned (checked; the mapping is
        // page aligned).
        let dst = unsafe { self.map.ptr().add(off).cast::<u64>() };
        for (i, w) in entry.chunks_exact(8).enumerate() {
            let v = u64::from_ne_bytes(w.try_into().expect("8 bytes"));
            // SAFETY: word i of the checked range; volatile: device memory.
            unsafe { std::ptr::write_volatile(dst.add(i), v) };
        }
    }
}
