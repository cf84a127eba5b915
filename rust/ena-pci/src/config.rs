//! PCI config space through sysfs' `config` file: the command register's
//! memory-space and bus-master bits. Without bus mastering the device's
//! DMA (completions, events, packet data) never reaches memory; the kernel
//! driver clears it when it lets the device go, and so do we.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::Error;

/// `PCI_COMMAND` and its bits.
pub const COMMAND: u64 = 0x4;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_MASTER: u16 = 1 << 2;

/// The config space of one function.
pub struct ConfigSpace {
    file: File,
    path: PathBuf,
}

impl ConfigSpace {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("cannot open config space", path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn read16(&self, off: u64) -> Result<u16, Error> {
        let mut b = [0u8; 2];
        self.file
            .read_exact_at(&mut b, off)
            .map_err(|e| Error::io(&format!("cannot read offset {off:#x} of"), &self.path, e))?;
        Ok(u16::from_le_bytes(b))
    }

    pub fn write16(&self, off: u64, v: u16) -> Result<(), Error> {
        self.file
            .write_all_at(&v.to_le_bytes(), off)
            .map_err(|e| Error::io(&format!("cannot write offset {off:#x} of"), &self.path, e))
    }

    /// Memory decoding and bus mastering on (`pci_enable_device_mem`,
    /// `pci_set_master`); returns the command register as it was.
    pub fn enable_bus_master(&self) -> Result<u16, Error> {
        let cmd = self.read16(COMMAND)?;
        self.write16(COMMAND, cmd | COMMAND_MEMORY | COMMAND_MASTER)?;
        let now = self.read16(COMMAND)?;
        if now & COMMAND_MASTER == 0 {
            return Err(Error::new(format!(
                "{}: bus mastering did not switch on (command register {now:#06x})",
                self.path.display()
            )));
        }
        Ok(cmd)
    }

    /// Bus mastering off (`pci_clear_master`): no DMA into memory this
    /// process is about to free.
    pub fn disable_bus_master(&self) -> Result<(), Error> {
        let cmd = self.read16(COMMAND)?;
        self.write16(COMMAND, cmd & !COMMAND_MASTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_mastering_goes_on_and_off_and_the_other_bits_stay() {
        let path = std::env::temp_dir().join(format!("ena-pci-config-{}", std::process::id()));
        let mut space = vec![0u8; 256];
        space[4] = 0x00;
        space[5] = 0x04; // INTx disabled, kept
        std::fs::write(&path, &space).unwrap();
        let c = ConfigSpace::open(&path).unwrap();
        assert_eq!(c.enable_bus_master().unwrap(), 0x0400);
        assert_eq!(c.read16(COMMAND).unwrap(), 0x0406);
        c.disable_bus_master().unwrap();
        assert_eq!(c.read16(COMMAND).unwrap(), 0x0402);
        std::fs::remove_file(&path).unwrap();
        let e = ConfigSpace::open(&path).err().unwrap();
        assert!(e.message().contains("cannot open config space"), "{e}");
    }
}
