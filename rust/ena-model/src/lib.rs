//! A software ENA: the device side of the registers, the admin queue, the
//! AENQ and the IO queues, over a shared "bus" that stands for host memory.
//! The driver in `ena-core` runs against it unchanged; a later QEMU device
//! will put the same model behind a real PCI BAR.
//!
//! Each behaviour names the `ena_com.c` function it answers to.

#![forbid(unsafe_code)]

pub mod bus;
mod device;

pub use bus::{Bus, BusAlloc, BusMem, VirtualClock};
pub use device::{Faults, Model, ModelConfig, Stats};
