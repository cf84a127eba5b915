//! DMA memory from hugepages. A 2 MiB hugepage is physically contiguous,
//! so one pagemap look-up gives the bus address of every byte in it; it is
//! never swapped, and locked besides. The pool maps all its pages at the
//! start (a shortage is one clear error, not a failure mid-way) from files
//! in a hugetlbfs mount, unlinked at once so nothing is left behind.
//!
//! [`HugePool::alloc`] carves 4 KiB-aligned, zeroed chunks out of the
//! pages; a page whose chunks are all dropped is reused (a reset allocates
//! every ring anew). A chunk never crosses a page, so at most 2 MiB.

use crate::sys;
use std::cell::RefCell;
use std::fs::{self, OpenOptions};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{fence, Ordering};

use ena_core::device::DmaAllocator;
use ena_core::dma::DmaMemory;

use crate::mmap::Mapping;
use crate::pagemap::Pagemap;
use crate::Error;

/// The hugepage size the pool uses.
pub const HUGE_PAGE: usize = 2 << 20;
const ALIGN: usize = 4096;

struct Page {
    map: Mapping,
    phys: u64,
    used: usize,
    live: usize,
}

/// Hugepages mapped for DMA, shared by every chunk cut from them.
#[derive(Clone)]
pub struct HugePool {
    pages: Rc<RefCell<Vec<Page>>>,
}

impl HugePool {
    /// Maps `count` 2 MiB pages from the hugetlbfs mounted at `dir`.
    pub fn new(dir: &Path, count: usize) -> Result<Self, Error> {
        let pagemap = Pagemap::open()?;
        let mut pages = Vec::with_capacity(count);
        for i in 0..count {
            let path = dir.join(format!("ena-pci-{}-{i}", std::process::id()));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| {
                    Error::io(
                        "cannot create a hugepage file (is hugetlbfs mounted there?)",
                        &path,
                        e,
                    )
                })?;
            let mapped = file
                .set_len(HUGE_PAGE as u64)
                .and_then(|_| Mapping::new(&file, HUGE_PAGE, sys::MAP_POPULATE | sys::MAP_LOCKED));
            let _ = fs::remove_file(&path);
            let map = mapped.map_err(|e| {
                Error::new(format!(
                    "hugetlbfs at {} gave {i} of the {count} 2 MiB pages needed ({e}): reserve more with echo N > /proc/sys/vm/nr_hugepages",
                    dir.display()
                ))
            })?;
            // SAFETY: the mapping is HUGE_PAGE bytes long; zeroing it also
            // faults it in before the page table is asked.
            unsafe { std::ptr::write_bytes(map.ptr(), 0, HUGE_PAGE) };
            let first = pagemap.phys(map.ptr() as u64)?;
            let last = pagemap.phys(map.ptr() as u64 + (HUGE_PAGE - ALIGN) as u64)?;
            if last != first + (HUGE_PAGE - ALIGN) as u64 || first % HUGE_PAGE as u64 != 0 {
                return Err(Error::new(format!(
                    "{} did not give a physically contiguous 2 MiB page (first 4 KiB at {first:#x}, last at {last:#x}): is it a hugetlbfs mount with 2 MiB pages?",
                    dir.display()
                )));
            }
            pages.push(Page {
                map,
                phys: first,
                used: 0,
                live: 0,
            });
        }
        Ok(Self {
            pages: Rc::new(RefCell::new(pages)),
        })
    }

    pub fn page_count(&self) -> usize {
        self.pages.borrow().len()
    }

    /// A zeroed chunk of `len` bytes (at most [`HUGE_PAGE`]), 4 KiB aligned,
    /// physically contiguous; an error when no page has room.
    pub fn try_alloc(&self, len: usize) -> Result<DmaChunk, Error> {
        let len = len.max(1);
        if len > HUGE_PAGE {
            return Err(Error::new(format!(
                "a DMA chunk of {len} bytes is larger than a hugepage ({HUGE_PAGE})"
            )));
        }
        let rounded = len.div_ceil(ALIGN) * ALIGN;
        let mut pages = self.pages.borrow_mut();
        let fill: Vec<(usize, usize)> = pages.iter().map(|p| (p.used, p.live)).collect();
        let Some(i) = pick_page(&fill, rounded) else {
            return Err(Error::new(format!(
                "the {} hugepages of the pool are used up (asked for {len} bytes)",
                pages.len()
            )));
        };
        let page = &mut pages[i];
        if page.live == 0 {
            page.used = 0;
        }
        let off = page.used;
        page.used += rounded;
        page.live += 1;
        // SAFETY: off + len <= HUGE_PAGE, inside the page's mapping, and no
        // live chunk covers these bytes (chunks never overlap).
        let ptr = unsafe { page.map.ptr().add(off) };
        // SAFETY: as above; a reused page may hold an old ring's bytes.
        unsafe { std::ptr::write_bytes(ptr, 0, len) };
        Ok(DmaChunk {
            pool: self.clone(),
            page: i,
            ptr,
            len,
            phys: page.phys + off as u64,
        })
    }
}

