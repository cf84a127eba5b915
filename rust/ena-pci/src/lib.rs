//! The PCI backend: ena-core's hardware traits over a real ENA, from
//! userspace and without an IOMMU (the guest-physical address of a page is
//! the bus address the device uses), the way ixy drives its NICs:
//!
//! - [`sysfs`]: the device by MAC or PCI address, taken from its kernel
//!   driver and given back ([`sysfs::Claim`]);
//! - [`config`]: bus mastering switched on and off in config space;
//! - [`bar`]: BAR0 as [`ena_core::regs::Registers`] (`resource0`), BAR2 as
//!   [`ena_core::devmem::DeviceMemory`] (`resource2_wc`, write-combined, for
//!   LLQ);
//! - [`hugepage`]: DMA memory ([`ena_core::dma::DmaMemory`],
//!   [`ena_core::device::DmaAllocator`]) from hugetlbfs, and [`pagemap`]
//!   for the physical address of each page;
//! - [`tap`]: the TAP interface the frames go to, [`ifaddr`]: the
//!   addresses an interface holds;
//! - [`signal`]: SIGTERM and SIGINT as a flag the driver's loop reads;
//! - [`clock`]: the wall clock ena-core's timeouts run on.
//!
//! Every `unsafe` of the userspace driver lives in this crate (the mmap'd
//! BARs and pages, ioctls, the signal handler), each block with a
//! `// SAFETY:` line; the driver above it forbids unsafe code.

pub mod bar;
pub mod clock;
pub mod config;
mod error;
pub mod hugepage;
pub mod ifaddr;
mod mmap;
pub mod pagemap;
pub mod signal;
pub mod sys;
pub mod sysfs;
pub mod tap;

pub use error::Error;
