//! Host memory as the device sees it: one byte array addressed by bus
//! address, shared by the driver's DMA allocations and the device model.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ena_core::device::DmaAllocator;
use ena_core::dma::DmaMemory;
use ena_core::Clock;

use crate::LLQ_BAR_SIZE;

/// The shared address space. Bus address = offset + `base`. Beside it,
/// the device's own memory (BAR2, where LLQ entries go), which the driver
/// writes and the device reads.
#[derive(Clone)]
pub struct Bus {
    mem: Rc<RefCell<Vec<u8>>>,
    base: u64,
    device_mem: Rc<RefCell<Vec<u8>>>,
    /// The platform clock a test moves with [`Bus::advance`].
    now_us: Rc<Cell<u64>>,
    /// The device's trace lines, when it traces.
    trace: Rc<RefCell<Vec<String>>>,
}

impl Bus {
    /// `size` bytes of host memory starting at bus address `base` (a value
    /// above 4 GiB exercises the high address words).
    pub fn new(size: usize, base: u64) -> Self {
        Self {
            mem: Rc::new(RefCell::new(vec![0; size])),
            base,
            device_mem: Rc::new(RefCell::new(vec![0; LLQ_BAR_SIZE as usize])),
            now_us: Rc::new(Cell::new(0)),
            trace: Rc::default(),
        }
    }
    /// The trace lines the device wrote so far.
    pub fn trace_lines(&self) -> Vec<String> {
        self.trace.borrow().clone()
    }
    /// Moves the platform clock on (the model's timers run when the test
    /// calls `run_timers`).
    pub fn advance(&self, us: u64) {
        self.now_us.set(self.now_us.get() + us);
    }
    /// The driver's side of BAR2: `memcpy_toio` of whole LLQ entries.
    pub fn device_write(&self, offset: u64, data: &[u8]) {
        let off = offset as usize;
        self.device_mem.borrow_mut()[off..off + data.len()].copy_from_slice(data);
    }
    pub fn read(&self, addr: u64, out: &mut [u8]) {
        let off = self.offset(addr, out.len());
        out.copy_from_slice(&self.mem.borrow()[off..off + out.len()]);
    }
    pub fn write(&self, addr: u64, data: &[u8]) {
        let off = self.offset(addr, data.len());
        self.mem.borrow_mut()[off..off + data.len()].copy_from_slice(data);
    }
    pub fn read_u32(&self, addr: u64) -> u32 {
        let mut b = [0; 4];
        self.read(addr, &mut b);
        u32::from_le_bytes(b)
    }
    /// Whether `addr..addr+len` is host memory.
    pub fn contains(&self, addr: u64, len: usize) -> bool {
        let size = self.mem.borrow().len() as u64;
        addr >= self.base && addr - self.base + len as u64 <= size
    }
    fn offset(&self, addr: u64, len: usize) -> usize {
        let size = self.mem.borrow().len() as u64;
        assert!(
            addr >= self.base && addr - self.base + len as u64 <= size,
            "DMA to {addr:#x}+{len} is outside host memory"
        );
        (addr - self.base) as usize
    }
}

