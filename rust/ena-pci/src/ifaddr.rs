//! The IP addresses each interface holds (`getifaddrs`), so the driver can
//! tell which interface an SSH session arrives on.

use crate::sys;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// (interface, address) for every address configured on this host.
pub fn all() -> io::Result<Vec<(String, IpAddr)>> {
    let mut head: *mut sys::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills head with a list we free below.
    if unsafe { sys::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur is a node of the list getifaddrs returned, alive
        // until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string of the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null; its family says which sockaddr it is.
        let family = unsafe { (*ifa.ifa_addr).sa_family } as sys::c_int;
        let addr = match family {
            sys::AF_INET => {
                // SAFETY: AF_INET: a sockaddr_in.
                let sin = unsafe { &*ifa.ifa_addr.cast::<sys::sockaddr_in>() };
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr)))
            }
            sys::AF_INET6 => {
                // SAFETY: AF_INET6: a sockaddr_in6.
                let sin6 = unsafe { &*ifa.ifa_addr.cast::<sys::sockaddr_in6>() };
                IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr))
            }
            _ => continue,
        };
        out.push((name, addr));
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { sys::freeifaddrs(head) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_loopback_interface_holds_127_0_0_1() {
        let all = super::all().unwrap();
        assert!(
            all.iter()
                .any(|(n, a)| n == "lo" && a.to_string() == "127.0.0.1"),
            "{all:?}"
        );
    }
}
