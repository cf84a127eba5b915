//! BAR0 register offsets and fields (`ena_regs_defs.h`). The register access
//! trait is the other half of the hardware boundary, next to [`crate::dma`].

pub const VERSION: u32 = 0x0;
pub const CONTROLLER_VERSION: u32 = 0x4;
pub const CAPS: u32 = 0x8;
pub const CAPS_EXT: u32 = 0xc;
pub const AQ_BASE_LO: u32 = 0x10;
pub const AQ_BASE_HI: u32 = 0x14;
pub const AQ_CAPS: u32 = 0x18;
pub const ACQ_BASE_LO: u32 = 0x20;
pub const ACQ_BASE_HI: u32 = 0x24;
pub const ACQ_CAPS: u32 = 0x28;
pub const AQ_DB: u32 = 0x2c;
pub const ACQ_TAIL: u32 = 0x30;
pub const AENQ_CAPS: u32 = 0x34;
pub const AENQ_BASE_LO: u32 = 0x38;
pub const AENQ_BASE_HI: u32 = 0x3c;
pub const AENQ_HEAD_DB: u32 = 0x40;
pub const AENQ_TAIL: u32 = 0x44;
pub const INTR_MASK: u32 = 0x4c;
pub const DEV_CTL: u32 = 0x54;
pub const DEV_STS: u32 = 0x58;
pub const MMIO_REG_READ: u32 = 0x5c;
pub const MMIO_RESP_LO: u32 = 0x60;
pub const MMIO_RESP_HI: u32 = 0x64;

/// `ENA_REGS_CAPS_*`
pub mod caps {
    pub const RESET_TIMEOUT_SHIFT: u32 = 1;
    pub const RESET_TIMEOUT_MASK: u32 = 0x3e;
    pub const DMA_ADDR_WIDTH_SHIFT: u32 = 8;
    pub const DMA_ADDR_WIDTH_MASK: u32 = 0xff00;
    pub const ADMIN_CMD_TO_SHIFT: u32 = 16;
    pub const ADMIN_CMD_TO_MASK: u32 = 0xf0000;
}

/// `ENA_REGS_DEV_CTL_*`
pub mod dev_ctl {
    pub const DEV_RESET_MASK: u32 = 0x1;
    pub const RESET_REASON_SHIFT: u32 = 28;
    pub const RESET_REASON_MASK: u32 = 0xf000_0000;
}

/// `ENA_REGS_DEV_STS_*`
pub mod dev_sts {
    pub const READY_MASK: u32 = 0x1;
    pub const RESET_IN_PROGRESS_MASK: u32 = 0x8;
    pub const RESET_FINISHED_MASK: u32 = 0x10;
    pub const FATAL_ERROR_MASK: u32 = 0x20;
}

/// Register access: the device's BAR0.
pub trait Registers {
    fn read32(&mut self, off: u32) -> u32;
    fn write32(&mut self, off: u32, value: u32);
}
