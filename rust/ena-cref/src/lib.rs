//! The C original behind a safe Rust front: `ena_eth_com.c` from the upstream
//! 2.15.0 tree, compiled with our shim (see `shim/ena_shim.h`), so tests and
//! benchmarks can feed it the same inputs as `ena-core`.
//!
//! `unsafe` lives only here, at the FFI boundary; every block says why it
//! holds.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_longlong, CStr};

#[repr(C)]
struct CDev {
    _opaque: [u8; 0],
}

#[repr(C)]
struct CBenchRaw {
    _opaque: [u8; 0],
}

/// `struct cref_llq_in` of glue.c: `struct ena_com_llq_info` as
/// `ena_com_config_llq_info` leaves it.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct LlqIn {
    pub header_location_ctrl: u16,
    pub desc_stride_ctrl: u16,
    pub desc_list_entry_size_ctrl: u16,
    pub desc_list_entry_size: u16,
    pub descs_num_before_header: u16,
    pub descs_per_entry: u16,
    pub max_entries_in_tx_burst: u16,
    pub disable_meta_caching: u8,
}

/// `ENA_COM_BOUNCE_BUFFER_CNTRL_CNT`: the bounce buffers ena_com rotates.
const BOUNCE_BUFFERS: usize = 4;

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
    #[allow(clippy::too_many_arguments)]
    fn cref_tx_llq_init(
        dev: *mut CDev,
        dev_mem: *mut u8,
        bounce: *mut u8,
        doorbell: *mut u32,
        depth: u16,
        dma_bits: u8,
        max_hdr: u32,
        llq: *const LlqIn,
    );
    fn cref_prepare_tx(dev: *mut CDev, inp: *const TxIn, push: *const u8, nb: *mut c_int) -> c_int;
    fn cref_doorbell_needed(dev: *mut CDev, inp: *const TxIn) -> c_int;
    fn cref_write_doorbell(dev: *mut CDev);
    fn cref_llq_state(
        dev: *mut CDev,
        idx: *mut u16,
        left: *mut u16,
        burst_left: *mut u16,
        bounce: *mut *const u8,
    );
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
    fn cref_bench_new(
        pkts: *const TxIn,
        n: u32,
        headers: *const u8,
        header_stride: u32,
    ) -> *mut CBenchRaw;
    fn cref_bench_free(b: *mut CBenchRaw);
    fn cref_bench_tx(b: *mut CBenchRaw, dev: *mut CDev, iters: u32, burst: u32) -> c_longlong;
    fn cref_bench_rx(dev: *mut CDev, cdescs: *const u8, n: u32, iters: u32) -> c_longlong;
}

/// One queue pair of the C driver, with its rings owned here; for a
/// device-placement Tx queue also the device memory its entries go to, its
/// bounce buffers and its doorbell register.
pub struct CQueues {
    dev: *mut CDev,
    sq_ring: Vec<u8>,
    cq_ring: Vec<u8>,
    dev_mem: Vec<u8>,
    bounce: Vec<u8>,
    doorbell: Box<Cell<u32>>,
    /// Bytes per completion; Rx or Tx.
    cq_entry: usize,
    rx: bool,
}

/// Submission queue state: (tail, phase, next_to_comp).
pub type SqState = (u16, u8, u16);
/// Completion queue state: (head, phase, current packet's count, start).
pub type CqState = (u16, u8, u16, u16);

impl CQueues {
    fn alloc(sq_bytes: usize, cq_bytes: usize, cq_entry: usize, rx: bool) -> Self {
        // SAFETY: cref_dev_new only allocates and zeroes; a null return is checked.
        let dev = unsafe { cref_dev_new() };
        assert!(!dev.is_null(), "allocating ena_com_dev failed");
        Self {
            dev,
            sq_ring: vec![0; sq_bytes],
            cq_ring: vec![0; cq_bytes],
            dev_mem: Vec::new(),
            bounce: Vec::new(),
            doorbell: Box::new(Cell::new(0)),
            cq_entry,
            rx,
        }
    }

