//! The C library calls and kernel structures this crate uses, declared here
//! rather than taken from the `libc` crate: the driver then builds from its
//! own sources with `rustc` alone, on a host with no crate registry (the
//! lab's build step, the offline twin). The values are Linux's on x86_64
//! and aarch64 with glibc (`asm-generic` and `bits/` headers; man pages
//! mmap(2), poll(2), sigaction(2), getifaddrs(3), netdevice(7)); the size
//! assertions pin the layouts.

#![allow(non_camel_case_types)]

pub use std::ffi::{c_char, c_int, c_short, c_uint, c_ulong, c_void};

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("ena-pci declares Linux's x86_64 and aarch64 ABI only");

pub const PROT_READ: c_int = 0x1;
pub const PROT_WRITE: c_int = 0x2;
pub const MAP_SHARED: c_int = 0x01;
pub const MAP_LOCKED: c_int = 0x2000;
pub const MAP_POPULATE: c_int = 0x8000;
pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

pub const O_NONBLOCK: c_int = 0o4000;
pub const EIO: i32 = 5;

pub const SIGHUP: c_int = 1;
pub const SIGINT: c_int = 2;
pub const SIGTERM: c_int = 15;

pub const AF_INET: c_int = 2;
pub const AF_INET6: c_int = 10;
pub const SOCK_DGRAM: c_int = 2;
pub const SOCK_CLOEXEC: c_int = 0o2000000;

pub const POLLIN: c_short = 0x1;

pub const IFNAMSIZ: usize = 16;
pub const IFF_UP: c_short = 0x1;
pub const SIOCGIFFLAGS: c_ulong = 0x8913;
pub const SIOCSIFFLAGS: c_ulong = 0x8914;
pub const SIOCSIFMTU: c_ulong = 0x8922;
pub const SIOCSIFHWADDR: c_ulong = 0x8924;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sockaddr {
    pub sa_family: u16,
    pub sa_data: [c_char; 14],
}

#[repr(C)]
pub struct sockaddr_in {
    pub sin_family: u16,
    pub sin_port: u16,
    /// Network byte order.
    pub sin_addr: u32,
    pub sin_zero: [u8; 8],
}

#[repr(C)]
pub struct sockaddr_in6 {
    pub sin6_family: u16,
    pub sin6_port: u16,
    pub sin6_flowinfo: u32,
    pub sin6_addr: [u8; 16],
    pub sin6_scope_id: u32,
}

/// `struct ifreq`'s union: 24 bytes on a 64-bit kernel (its largest
/// member, `struct ifmap`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union ifr_ifru {
    pub ifru_flags: c_short,
    pub ifru_mtu: c_int,
    pub ifru_hwaddr: sockaddr,
    _ifru_map: [c_ulong; 3],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ifreq {
    pub ifr_name: [c_char; IFNAMSIZ],
    pub ifr_ifru: ifr_ifru,
}

#[repr(C)]
pub struct pollfd {
    pub fd: c_int,
    pub events: c_short,
    pub revents: c_short,
}

/// glibc's `struct sigaction` (not the kernel's): the handler, a
/// 1024-bit mask, the flags, the restorer.
#[repr(C)]
pub struct sigaction {
    pub sa_handler: usize,
    pub sa_mask: [c_ulong; 16],
    pub sa_flags: c_int,
    pub sa_restorer: usize,
}

#[repr(C)]
pub struct ifaddrs {
    pub ifa_next: *mut ifaddrs,
    pub ifa_name: *mut c_char,
    pub ifa_flags: c_uint,
    pub ifa_addr: *mut sockaddr,
    pub ifa_netmask: *mut sockaddr,
    pub ifa_ifu: *mut sockaddr,
    pub ifa_data: *mut c_void,
}

const _: () = assert!(std::mem::size_of::<sockaddr>() == 16);
const _: () = assert!(std::mem::size_of::<sockaddr_in>() == 16);
const _: () = assert!(std::mem::size_of::<sockaddr_in6>() == 28);
const _: () = assert!(std::mem::size_of::<ifreq>() == 40);
const _: () = assert!(std::mem::size_of::<pollfd>() == 8);
const _: () = assert!(std::mem::size_of::<sigaction>() == 152);
const _: () = assert!(std::mem::size_of::<ifaddrs>() == 56);

extern "C" {
    pub fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        offset: i64,
    ) -> *mut c_void;
    pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
    pub fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    pub fn poll(fds: *mut pollfd, nfds: c_ulong, timeout: c_int) -> c_int;
    pub fn sigaction(sig: c_int, act: *const sigaction, old: *mut sigaction) -> c_int;
    pub fn raise(sig: c_int) -> c_int;
    pub fn getifaddrs(head: *mut *mut ifaddrs) -> c_int;
    pub fn freeifaddrs(head: *mut ifaddrs);
}
