//! The C original behind a safe Rust front: `ena_eth_com.c` from the upstream
//! 2.15.0 tree, compiled with our shim (see `shim/ena_shim.h`), so tests and
//! benchmarks can feed it the same inputs as `ena-core`.
//!
//! `unsafe` lives only here, at the FFI boundary; every block says why it
//! holds.

use std::ffi::{c_char, c_int, CStr};

#[repr(C)]
struct CDev {
    _opaque: [u8; 0],
}

/// `struct cref_tx_in` of glue.c: one packet, flattened.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct TxIn {
    pub paddr: [u64; 16],
    pub len: [u16; 16],
    pub num_bufs: u16,
    pub req_id: u16,
    pub header_len: u16,
    pub mss: u16,
    pub l3_hdr_len: u16,
    pub l3_hdr_offset: u16,
    pub l4_hdr_len: u16,
    pub l3_proto: u8,
    pub l4_proto: u8,
    pub meta_valid: u8,
    pub tso: u8,
    pub l3_csum: u8,
    pub l4_csum: u8,
    pub l4_csum_partial: u8,
    pub df: u8,
}

/// `struct cref_rx_out` of glue.c.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct RxOut {
    pub descs: u16,
    pub l3_proto: u8,
    pub l4_proto: u8,
    pub l3_csum_err: u8,
    pub l4_csum_err: u8,
    pub l4_csum_checked: u8,
    pub frag: u8,
    pub hash: u32,
    pub pkt_offset: u8,
}

/// `struct ena_com_rx_buf_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct RxBufInfo {
    pub len: u16,
    pub req_id: u16,
}

#[repr(C)]
struct CField {
    name: *const c_char,
    offset: usize,
    size: usize,
}

extern "C" {
    fn cref_dev_new() -> *mut CDev;
    fn cref_dev_free(dev: *mut CDev);
    fn cref_tx_init(
        dev: *mut CDev,
        ring: *mut u8,
        depth: u16,
        dma_bits: u8,
        max_hdr: u32,
        no_meta_cache: u8,
    );
    fn cref_prepare_tx(dev: *mut CDev, inp: *const TxIn, nb: *mut c_int) -> c_int;
    fn cref_tx_state(dev: *mut CDev, tail: *mut u16, phase: *mut u8, ntc: *mut u16);
    fn cref_comp_ack(dev: *mut CDev, n: u16);
    fn cref_cq_init(dev: *mut CDev, ring: *mut u8, depth: u16, entry_size: u8, rx: u8);
    fn cref_tx_comp(dev: *mut CDev, req_id: *mut u16) -> c_int;
    fn cref_cq_state(
        dev: *mut CDev,
        head: *mut u16,
        phase: *mut u8,
        cur_count: *mut u16,
        cur_start: *mut u16,
    );
    fn cref_rx_sq_init(dev: *mut CDev, ring: *mut u8, depth: u16, dma_bits: u8);
    fn cref_rx_add(dev: *mut CDev, paddr: u64, len: u16, req_id: u16) -> c_int;
    fn cref_rx_pkt(dev: *mut CDev, bufs: *mut RxBufInfo, max_bufs: u16, out: *mut RxOut) -> c_int;
    fn cref_fields(out: *mut *const CField) -> usize;
}

/// One queue pair of the C driver, with its rings owned here.
pub struct CQueues {
    dev: *mut CDev,
    sq_ring: Vec<u8>,
    cq_ring: Vec<u8>,
}

/// Submission queue state: (tail, phase, next_to_comp).
pub type SqState = (u16, u8, u16);
/// Completion queue state: (head, phase, current packet's count, start).
pub type CqState = (u16, u8, u16, u16);

impl CQueues {
    fn alloc(sq_bytes: usize, cq_bytes: usize) -> Self {
        // SAFETY: cref_dev_new only allocates and zeroes; a null return is checked.
        let dev = unsafe { cref_dev_new() };
        assert!(!dev.is_null(), "allocating ena_com_dev failed");
        Self {
            dev,
            sq_ring: vec![0; sq_bytes],
            cq_ring: vec![0; cq_bytes],
        }
    }

    /// A Tx queue pair in host placement: `depth` 16-byte descriptors and
    /// `depth` 8-byte completions.
    pub fn tx(depth: u16, dma_bits: u8, max_header: u32, no_meta_cache: bool) -> Self {
        let mut q = Self::alloc(depth as usize * 16, depth as usize * 8);
        // SAFETY: dev is live; both rings are owned by `q`, never reallocated,
        // and sized for `depth` entries, which is all ena_com indexes.
        unsafe {
            cref_tx_init(
                q.dev,
                q.sq_ring.as_mut_ptr(),
                depth,
                dma_bits,
                max_header,
                no_meta_cache as u8,
            );
            cref_cq_init(q.dev, q.cq_ring.as_mut_ptr(), depth, 8, 0);
        }
        q
    }

