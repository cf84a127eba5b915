//! The one place memory is mapped and unmapped: a file (a BAR's
//! `resourceN`, a hugetlbfs page) shared with this process until the
//! mapping is dropped.

use crate::sys;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

/// A shared mapping of `len` bytes of a file.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `file` from offset 0, read-write and shared;
    /// `extra` flags (MAP_POPULATE, MAP_LOCKED) are or'ed in.
    pub fn new(file: &File, len: usize, extra: sys::c_int) -> io::Result<Self> {
        // SAFETY: a fresh mapping chosen by the kernel (no address hint),
        // so it aliases no Rust object; the fd is valid for the call.
        let p = unsafe {
            sys::mmap(
                std::ptr::null_mut(),
                len,
                sys::PROT_READ | sys::PROT_WRITE,
                sys::MAP_SHARED | extra,
                file.as_raw_fd(),
                0,
            )
        };
        if p == sys::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave 0"))?;
        Ok(Self { ptr, len })
    }
    pub fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, and no borrow of
        // the mapping outlives it (every user holds the Mapping alive).
        unsafe {
            sys::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