/// What the device model needs from whatever it is plugged into: host
/// memory for DMA, MSI-X vectors and, optionally, a network. The [`Bus`]
/// serves unit tests; the QEMU device (ena-capi) forwards to QEMU.
pub trait Platform {
    /// Device-side DMA read; memory the device cannot reach reads as zeros.
    fn dma_read(&self, addr: u64, out: &mut [u8]);
    fn dma_write(&self, addr: u64, data: &[u8]);
    /// Raise MSI-X `vector` (a host without interrupts ignores it: drivers poll).
    fn interrupt(&self, _vector: u16) {}
    /// Put a frame on the network; false when the platform has none, and the
    /// model then loops it back or sends it down its wire.
    fn transmit(&self, _frame: &[u8]) -> bool {
        false
    }
    /// The driver posted Rx buffers: frames held back may be offered again.
    fn rx_space(&self) {}
    /// The model has work for later: call [`crate::Model::run_deferred`]
    /// soon, outside the current access (QEMU: a bottom half).
    fn defer(&self) {}
    /// A DMA read that says whether the address was memory (false: the
    /// platform filled `out` with zeros).
    fn dma_read_ok(&self, addr: u64, out: &mut [u8]) -> bool {
        self.dma_read(addr, out);
        true
    }
    /// A DMA write that says whether the address was memory.
    fn dma_write_ok(&self, addr: u64, data: &[u8]) -> bool {
        self.dma_write(addr, data);
        true
    }
    /// Microseconds on the platform's clock (QEMU: its virtual clock).
    fn now_us(&self) -> u64 {
        0
    }
    /// Call [`crate::Model::run_timers`] at `us` on that clock, or later
    /// (an interrupt waits out its moderation delay).
    fn wake_at(&self, _us: u64) {}
    /// One line of the device's trace (`ModelConfig::trace`).
    fn trace(&self, _line: &str) {}
    /// Reads the device's own memory (BAR2) at `offset`: what the driver
    /// wrote there. A platform without it reads zeros.
    fn llq_read(&self, _offset: u64, out: &mut [u8]) {
        out.fill(0);
    }
}

impl Platform for Bus {
    fn now_us(&self) -> u64 {
        self.now_us.get()
    }
    fn trace(&self, line: &str) {
        self.trace.borrow_mut().push(line.to_string());
    }
    fn dma_read_ok(&self, addr: u64, out: &mut [u8]) -> bool {
        if !self.contains(addr, out.len()) {
            out.fill(0);
            return false;
        }
        self.read(addr, out);
        true
    }
    fn dma_write_ok(&self, addr: u64, data: &[u8]) -> bool {
        self.contains(addr, data.len()) && {
            self.write(addr, data);
            true
        }
    }
    fn dma_read(&self, addr: u64, out: &mut [u8]) {
        self.read(addr, out)
    }
    fn dma_write(&self, addr: u64, data: &[u8]) {
        self.write(addr, data)
    }
    fn llq_read(&self, offset: u64, out: &mut [u8]) {
        let mem = self.device_mem.borrow();
        let off = offset as usize;
        match mem.get(off..off + out.len()) {
            Some(bytes) => out.copy_from_slice(bytes),
            None => out.fill(0),
        }
    }
}

/// A window of the bus: what the driver gets from its allocator.
#[derive(Clone)]
pub struct BusMem {
    bus: Bus,
    addr: u64,
    len: usize,
}

impl DmaMemory for BusMem {
    fn phys(&self) -> u64 {
        self.addr
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read(&self, off: usize, out: &mut [u8]) {
        assert!(off + out.len() <= self.len);
        self.bus.read(self.addr + off as u64, out);
    }
    fn write(&mut self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= self.len);
        self.bus.write(self.addr + off as u64, data);
    }
}

/// A bump allocator over the bus, 4 KiB aligned like DMA pages.
pub struct BusAlloc {
    bus: Bus,
    next: u64,
}

impl BusAlloc {
    pub fn new(bus: &Bus) -> Self {
        Self {
            bus: bus.clone(),
            next: bus.base,
        }
    }
}

impl DmaAllocator for BusAlloc {
    type Mem = BusMem;
    fn alloc(&mut self, len: usize) -> BusMem {
        let addr = self.next;
        self.next += (len as u64).div_ceil(4096) * 4096;
        self.bus.offset(addr, len);
        BusMem {
            bus: self.bus.clone(),
            addr,
            len,
        }
    }
}

/// A clock that only moves when someone sleeps: timeouts cost no real time.
#[derive(Clone, Default)]
pub struct VirtualClock(Rc<Cell<u64>>);

impl Clock for VirtualClock {
    fn now_us(&self) -> u64 {
        self.0.get()
    }
    fn sleep_us(&mut self, us: u64) {
        self.0.set(self.0.get() + us);
    }
}
