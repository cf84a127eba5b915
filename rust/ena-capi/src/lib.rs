//! The device model behind a C ABI (`include/ena_model.h`): what QEMU's
//! `ena` PCI device links. The host's callbacks become a [`Platform`]; every
//! exported function checks its pointers, and nothing the guest does can
//! unwind into C (the model answers bad input, it does not panic on it).
//!
//! A guest can aim DMA or an MSI-X address at the device's own BAR0, so a
//! callback may come straight back into the model while it runs. Each
//! entry point therefore takes the model only when no other call holds
//! it: a nested call does nothing (a nested read returns 0), and a nested
//! reset runs when the outer call returns.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::{addr_of, addr_of_mut};
use std::rc::Rc;

use ena_core::regs::Registers;
use ena_model::{Model, ModelConfig, Platform, Response};

/// `struct ena_model_host`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Host {
    pub opaque: *mut c_void,
    pub dma_read: Option<unsafe extern "C" fn(*mut c_void, u64, *mut c_void, usize) -> i32>,
    pub dma_write: Option<unsafe extern "C" fn(*mut c_void, u64, *const c_void, usize) -> i32>,
    pub interrupt: Option<unsafe extern "C" fn(*mut c_void, u16)>,
    pub transmit: Option<unsafe extern "C" fn(*mut c_void, *const u8, usize)>,
    pub rx_space: Option<unsafe extern "C" fn(*mut c_void)>,
    pub llq_read: Option<unsafe extern "C" fn(*mut c_void, u64, *mut c_void, usize)>,
    pub defer: Option<unsafe extern "C" fn(*mut c_void)>,
    pub now_us: Option<unsafe extern "C" fn(*mut c_void) -> u64>,
    pub wake_at: Option<unsafe extern "C" fn(*mut c_void, u64)>,
    pub trace: Option<unsafe extern "C" fn(*mut c_void, *const u8, usize)>,
}

/// `struct ena_model_config`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub mac: [u8; 6],
    pub llq: bool,
    pub llq_large: bool,
    pub max_mtu: u32,
    pub link_speed_mbps: u32,
    pub tx_completion_window: u32,
    pub intr_delay_resolution: u16,
    pub rx_offset: u8,
    pub rx_hold: bool,
    pub msix_vectors: u16,
    pub checker_response: u8,
    pub trace: bool,
}

/// `struct ena_model_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub rx_drops: u64,
    pub interrupts: u64,
    pub admin_commands: u64,
    pub unsupported: u64,
    pub resets: u64,
    pub tx_drops: u64,
    pub llq_entries: u64,
    pub llq_burst_errors: u64,
    pub tx_reordered: u64,
    pub rx_overruns: u64,
    pub moderated_interrupts: u64,
    pub cached_meta_uses: u64,
    pub tx_csum_offloads: u64,
}

const _: () = assert!(std::mem::size_of::<Host>() == 11 * 8);
const _: () = assert!(std::mem::size_of::<Config>() == 28);
const _: () = assert!(std::mem::size_of::<Stats>() == 17 * 8);

/// The callbacks, all checked present at creation.
struct Callbacks {
    opaque: *mut c_void,
    dma_read: unsafe extern "C" fn(*mut c_void, u64, *mut c_void, usize) -> i32,
    dma_write: unsafe extern "C" fn(*mut c_void, u64, *const c_void, usize) -> i32,
    interrupt: unsafe extern "C" fn(*mut c_void, u16),
    transmit: unsafe extern "C" fn(*mut c_void, *const u8, usize),
    rx_space: unsafe extern "C" fn(*mut c_void),
    llq_read: unsafe extern "C" fn(*mut c_void, u64, *mut c_void, usize),
    defer: unsafe extern "C" fn(*mut c_void),
    now_us: unsafe extern "C" fn(*mut c_void) -> u64,
    wake_at: unsafe extern "C" fn(*mut c_void, u64),
    trace: Option<unsafe extern "C" fn(*mut c_void, *const u8, usize)>,
}

