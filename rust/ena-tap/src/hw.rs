//! The real device behind the port: BAR0 read directly or the read-less
//! way as its PCI revision says, BAR2 for LLQ when mapped, DMA memory from
//! the hugepage pool, the wall clock.

use ena_core::mmio::{ReadLessError, ReadLessRegs};
use ena_core::regs::Registers;
use ena_pci::bar::Bar0;
use ena_pci::clock::WallClock;
use ena_pci::hugepage::DmaChunk;

/// `ENA_REG_READ_TIMEOUT`-like bound for one read-less read (the kernel
/// driver's default is 200 ms).
pub const READ_LESS_TIMEOUT_US: u64 = 200_000;

/// BAR0 as the device's revision asks it to be read.
pub enum Regs {
    /// Revision bit 0 (`ENA_MMIO_DISABLE_REG_READ`) set: plain reads.
    Direct(Bar0),
    /// Revision bit 0 clear (EC2's devices): the device DMA-writes each value.
    ReadLess(Box<ReadLessRegs<Bar0, DmaChunk, WallClock>>),
}

impl Regs {
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Direct(_) => "direct register reads",
            Self::ReadLess(_) => "read-less register reads",
        }
    }
    /// Why a read-less read failed last, for an error message.
    pub fn read_less_error(&self) -> Option<ReadLessError> {
        match self {
            Self::Direct(_) => None,
            Self::ReadLess(r) => r.last_error(),
        }
    }
}

impl Registers for Regs {
    #[inline(always)]
    fn read32(&mut self, off: u32) -> u32 {
        match self {
            Self::Direct(b) => b.read32(off),
            Self::ReadLess(r) => r.read32(off),
        }
    }
    #[inline(always)]
    fn write32(&mut self, off: u32, value: u32) {
        match self {
            Self::Direct(b) => b.write32(off, value),
            Self::ReadLess(r) => r.write32(off, value),
        }
    }
}
