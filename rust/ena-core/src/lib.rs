//! ENA's data path in Rust: the descriptor formats and the queue logic of
//! `ena_eth_com.c` (what the Linux, DPDK and FreeBSD drivers share), written
//! against small hardware traits (DMA memory, registers and, for LLQ, the
//! device's memory) so a device model, a test or a real device can sit
//! behind them.
//!
//! Modules, one concern each:
//! - [`regs`]: BAR0 register offsets and fields (`ena_regs_defs.h`);
//! - [`wire`]: little-endian encoding of the device's formats;
//! - [`defs`]: descriptors and completions (`ena_eth_io_defs.h`);
//! - [`dma`]: the DMA memory boundary; [`devmem`]: the device's memory (BAR2);
//! - [`admin_defs`]: admin, feature and AENQ formats (`ena_admin_defs.h`);
//! - [`admin`]: the admin queue; [`aenq`]: device events and the keep-alive watchdog;
//! - [`device`]: reset and bring-up; [`mmio`]: register reads in read-less mode;
//! - [`tx`], [`rx`]: submission and completion rings (`ena_eth_com.c`);
//! - [`llq`]: device placement's entry layout and bounce buffer;
//!   [`llq_config`]: the layout chosen from the device's offer;
//! - [`batch`]: Tx doorbell batching and the Rx refill threshold;
//! - [`ring`]: a ring position and its phase bit;
//! - [`reqid`]: the free request-id ring the driver keeps per queue.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod admin;
pub mod admin_defs;
pub mod aenq;
pub mod batch;
pub mod defs;
pub mod device;
pub mod devmem;
pub mod dma;
pub mod error;
pub mod llq;
pub mod llq_config;
pub mod mmio;
pub mod regs;
pub mod reqid;
pub mod ring;
pub mod rx;
pub mod tx;
pub mod wire;

pub use error::Error;

/// Time for timeouts and back-off: the wall clock on a host, a virtual one
/// against the device model (so a timeout test takes no real time).
pub trait Clock {
    fn now_us(&self) -> u64;
    fn sleep_us(&mut self, us: u64);
}
