//! A software ENA: the device side of the registers, the admin queue, the
//! AENQ and the IO queues, over a shared "bus" that stands for host memory.
//! The driver in `ena-core` runs against it unchanged, and the QEMU device
//! (`ena-capi` and `qemu/`) puts the same model behind a real PCI BAR where
//! Linux's own ENA drivers probe it.
//!
//! Each behaviour names the `ena_com.c` function it answers to.

#![forbid(unsafe_code)]

pub mod bus;
mod device;
pub mod rss;
pub mod trace;

pub use bus::{Bus, BusAlloc, BusMem, Platform, VirtualClock};
pub use device::{
    check, test_port, Fault, Faults, Instance, Lifetime, Model, ModelConfig, Response, Stats,
    Violations, CQ_UNMASK_BASE, LLQ_BAR_SIZE, SQ_DOORBELL_BASE,
};
