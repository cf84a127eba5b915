//! A TAP interface: the kernel's side of the frames the driver moves. Each
//! read gives one Ethernet frame the stack sent out of the TAP, each write
//! hands one received frame to the stack. The interface exists while the
//! file is open (not persistent): the driver's exit removes it.

use crate::sys;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use crate::Error;

/// `_IOW('T', 202, int)` and `_IOW('T', 226, int)` of `linux/if_tun.h`.
const TUNSETIFF: sys::c_ulong = 0x4004_54ca;
const TUNSETCARRIER: sys::c_ulong = 0x4004_54e2;
const IFF_TAP: sys::c_short = 0x0002;
const IFF_NO_PI: sys::c_short = 0x1000;
const ARPHRD_ETHER: u16 = 1;

/// Refuses a name the kernel would refuse or mangle (`dev_valid_name`).
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() < sys::IFNAMSIZ
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if ok {
        Ok(())
    } else {
        Err(Error::new(format!(
            "'{name}' is not an interface name (1-15 printable characters, no '/' or ':')"
        )))
    }
}

fn ifreq(name: &str) -> sys::ifreq {
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut r: sys::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as sys::c_char;
    }
    r
}

/// A TAP interface and the file its frames go through.
pub struct Tap {
    file: File,
    name: String,
    ctl: OwnedFd,
}

impl Tap {
    /// Creates TAP `name` (no packet-information header, non-blocking).
    /// An interface of that name must not exist yet.
    pub fn create(name: &str) -> Result<Self, Error> {
        check_name(name)?;
        if std::path::Path::new("/sys/class/net").join(name).exists() {
            return Err(Error::new(format!("interface {name} already exists")));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(sys::O_NONBLOCK)
            .open("/dev/net/tun")
            .map_err(|e| Error::new(format!("cannot open /dev/net/tun: {e}")))?;
        let mut req = ifreq(name);
        req.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI;
        // SAFETY: TUNSETIFF reads and writes one ifreq, which outlives the call.
        if unsafe { sys::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
            return Err(Error::new(format!(
                "cannot create TAP {name}: {}",
                io::Error::last_os_error()
            )));
        }
        // SAFETY: a plain socket call; the fd is owned from here on.
        let fd = unsafe { sys::socket(sys::AF_INET, sys::SOCK_DGRAM | sys::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Error::new(format!(
                "socket: {}",
                io::Error::last_os_error()
            )));
        }
        // SAFETY: fd is a fresh socket nobody else owns.
        let ctl = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self {
            file,
            name: name.to_string(),
            ctl,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn ctl(&self, what: &str, op: sys::c_ulong, req: &mut sys::ifreq) -> Result<(), Error> {
        // SAFETY: the SIOC* requests used here read or write one ifreq.
        if unsafe { sys::ioctl(self.ctl.as_raw_fd(), op as _, req as *mut sys::ifreq) } < 0 {
            return Err(Error::new(format!(
                "cannot {what} of {}: {}",
                self.name,
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// The interface's MAC (`SIOCSIFHWADDR`): the ENI's own.
    pub fn set_mac(&self, mac: [u8; 6]) -> Result<(), Error> {
        let mut req = ifreq(&self.name);
        // SAFETY: writing the hwaddr member of the union ioctl reads.
        unsafe {
            req.ifr_ifru.ifru_hwaddr.sa_family = ARPHRD_ETHER;
            for (d, s) in req.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac) {
                *d = s as sys::c_char;
            }
        }
        self.ctl("set the MAC", sys::SIOCSIFHWADDR as _, &mut req)
    }

    /// The interface's MTU (`SIOCSIFMTU`).
    pub fn set_mtu(&self, mtu: u32) -> Result<(), Error> {
        let mut req = ifreq(&self.name);
        req.ifr_ifru.ifru_mtu = mtu as sys::c_int;
        self.ctl("set the MTU", sys::SIOCSIFMTU as _, &mut req)
    }

    /// The interface up (`IFF_UP`, as `ip link set NAME up`).
    pub fn set_up(&self) -> Result<(), Error> {
        let mut req = ifreq(&self.name);
        self.ctl("read the flags", sys::SIOCGIFFLAGS as _, &mut req)?;
        // SAFETY: SIOCGIFFLAGS filled the flags member.
        unsafe { req.ifr_ifru.ifru_flags |= sys::IFF_UP as sys::c_short };
        self.ctl("set the flags", sys::SIOCSIFFLAGS as _, &mut req)
    }

    /// Carrier on or off (`TUNSETCARRIER`): the ENI's link, as the stack sees it.
    pub fn set_carrier(&self, on: bool) -> Result<(), Error> {
        let v: sys::c_int = on.into();
        // SAFETY: TUNSETCARRIER reads one int, which outlives the call.
        if unsafe { sys::ioctl(self.file.as_raw_fd(), TUNSETCARRIER, &v) } < 0 {
            return Err(Error::new(format!(
                "cannot set the carrier of {}: {}",
                self.name,
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// One frame the stack sent, or None when there is none now.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One frame to the stack. A full queue in the kernel drops it (as a
    /// NIC drops what its host does not take): false. So does an interface
    /// that is down (EIO), as it is for a moment while it moves to another
    /// namespace.
    pub fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        match self.file.write(frame) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.raw_os_error() == Some(sys::EIO) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until the stack has a frame for us, at most `timeout`.
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut p = sys::pollfd {
            fd: self.file.as_raw_fd(),
            events: sys::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as sys::c_int;
        // SAFETY: one pollfd that outlives the call.
        match unsafe { sys::poll(&mut p, 1, ms) } {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_the_kernel_refuses_are_refused_here() {
        for ok in ["enatap0", "tap-b", "a"] {
            check_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a:1", "has space", "sixteen-chars-xx"] {
            let e = check_name(bad).unwrap_err();
            assert!(e.message().contains(&format!("'{bad}'")), "{e}");
        }
    }
}
