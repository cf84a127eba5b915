//! The device in sysfs: found by its MAC (through the interface its kernel
//! driver made) or by its PCI address, checked to be an ENA, taken from its
//! kernel driver and given back. Everything goes through a sysfs root
//! (`/sys` on a host, a directory tree in the tests).
//!
//! Taking: `driver_override` names this driver (so no kernel driver binds
//! it meanwhile), then the bound driver's `unbind`. Giving back:
//! `driver_override` as it was, then `drivers_probe`: the kernel's `ena`
//! probes the device again, or the driver the override pinned it to (the
//! lab pins its ENI to `ena_custom` that way, and gets it back there).

use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;

/// Amazon's PCI vendor id.
pub const VENDOR_AMAZON: u16 = 0x1d0f;
/// The ENA device ids (`ena_pci_tbl`): PF, LLQ PF, VF, LLQ VF.
pub const ENA_DEVICE_IDS: [u16; 4] = [0x0ec2, 0x1ec2, 0xec20, 0xec21];

/// A MAC address as `02:e1:ab:00:00:0b`.
pub fn parse_mac(s: &str) -> Result<[u8; 6], Error> {
    let bad = || {
        Error::new(format!(
            "'{s}' is not a MAC address (six hex bytes, e.g. 02:e1:ab:00:00:0b)"
        ))
    };
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A PCI address in sysfs' form `0000:00:04.0`; `00:04.0` gets domain 0.
pub fn parse_bdf(s: &str) -> Result<String, Error> {
    let full = if s.matches(':').count() == 1 {
        format!("0000:{s}")
    } else {
        s.to_string()
    };
    let ok = full.len() == 12
        && full.char_indices().all(|(i, c)| match i {
            4 | 7 => c == ':',
            10 => c == '.',
            11 => ('0'..='7').contains(&c),
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        });
    if ok {
        Ok(full)
    } else {
        Err(Error::new(format!(
            "'{s}' is not a PCI address (domain:bus:device.function in lower-case hex, e.g. 0000:00:04.0)"
        )))
    }
}

/// One PCI function under a sysfs root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciDevice {
    root: PathBuf,
    bdf: String,
}

fn read_trimmed(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io("cannot read", path, e))
}

fn read_hex(path: &Path) -> Result<u32, Error> {
    let s = read_trimmed(path)?;
    u32::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|_| Error::new(format!("{} holds '{s}', not a hex number", path.display())))
}

fn write(path: &Path, value: &str) -> Result<(), Error> {
    fs::write(path, value)
        .map_err(|e| Error::io(&format!("cannot write '{}' to", value.trim()), path, e))
}

impl PciDevice {
    /// The function at `bdf` (see [`parse_bdf`]), which must exist.
    pub fn at(root: &Path, bdf: &str) -> Result<Self, Error> {
        let bdf = parse_bdf(bdf)?;
        let d = Self {
            root: root.to_path_buf(),
            bdf,
        };
        if !d.path().is_dir() {
            return Err(Error::new(format!(
                "no PCI device {} ({} does not exist)",
                d.bdf,
                d.path().display()
            )));
        }
        Ok(d)
    }