impl Platform for Callbacks {
    fn dma_read(&self, addr: u64, out: &mut [u8]) {
        self.dma_read_ok(addr, out);
    }
    fn dma_write(&self, addr: u64, data: &[u8]) {
        self.dma_write_ok(addr, data);
    }
    fn dma_read_ok(&self, addr: u64, out: &mut [u8]) -> bool {
        // SAFETY: the host promised a callback that writes at most `len`
        // bytes to the buffer it is given; `out` is that many bytes.
        let rc = unsafe { (self.dma_read)(self.opaque, addr, out.as_mut_ptr().cast(), out.len()) };
        if rc != 0 {
            out.fill(0);
        }
        rc == 0
    }
    fn dma_write_ok(&self, addr: u64, data: &[u8]) -> bool {
        // SAFETY: the callback reads `len` bytes from a live slice.
        unsafe { (self.dma_write)(self.opaque, addr, data.as_ptr().cast(), data.len()) == 0 }
    }
    fn interrupt(&self, vector: u16) {
        // SAFETY: a plain call with the host's own opaque pointer.
        unsafe { (self.interrupt)(self.opaque, vector) }
    }
    fn transmit(&self, frame: &[u8]) -> bool {
        // SAFETY: the callback reads `len` bytes from a live slice.
        unsafe { (self.transmit)(self.opaque, frame.as_ptr(), frame.len()) };
        true
    }
    fn rx_space(&self) {
        // SAFETY: a plain call with the host's own opaque pointer.
        unsafe { (self.rx_space)(self.opaque) }
    }
    fn defer(&self) {
        // SAFETY: a plain call with the host's own opaque pointer.
        unsafe { (self.defer)(self.opaque) }
    }
    fn now_us(&self) -> u64 {
        // SAFETY: a plain call with the host's own opaque pointer.
        unsafe { (self.now_us)(self.opaque) }
    }
    fn wake_at(&self, us: u64) {
        // SAFETY: a plain call with the host's own opaque pointer.
        unsafe { (self.wake_at)(self.opaque, us) }
    }
    fn trace(&self, line: &str) {
        if let Some(trace) = self.trace {
            // SAFETY: the callback reads `len` bytes from a live string.
            unsafe { trace(self.opaque, line.as_ptr(), line.len()) }
        }
    }
    fn llq_read(&self, offset: u64, out: &mut [u8]) {
        // SAFETY: the callback writes at most `len` bytes to the buffer it
        // is given; `out` is that many bytes.
        unsafe { (self.llq_read)(self.opaque, offset, out.as_mut_ptr().cast(), out.len()) }
    }
}

/// What C holds a pointer to.
pub struct EnaModel {
    model: Model,
    busy: Cell<bool>,
    reset_pending: Cell<bool>,
    /// Hold frames without Rx buffers (the caller queues them) instead of
    /// dropping them as hardware does.
    rx_hold: bool,
}

/// # Safety
/// `config` and `host` are NULL or valid for reads.
#[no_mangle]
pub unsafe extern "C" fn ena_model_new(config: *const Config, host: *const Host) -> *mut EnaModel {
    // SAFETY: checked non-null; the caller promises they point to valid structs.
    let (Some(config), Some(host)) = (unsafe { config.as_ref() }, unsafe { host.as_ref() }) else {
        return std::ptr::null_mut();
    };
    let (
        Some(dma_read),
        Some(dma_write),
        Some(interrupt),
        Some(transmit),
        Some(rx_space),
        Some(llq_read),
        Some(defer),
        Some(now_us),
        Some(wake_at),
    ) = (
        host.dma_read,
        host.dma_write,
        host.interrupt,
        host.transmit,
        host.rx_space,
        host.llq_read,
        host.defer,
        host.now_us,
        host.wake_at,
    )
    else {
        return std::ptr::null_mut();
    };
    let platform = Rc::new(Callbacks {
        opaque: host.opaque,
        dma_read,
        dma_write,
        interrupt,
        transmit,
        rx_space,
        llq_read,
        defer,
        now_us,
        wake_at,
        trace: host.trace,
    });
    // No admin log in a long-lived device: a guest could grow it forever.
    let cfg = ModelConfig {
        mac: config.mac,
        max_mtu: config.max_mtu,
        link_speed_mbps: config.link_speed_mbps,
        llq: config.llq,
        llq_large: config.llq_large,
        tx_completion_window: config.tx_completion_window.min(u8::MAX as u32) as u8,
        intr_delay_resolution: config.intr_delay_resolution,
        rx_offset: config.rx_offset,
        msix_vectors: config.msix_vectors,
        checker_response: match config.checker_response {
            0 => Response::Count,
            _ => Response::RequestReset,
        },
        trace_admin: false,
        // Only with somewhere to write the lines.
        trace: config.trace && host.trace.is_some(),
        ..Default::default()
    };
    let model = Model::with_platform(platform, cfg);
    Box::into_raw(Box::new(EnaModel {
        model,
        busy: Cell::new(false),
        reset_pending: Cell::new(false),
        rx_hold: config.rx_hold,
    }))
}

/// # Safety
/// `m` is NULL or came from `ena_model_new` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ena_model_free(m: *mut EnaModel) {
    if !m.is_null() {
        // SAFETY: the pointer came from Box::into_raw and is freed once.
        drop(unsafe { Box::from_raw(m) });
    }
}