    /// An Rx queue pair: `depth` 16-byte descriptors, `depth` completions of
    /// `entry_size` bytes.
    pub fn rx(depth: u16, dma_bits: u8, entry_size: u8) -> Self {
        let mut q = Self::alloc(depth as usize * 16, depth as usize * entry_size as usize);
        // SAFETY: as in `tx`.
        unsafe {
            cref_rx_sq_init(q.dev, q.sq_ring.as_mut_ptr(), depth, dma_bits);
            cref_cq_init(q.dev, q.cq_ring.as_mut_ptr(), depth, entry_size, 1);
        }
        q
    }

    pub fn sq_ring(&self) -> &[u8] {
        &self.sq_ring
    }
    /// The completion ring, for a test to play the device.
    pub fn cq_ring_mut(&mut self) -> &mut [u8] {
        &mut self.cq_ring
    }

    /// `ena_com_prepare_tx`: Ok(descriptors used) or Err(-errno).
    pub fn prepare_tx(&mut self, inp: &TxIn) -> Result<u16, i32> {
        let mut nb: c_int = 0;
        // SAFETY: dev and the ring are live; `inp` is a valid TxIn and glue.c
        // reads at most 16 buffers from it; nb is a valid out-pointer.
        let rc = unsafe { cref_prepare_tx(self.dev, inp, &mut nb) };
        if rc == 0 {
            Ok(nb as u16)
        } else {
            Err(rc)
        }
    }

    pub fn comp_ack(&mut self, n: u16) {
        // SAFETY: dev is live; the call only updates a counter.
        unsafe { cref_comp_ack(self.dev, n) }
    }

    pub fn sq_state(&self) -> SqState {
        let (mut t, mut p, mut n) = (0, 0, 0);
        // SAFETY: dev is live; the out-pointers are valid locals.
        unsafe { cref_tx_state(self.dev, &mut t, &mut p, &mut n) };
        (t, p, n)
    }

    pub fn cq_state(&self) -> CqState {
        let (mut h, mut p, mut c, mut s) = (0, 0, 0, 0);
        // SAFETY: dev is live; the out-pointers are valid locals.
        unsafe { cref_cq_state(self.dev, &mut h, &mut p, &mut c, &mut s) };
        (h, p, c, s)
    }

    /// `ena_com_tx_comp_metadata_get`: Ok(req_id) or Err(-errno).
    pub fn tx_comp(&mut self) -> Result<u16, i32> {
        let mut id = 0u16;
        // SAFETY: dev and the completion ring are live; id is a valid local.
        let rc = unsafe { cref_tx_comp(self.dev, &mut id) };
        if rc == 0 {
            Ok(id)
        } else {
            Err(rc)
        }
    }

    /// `ena_com_add_single_rx_desc`.
    pub fn rx_add(&mut self, paddr: u64, len: u16, req_id: u16) -> Result<(), i32> {
        // SAFETY: dev and the Rx ring are live.
        let rc = unsafe { cref_rx_add(self.dev, paddr, len, req_id) };
        if rc == 0 {
            Ok(())
        } else {
            Err(rc)
        }
    }

    /// `ena_com_rx_pkt` into `bufs`.
    pub fn rx_pkt(&mut self, bufs: &mut [RxBufInfo]) -> Result<RxOut, i32> {
        let mut out = RxOut::default();
        let max = bufs.len().min(u16::MAX as usize) as u16;
        // SAFETY: dev and both rings are live; ena_com writes at most
        // `max_bufs` entries into `bufs`, which has that many.
        let rc = unsafe { cref_rx_pkt(self.dev, bufs.as_mut_ptr(), max, &mut out) };
        if rc == 0 {
            Ok(out)
        } else {
            Err(rc)
        }
    }
}

impl Drop for CQueues {
    fn drop(&mut self) {
        // SAFETY: dev came from cref_dev_new and is freed once, here.
        unsafe { cref_dev_free(self.dev) }
    }
}

/// Every (field, offset, size) of the C wire formats; a struct's own line
/// has its size and offset 0.
pub fn c_layout() -> Vec<(String, usize, usize)> {
    let mut p: *const CField = std::ptr::null();
    // SAFETY: cref_fields points `p` at a static array and returns its length.
    let n = unsafe { cref_fields(&mut p) };
    // SAFETY: `p` points at `n` initialised, static CField entries.
    let fields = unsafe { std::slice::from_raw_parts(p, n) };
    fields
        .iter()
        .map(|f| {
            // SAFETY: every name is a static NUL-terminated string literal.
            let name = unsafe { CStr::from_ptr(f.name) }
                .to_string_lossy()
                .into_owned();
            (name, f.offset, f.size)
        })
        .collect()
}