    /// A Tx queue pair in host placement: `depth` 16-byte descriptors and
    /// `depth` 8-byte completions.
    pub fn tx(depth: u16, dma_bits: u8, max_header: u32, no_meta_cache: bool) -> Self {
        let mut q = Self::alloc(depth as usize * 16, depth as usize * 8, 8, false);
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

    /// A Tx queue pair in device placement (LLQ) laid out as `llq`: `depth`
    /// entries in device memory, `depth` 8-byte completions.
    pub fn tx_llq(depth: u16, dma_bits: u8, max_header: u32, llq: &LlqIn) -> Self {
        let entry = llq.desc_list_entry_size as usize;
        assert!(
            entry > 0 && entry.is_multiple_of(8),
            "entry of {entry} bytes"
        );
        let mut q = Self::alloc(0, depth as usize * 8, 8, false);
        q.dev_mem = vec![0; depth as usize * entry];
        q.bounce = vec![0; BOUNCE_BUFFERS * entry];
        // SAFETY: dev is live; device memory, bounce buffers, doorbell and
        // completion ring are owned by `q` and never reallocated. ena_com
        // writes whole entries at `slot * entry` below `depth * entry`, uses
        // the four bounce buffers of `entry` bytes, and writes the doorbell
        // through a Cell, which allows it.
        unsafe {
            cref_tx_llq_init(
                q.dev,
                q.dev_mem.as_mut_ptr(),
                q.bounce.as_mut_ptr(),
                q.doorbell.as_ptr(),
                depth,
                dma_bits,
                max_header,
                llq,
            );
            cref_cq_init(q.dev, q.cq_ring.as_mut_ptr(), depth, 8, 0);
        }
        q
    }

    /// An Rx queue pair: `depth` 16-byte descriptors, `depth` completions of
    /// `entry_size` bytes.
    pub fn rx(depth: u16, dma_bits: u8, entry_size: u8) -> Self {
        let size = entry_size as usize;
        let mut q = Self::alloc(depth as usize * 16, depth as usize * size, size, true);
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

    /// `ena_com_prepare_tx`, `push` the header to push in device
    /// placement: Ok(slots used) or Err(-errno).
    pub fn prepare_tx(&mut self, inp: &TxIn, push: Option<&[u8]>) -> Result<u16, i32> {
        assert!(inp.num_bufs <= 16, "a TxIn holds 16 buffers");
        if let Some(h) = push {
            assert!(h.len() >= inp.header_len as usize, "push header too short");
        }
        let mut nb: c_int = 0;
        let push = push.map_or(std::ptr::null(), |h| h.as_ptr());
        // SAFETY: dev and its rings are live; `inp` is a valid TxIn with at
        // most 16 buffers (checked); ena_com reads header_len bytes of
        // `push`, which has them (checked), or nothing when it is null; nb
        // is a valid out-pointer.
        let rc = unsafe { cref_prepare_tx(self.dev, inp, push, &mut nb) };
        if rc == 0 {
            Ok(nb as u16)
        } else {
            Err(rc)
        }
    }

    /// `ena_com_is_doorbell_needed`
    pub fn doorbell_needed(&self, inp: &TxIn) -> bool {
        assert!(inp.num_bufs <= 16, "a TxIn holds 16 buffers");
        // SAFETY: dev is live; the call only reads the queue and `inp`.
        unsafe { cref_doorbell_needed(self.dev, inp) != 0 }
    }

    /// `ena_com_write_tx_sq_doorbell`; what it wrote is [`CQueues::doorbell`].
    pub fn write_doorbell(&mut self) {
        // SAFETY: dev is live; in device placement the doorbell points at
        // `self.doorbell`, in host placement it is null and not written.
        unsafe { cref_write_doorbell(self.dev) }
    }

    /// The last value written to the Tx doorbell.
    pub fn doorbell(&self) -> u32 {
        self.doorbell.get()
    }

    /// The device memory an LLQ's entries went to.
    pub fn dev_mem(&self) -> &[u8] {
        &self.dev_mem
    }

    /// The LLQ writer: (slot in the entry, slots left in it, burst budget
    /// left) and the entry being built.
    pub fn llq_state(&self) -> ((u16, u16, u16), &[u8]) {
        let (mut idx, mut left, mut burst) = (0, 0, 0);
        let mut bounce: *const u8 = std::ptr::null();
        // SAFETY: dev is live; the out-pointers are valid locals.
        unsafe { cref_llq_state(self.dev, &mut idx, &mut left, &mut burst, &mut bounce) };
        // The current bounce buffer is one of ours: found by its address.
        let entry = self.bounce.len() / BOUNCE_BUFFERS;
        let at = (bounce as usize).wrapping_sub(self.bounce.as_ptr() as usize);
        let cur = self.bounce.get(at..at + entry).unwrap_or(&[]);
        ((idx, left, burst), cur)
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

/// The shim's `wmb()`, for Rust's side of the benchmark to pay what
/// ena_com pays before each LLQ entry it writes: a store fence on x86-64
/// (the kernel's), a full fence elsewhere.
#[inline(always)]
pub fn wmb() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: sfence is SSE, part of every x86-64 processor; it only orders
    // stores.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

/// The C side of the benchmark: a workload turned into `ena_com_tx_ctx`
/// once, then whole rounds of `c/bench.c`'s loop, one call each.
pub struct CBench {
    b: *mut CBenchRaw,
    /// The pushed headers the contexts point into.
    _headers: Vec<u8>,
}

impl CBench {
    /// `pkts` (a power of two of them); `headers`: each packet's header to
    /// push at `i * stride`, for device placement.
    pub fn new(pkts: &[TxIn], headers: Option<(Vec<u8>, usize)>) -> Self {
        assert!(pkts.len().is_power_of_two() && pkts.len() <= u32::MAX as usize);
        assert!(pkts.iter().all(|p| p.num_bufs <= 16));
        let (headers, stride) = headers.unwrap_or_default();
        if !headers.is_empty() {
            assert!(headers.len() >= pkts.len() * stride);
            assert!(pkts.iter().all(|p| p.header_len as usize <= stride));
        }
        let ptr = if headers.is_empty() {
            std::ptr::null()
        } else {
            headers.as_ptr()
        };
        // SAFETY: cref_bench_new copies `pkts` (each with at most 16 buffers,
        // checked) and keeps pointers into `headers`, which `CBench` owns and
        // never reallocates; every header fits its stride (checked).
        let b = unsafe { cref_bench_new(pkts.as_ptr(), pkts.len() as u32, ptr, stride as u32) };
        assert!(!b.is_null(), "allocating the C workload failed");
        Self {
            b,
            _headers: headers,
        }
    }

    /// One round of `iters` packets through `q`'s Tx queue, a doorbell
    /// every `burst` (a power of two): Ok(slots used) or Err(-errno).
    pub fn tx(&mut self, q: &mut CQueues, iters: u32, burst: u32) -> Result<i64, i32> {
        assert!(
            burst.is_power_of_two() && !q.rx,
            "a Tx queue, a power-of-two burst"
        );
        // SAFETY: the workload and `q` (dev, rings, device memory, bounce
        // buffers, doorbell) are live and owned for the call.
        let r = unsafe { cref_bench_tx(self.b, q.dev, iters, burst) };
        if r < 0 {
            Err(r as i32)
        } else {
            Ok(r)
        }
    }
}

impl Drop for CBench {
    fn drop(&mut self) {
        // SAFETY: b came from cref_bench_new and is freed once, here.
        unsafe { cref_bench_free(self.b) }
    }
}

/// One round of `iters` packets through `q`'s Rx queue pair, the device
/// writing `cdescs` in turn (a power of two of them, at least two laps):
/// Ok(descriptors received) or Err(-errno).
pub fn bench_rx(q: &mut CQueues, cdescs: &[[u8; 16]], iters: u32) -> Result<i64, i32> {
    assert!(cdescs.len().is_power_of_two());
    assert!(
        q.rx && q.cq_entry >= 16,
        "an Rx pair of 16-byte completions or more"
    );
    // SAFETY: dev and both rings are live; C reads `cdescs.len()` entries of
    // 16 bytes and writes each into a ring slot at least that big (checked).
    let r = unsafe { cref_bench_rx(q.dev, cdescs.as_ptr().cast(), cdescs.len() as u32, iters) };
    if r < 0 {
        Err(r as i32)
    } else {
        Ok(r)
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
