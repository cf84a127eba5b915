//! Virtual to physical addresses through `/proc/self/pagemap`: one 64-bit
//! entry per 4 KiB page, bit 63 "present", bits 0–54 the page frame number
//! (zero unless the process has CAP_SYS_ADMIN). Without an IOMMU the
//! physical address is the bus address the device is given.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::Error;

const PAGE: u64 = 4096;
const PRESENT: u64 = 1 << 63;
const PFN_MASK: u64 = (1 << 55) - 1;

/// The physical address of `virt` from a pagemap entry, or why not.
pub fn phys_from_entry(entry: u64, virt: u64) -> Result<u64, Error> {
    if entry & PRESENT == 0 {
        return Err(Error::new(format!("page at {virt:#x} is not present")));
    }
    let pfn = entry & PFN_MASK;
    if pfn == 0 {
        return Err(Error::new(
            "/proc/self/pagemap shows no page frame numbers: the driver must run as root (CAP_SYS_ADMIN)",
        ));
    }
    Ok(pfn * PAGE + virt % PAGE)
}

/// The process's page table, as the kernel shows it.
pub struct Pagemap {
    file: File,
}

impl Pagemap {
    pub fn open() -> Result<Self, Error> {
        Self::open_at(Path::new("/proc/self/pagemap"))
    }
    pub fn open_at(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        Ok(Self { file })
    }
    /// The physical address of a virtual one (its page must be touched).
    pub fn phys(&self, virt: u64) -> Result<u64, Error> {
        let mut b = [0u8; 8];
        self.file
            .read_exact_at(&mut b, virt / PAGE * 8)
            .map_err(|e| Error::new(format!("cannot read /proc/self/pagemap at {virt:#x}: {e}")))?;
        phys_from_entry(u64::from_le_bytes(b), virt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_gives_the_frame_plus_the_offset_or_says_why_not() {
        assert_eq!(
            phys_from_entry(PRESENT | 0x1234, 0x7f00_0000_0abc).unwrap(),
            0x1234abc
        );
        let e = phys_from_entry(0x1234, 0x1000).unwrap_err();
        assert!(e.message().contains("not present"), "{e}");
        let e = phys_from_entry(PRESENT, 0x1000).unwrap_err();
        assert!(e.message().contains("must run as root"), "{e}");
    }
}