/// Which page a chunk of `rounded` bytes goes to, given each page's
/// (bytes used, live chunks): the first page in use with room after its
/// last chunk, else the first page with no live chunk (started over).
fn pick_page(pages: &[(usize, usize)], rounded: usize) -> Option<usize> {
    pages
        .iter()
        .position(|&(used, live)| live > 0 && used + rounded <= HUGE_PAGE)
        .or_else(|| pages.iter().position(|&(_, live)| live == 0))
}

/// An allocator for ena-core's rings: chunks of the pool.
#[derive(Clone)]
pub struct HugeAlloc(pub HugePool);

impl DmaAllocator for HugeAlloc {
    type Mem = DmaChunk;
    /// # Panics
    /// When the pool is used up: the driver sizes it for its rings and
    /// buffers at the start, so this is a bug, not a shortage.
    fn alloc(&mut self, len: usize) -> DmaChunk {
        match self.0.try_alloc(len) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Bytes of a hugepage the device reads and writes.
pub struct DmaChunk {
    pool: HugePool,
    page: usize,
    ptr: *mut u8,
    len: usize,
    phys: u64,
}

impl DmaChunk {
    #[inline(always)]
    fn check(&self, off: usize, n: usize) {
        assert!(
            off.checked_add(n).is_some_and(|end| end <= self.len),
            "DMA access at {off}+{n} past a chunk of {} bytes",
            self.len
        );
    }
}

impl DmaMemory for DmaChunk {
    fn phys(&self) -> u64 {
        self.phys
    }
    fn len(&self) -> usize {
        self.len
    }

    /// Descriptor-sized reads (8-byte aligned, whole words) go word by word
    /// from the front with volatile loads: a completion's phase byte is in
    /// its first word and the device writes it last, so every later word
    /// read is at least as new. Packet data, stable once its completion was
    /// seen, is copied after an acquire fence.
    #[inline(always)]
    fn read(&self, off: usize, out: &mut [u8]) {
        self.check(off, out.len());
        // SAFETY: within the chunk (checked), which lives as long as self.
        let src = unsafe { self.ptr.add(off) };
        if (src as usize | out.len()) % 8 == 0 && out.len() <= 64 {
            for (i, w) in out.chunks_exact_mut(8).enumerate() {
                // SAFETY: aligned (checked above) and inside the chunk.
                let v = unsafe { std::ptr::read_volatile(src.cast::<u64>().add(i)) };
                w.copy_from_slice(&v.to_ne_bytes());
            }
        } else {
            fence(Ordering::Acquire);
            // SAFETY: src..src+len is inside the chunk; out is a distinct
            // Rust buffer, so the ranges do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        }
    }

    /// The device reads only after a doorbell, whose register write is
    /// fenced ([`crate::bar::Bar0`]): a plain copy is enough here.
    #[inline(always)]
    fn write(&mut self, off: usize, data: &[u8]) {
        self.check(off, data.len());
        // SAFETY: within the chunk (checked); data is a distinct buffer.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(off), data.len()) };
        fence(Ordering::Release);
    }
}

impl Drop for DmaChunk {
    fn drop(&mut self) {
        self.pool.pages.borrow_mut()[self.page].live -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_fill_a_page_in_use_before_starting_an_empty_one() {
        const K: usize = 4096;
        // Page 0 in use with room, page 1 empty: page 0.
        assert_eq!(pick_page(&[(8 * K, 2), (0, 0)], K), Some(0));
        // Page 0 full: the empty page 1.
        assert_eq!(pick_page(&[(HUGE_PAGE, 5), (0, 0)], K), Some(1));
        // A page whose chunks were all dropped is reused, however full.
        assert_eq!(pick_page(&[(HUGE_PAGE, 5), (HUGE_PAGE, 0)], K), Some(1));
        // A whole page needs an empty one.
        assert_eq!(pick_page(&[(K, 1), (0, 0)], HUGE_PAGE), Some(1));
        assert_eq!(pick_page(&[(K, 1), (HUGE_PAGE, 1)], HUGE_PAGE), None);
    }
}