/// Runs `f` on the model unless `m` is NULL or another call holds it
/// (then `idle`). Only the fields are borrowed, through raw pointers, so
/// the guard can be read while an outer call holds `&mut Model`.
///
/// # Safety
/// `m` is NULL or a live model; single-threaded by contract (QEMU's BQL).
unsafe fn with_model<T>(m: *mut EnaModel, idle: T, f: impl FnOnce(&mut Model) -> T) -> T {
    if m.is_null() {
        return idle;
    }
    // SAFETY: m is live; these are shared borrows of Cell fields only.
    let (busy, reset_pending) = unsafe { (&*addr_of!((*m).busy), &*addr_of!((*m).reset_pending)) };
    if busy.replace(true) {
        return idle;
    }
    // SAFETY: busy was false, so no other borrow of the model exists.
    let model = unsafe { &mut *addr_of_mut!((*m).model) };
    let out = f(model);
    if reset_pending.replace(false) {
        model.hw_reset();
    }
    busy.set(false);
    out
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_mmio_read(m: *mut EnaModel, offset: u32) -> u32 {
    // SAFETY: forwarded promise.
    unsafe { with_model(m, 0, |m| m.read32(offset)) }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_mmio_write(m: *mut EnaModel, offset: u32, value: u32) {
    // SAFETY: forwarded promise.
    unsafe { with_model(m, (), |m| m.write32(offset, value)) }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_can_receive(m: *const EnaModel, len: usize) -> bool {
    // SAFETY: forwarded promise; the guard serialises it like the others
    // (its DMA reads could come back as MMIO).
    // Without holding, every frame is taken (and dropped without room).
    // SAFETY: m is NULL or live; a plain field read.
    if !m.is_null() && !unsafe { (*m).rx_hold } {
        return true;
    }
    unsafe { with_model(m as *mut EnaModel, false, |m| m.can_receive(len)) }
}

/// # Safety
/// `m` is NULL or a live model; `frame` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ena_model_receive(m: *mut EnaModel, frame: *const u8, len: usize) -> bool {
    if frame.is_null() {
        return false;
    }
    // SAFETY: the caller promises `len` readable bytes at `frame`.
    let frame = unsafe { std::slice::from_raw_parts(frame, len) };
    // SAFETY: m is NULL or live; a plain field read.
    let hold = !m.is_null() && unsafe { (*m).rx_hold };
    // SAFETY: forwarded promise.
    unsafe {
        with_model(m, false, |m| {
            if hold {
                m.receive(frame)
            } else {
                m.receive_or_overrun(frame);
                true
            }
        })
    }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_set_link(m: *mut EnaModel, up: bool) {
    // SAFETY: forwarded promise.
    unsafe {
        with_model(m, (), |m| {
            if m.link_up() != up {
                m.set_link(up)
            }
        })
    }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_tick(m: *mut EnaModel) {
    // SAFETY: forwarded promise.
    unsafe { with_model(m, (), |m| m.keep_alive()) }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_run_deferred(m: *mut EnaModel) {
    // SAFETY: forwarded promise.
    unsafe { with_model(m, (), |m| m.run_deferred()) }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_run_timers(m: *mut EnaModel) {
    // SAFETY: forwarded promise.
    unsafe { with_model(m, (), |m| m.run_timers()) }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn ena_model_reset(m: *mut EnaModel) {
    if m.is_null() {
        return;
    }
    // SAFETY: m is live; a Cell field only.
    let pending = unsafe { &*addr_of!((*m).reset_pending) };
    // Asked for from inside another call: done when that call returns.
    pending.set(true);
    // SAFETY: forwarded promise; with_model runs the pending reset.
    unsafe { with_model(m, (), |_| {}) }
}

/// # Safety
/// `m` is NULL or a live model; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn ena_model_stats(m: *const EnaModel, out: *mut Stats) {
    // SAFETY: forwarded promise.
    let Some(out) = (unsafe { out.as_mut() }) else {
        return;
    };
    // SAFETY: forwarded promise.
    let Some(s) = (unsafe { with_model(m as *mut EnaModel, None, |m| Some(m.stats)) }) else {
        return;
    };
    *out = Stats {
        tx_pkts: s.tx_pkts,
        tx_bytes: s.tx_bytes,
        rx_pkts: s.rx_pkts,
        rx_bytes: s.rx_bytes,
        rx_drops: s.rx_drops,
        interrupts: s.interrupts,
        admin_commands: s.admin_commands,
        unsupported: s.unsupported,
        resets: s.resets,
        tx_drops: s.tx_drops,
        llq_entries: s.llq_entries,
        llq_burst_errors: s.llq_burst_errors,
        tx_reordered: s.tx_reordered,
        rx_overruns: s.rx_overruns,
        moderated_interrupts: s.moderated_interrupts,
        cached_meta_uses: s.cached_meta_uses,
        tx_csum_offloads: s.tx_csum_offloads,
    };
}