    /// The function whose network interface has `mac`. A device no kernel
    /// driver holds has no interface: name it by its PCI address.
    pub fn by_mac(root: &Path, mac: &[u8; 6]) -> Result<Self, Error> {
        let want = format_mac(mac);
        let net = root.join("class/net");
        let entries = fs::read_dir(&net).map_err(|e| Error::io("cannot list", &net, e))?;
        for e in entries.flatten() {
            let dir = e.path();
            let Ok(addr) = read_trimmed(&dir.join("address")) else {
                continue;
            };
            if addr != want {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let dev = fs::read_link(dir.join("device")).map_err(|_| {
                Error::new(format!(
                    "interface {name} has MAC {want} but is not a PCI device"
                ))
            })?;
            let bdf = dev
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Self::at(root, &bdf)
                .map_err(|e| Error::new(format!("interface {name} has MAC {want}, but: {e}")));
        }
        Err(Error::new(format!(
            "no network interface has MAC {want} (a device that no kernel driver holds has none: name it by its PCI address)"
        )))
    }

    pub fn bdf(&self) -> &str {
        &self.bdf
    }
    /// `<root>/bus/pci/devices/<bdf>`
    pub fn path(&self) -> PathBuf {
        self.root.join("bus/pci/devices").join(&self.bdf)
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// (vendor, device)
    pub fn ids(&self) -> Result<(u16, u16), Error> {
        Ok((
            read_hex(&self.file("vendor"))? as u16,
            read_hex(&self.file("device"))? as u16,
        ))
    }

    /// Refuses anything but an ENA, naming what it is.
    pub fn check_ena(&self) -> Result<(), Error> {
        let (v, d) = self.ids()?;
        if v == VENDOR_AMAZON && ENA_DEVICE_IDS.contains(&d) {
            Ok(())
        } else {
            Err(Error::new(format!(
                "{} is {v:04x}:{d:04x}, not an ENA ({VENDOR_AMAZON:04x}:{})",
                self.bdf,
                ENA_DEVICE_IDS.map(|i| format!("{i:04x}")).join("/")
            )))
        }
    }

    /// The PCI revision: bit 0 (`ENA_MMIO_DISABLE_REG_READ`) set means the
    /// registers are read directly, clear means read-less.
    pub fn revision(&self) -> Result<u8, Error> {
        Ok(read_hex(&self.file("revision"))? as u8)
    }

    /// The kernel driver bound to the device, if any.
    pub fn driver(&self) -> Option<String> {
        fs::read_link(self.file("driver"))
            .ok()
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
    }

    /// The network interfaces the device's driver made.
    pub fn interfaces(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.file("net"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// `driver_override`, empty when unset.
    pub fn driver_override(&self) -> Result<String, Error> {
        let s = read_trimmed(&self.file("driver_override"))?;
        Ok(if s == "(null)" { String::new() } else { s })
    }
}

/// A device taken from its kernel driver for `owner`; given back by
/// [`Claim::release`], or on drop (an error or a panic on the way out).
#[derive(Debug)]
pub struct Claim {
    dev: PciDevice,
    previous: Option<String>,
    /// The override found, restored on the way out ("" for none).
    pinned: String,
    released: bool,
}

impl Claim {
    /// Sets `driver_override` to `owner` and unbinds the kernel driver.
    /// An override that pins the device to the driver bound now is kept
    /// for the way back; any other is someone else's, and refused.
    pub fn take(dev: &PciDevice, owner: &str) -> Result<Self, Error> {
        let current = dev.driver_override()?;
        let bound = dev.driver();
        if !current.is_empty() && bound.as_deref() != Some(current.as_str()) {
            return Err(Error::new(format!(
                "{}: driver_override is already '{current}' (another tool holds it; clear it with: echo > {})",
                dev.bdf(),
                dev.file("driver_override").display()
            )));
        }
        write(&dev.file("driver_override"), owner)?;
        let mut claim = Self {
            dev: dev.clone(),
            previous: bound,
            pinned: current,
            released: false,
        };
        if let Some(drv) = &claim.previous {
            let unbind = dev.file("driver/unbind");
            if let Err(e) = write(&unbind, dev.bdf()) {
                claim.released = true;
                let _ = write(&dev.file("driver_override"), &restore(&claim.pinned));
                return Err(Error::new(format!(
                    "cannot take {} from {drv}: {e}",
                    dev.bdf()
                )));
            }
        }
        Ok(claim)
    }

    pub fn device(&self) -> &PciDevice {
        &self.dev
    }
    /// The driver the device was taken from.
    pub fn previous_driver(&self) -> Option<&str> {
        self.previous.as_deref()
    }
    /// What `driver_override` said before the claim ("" when unset):
    /// release writes it back.
    pub fn pinned(&self) -> &str {
        &self.pinned
    }

    /// Puts `driver_override` back as it was and asks the kernel to probe
    /// the device: its ENA driver (or the one it was pinned to) takes it.
    pub fn release(mut self) -> Result<(), Error> {
        self.released = true;
        give_back(&self.dev, &self.pinned)
    }
}

/// What to write to `driver_override` to leave it as `pinned` says ("\n"
/// clears it).
fn restore(pinned: &str) -> String {
    if pinned.is_empty() {
        "\n".into()
    } else {
        pinned.into()
    }
}

fn give_back(dev: &PciDevice, pinned: &str) -> Result<(), Error> {
    write(&dev.file("driver_override"), &restore(pinned))?;
    write(&dev.root.join("bus/pci/drivers_probe"), dev.bdf())
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.released {
            if let Err(e) = give_back(&self.dev, &self.pinned) {
                eprintln!("ena-pci: giving {} back failed: {e}", self.dev.bdf());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A sysfs tree with one ENA at 0000:00:04.0 bound to `ena` with
    /// interface eth1, and one e1000 at 0000:00:02.0 with eth0.
    fn tree() -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "ena-pci-sysfs-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&root);
        for (bdf, ids, drv, ifname, mac) in [
            (
                "0000:00:04.0",
                ("0x1d0f", "0xec20"),
                "ena",
                "eth1",
                "02:e1:ab:00:00:0b",
            ),
            (
                "0000:00:02.0",
                ("0x8086", "0x100e"),
                "e1000",
                "eth0",
                "52:54:00:12:34:56",
            ),
        ] {
            let d = root.join("bus/pci/devices").join(bdf);
            fs::create_dir_all(d.join("net").join(ifname)).unwrap();
            fs::write(d.join("vendor"), format!("{}\n", ids.0)).unwrap();
            fs::write(d.join("device"), format!("{}\n", ids.1)).unwrap();
            fs::write(d.join("revision"), "0x00\n").unwrap();
            fs::write(d.join("driver_override"), "(null)\n").unwrap();
            let drvdir = root.join("bus/pci/drivers").join(drv);
            fs::create_dir_all(&drvdir).unwrap();
            fs::write(drvdir.join("unbind"), "").unwrap();
            symlink(&drvdir, d.join("driver")).unwrap();
            let n = root.join("class/net").join(ifname);
            fs::create_dir_all(&n).unwrap();
            fs::write(n.join("address"), format!("{mac}\n")).unwrap();
            symlink(format!("../../../bus/pci/devices/{bdf}"), n.join("device")).unwrap();
        }
        fs::write(root.join("bus/pci/drivers_probe"), "").unwrap();
        root
    }

    #[test]
    fn macs_and_pci_addresses_are_parsed_and_bad_ones_named() {
        assert_eq!(
            parse_mac("02:e1:ab:00:00:0B").unwrap(),
            [2, 0xe1, 0xab, 0, 0, 0xb]
        );
        for bad in [
            "02:e1:ab:00:00",
            "02:e1:ab:00:00:0g",
            "02e1ab00000b",
            "2:e1:ab:00:00:0b",
        ] {
            let e = parse_mac(bad).unwrap_err();
            assert!(e.message().contains(&format!("'{bad}'")), "{e}");
        }
        assert_eq!(parse_bdf("00:04.0").unwrap(), "0000:00:04.0");
        assert_eq!(parse_bdf("0000:00:1f.7").unwrap(), "0000:00:1f.7");
        for bad in [
            "00:04.8",
            "0000:00:04",
            "0000:00:1F.0",
            "04.0",
            "0000:00:04.0x",
        ] {
            let e = parse_bdf(bad).unwrap_err();
            assert!(e.message().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn a_device_is_found_by_mac_or_address_and_only_an_ena_passes() {
        let root = tree();
        let d = PciDevice::by_mac(&root, &parse_mac("02:e1:ab:00:00:0b").unwrap()).unwrap();
        assert_eq!(d.bdf(), "0000:00:04.0");
        assert_eq!(d.driver().as_deref(), Some("ena"));
        assert_eq!(d.interfaces(), vec!["eth1"]);
        assert_eq!(d.revision().unwrap(), 0);
        d.check_ena().unwrap();
        assert_eq!(PciDevice::at(&root, "00:04.0").unwrap(), d);

        let nic = PciDevice::at(&root, "0000:00:02.0").unwrap();
        let e = nic.check_ena().unwrap_err();
        assert!(
            e.message()
                .contains("0000:00:02.0 is 8086:100e, not an ENA"),
            "{e}"
        );
        let e = PciDevice::by_mac(&root, &[2, 0, 0, 0, 0, 9]).unwrap_err();
        assert!(
            e.message()
                .contains("no network interface has MAC 02:00:00:00:00:09"),
            "{e}"
        );
        let e = PciDevice::at(&root, "0000:00:09.0").unwrap_err();
        assert!(e.message().contains("no PCI device 0000:00:09.0"), "{e}");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_claim_overrides_and_unbinds_and_gives_back_on_release_or_drop() {
        let root = tree();
        let d = PciDevice::at(&root, "0000:00:04.0").unwrap();
        let unbind = root.join("bus/pci/drivers/ena/unbind");
        let probe = root.join("bus/pci/drivers_probe");
        let c = Claim::take(&d, "ena-tap").unwrap();
        assert_eq!(c.previous_driver(), Some("ena"));
        assert_eq!(d.driver_override().unwrap(), "ena-tap");
        assert_eq!(fs::read_to_string(&unbind).unwrap(), "0000:00:04.0");
        // Someone else's override is refused, and named.
        let e = Claim::take(&d, "other").unwrap_err();
        assert!(
            e.message().contains("driver_override is already 'ena-tap'"),
            "{e}"
        );
        c.release().unwrap();
        assert_eq!(d.driver_override().unwrap(), "");
        assert_eq!(fs::read_to_string(&probe).unwrap(), "0000:00:04.0");

        // Dropped without release (an error on the way): given back too.
        fs::write(&probe, "").unwrap();
        drop(Claim::take(&d, "ena-tap").unwrap());
        assert_eq!(d.driver_override().unwrap(), "");
        assert_eq!(fs::read_to_string(&probe).unwrap(), "0000:00:04.0");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_override_pinning_the_bound_driver_is_kept_for_the_way_back() {
        let root = tree();
        let d = PciDevice::at(&root, "0000:00:04.0").unwrap();
        let over = d.file("driver_override");
        // Pinned to the driver that holds it (bind.sh pins ena_custom so).
        fs::write(&over, "ena\n").unwrap();
        let c = Claim::take(&d, "ena-tap").unwrap();
        assert_eq!(d.driver_override().unwrap(), "ena-tap");
        c.release().unwrap();
        assert_eq!(d.driver_override().unwrap(), "ena");
        drop(Claim::take(&d, "ena-tap").unwrap());
        assert_eq!(d.driver_override().unwrap(), "ena");
        // Pinned to a driver that does not hold it: someone else's.
        fs::write(&over, "vfio-pci\n").unwrap();
        let e = Claim::take(&d, "ena-tap").unwrap_err();
        assert!(
            e.message()
                .contains("driver_override is already 'vfio-pci'"),
            "{e}"
        );
        fs::remove_dir_all(root).unwrap();
    }
}
