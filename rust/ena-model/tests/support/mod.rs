//! What the model's tests share: a platform that records everything the
//! device does to the host (as QEMU's device would see it), and a driver's
//! Tx send with a hook to break the descriptor before the doorbell.
#![allow(dead_code)] // each test file uses its part

use std::cell::RefCell;
use std::rc::Rc;

use ena_core::defs::TxDesc;
use ena_core::device::{Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::tx::{TxBuf, TxCtx};
use ena_model::{Bus, BusAlloc, BusMem, Model, Platform, VirtualClock};

pub type Driver = Ena<Model, BusAlloc, VirtualClock>;

/// Host memory with its clock, and a record of the device's DMA writes,
/// interrupts, frames sent (to the platform's network: no loopback),
/// Rx-space notices and timer requests.
pub struct Recorder {
    pub bus: Bus,
    pub writes: RefCell<Vec<(u64, Vec<u8>)>>,
    pub irqs: RefCell<Vec<u16>>,
    pub sent: RefCell<Vec<Vec<u8>>>,
    pub rx_space: RefCell<u32>,
    pub wakes: RefCell<Vec<u64>>,
}

impl Recorder {
    pub fn new(bus: &Bus) -> Rc<Self> {
        Rc::new(Self {
            bus: bus.clone(),
            writes: RefCell::default(),
            irqs: RefCell::default(),
            sent: RefCell::default(),
            rx_space: RefCell::default(),
            wakes: RefCell::default(),
        })
    }
}

impl Platform for Recorder {
    fn dma_read(&self, addr: u64, out: &mut [u8]) {
        self.bus.read(addr, out)
    }
    fn dma_write(&self, addr: u64, data: &[u8]) {
        self.writes.borrow_mut().push((addr, data.to_vec()));
        self.bus.write(addr, data)
    }
    fn interrupt(&self, vector: u16) {
        self.irqs.borrow_mut().push(vector)
    }
    fn transmit(&self, frame: &[u8]) -> bool {
        self.sent.borrow_mut().push(frame.to_vec());
        true
    }
    fn rx_space(&self) {
        *self.rx_space.borrow_mut() += 1;
    }
    fn now_us(&self) -> u64 {
        self.bus.now_us()
    }
    fn wake_at(&self, us: u64) {
        self.wakes.borrow_mut().push(us)
    }
}

/// Posts one 64-byte packet from `bufs` on a ring of `depth`; `edit` may
/// break its descriptor in the ring before the doorbell.
pub fn send_edited(
    d: &mut Driver,
    p: &mut IoPair<BusMem>,
    bufs: &BusMem,
    depth: u16,
    id: u16,
    edit: impl Fn(&mut TxDesc),
) {
    let slot = p.tx.tail() as usize % depth as usize;
    p.tx.prepare(&TxCtx {
        bufs: &[TxBuf {
            paddr: bufs.phys(),
            len: 64,
        }],
        req_id: id,
        ..Default::default()
    })
    .unwrap();
    let mut desc: TxDesc = p.tx.ring().load(slot * 16);
    edit(&mut desc);
    p.tx.ring_mut().store(slot * 16, &desc);
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
}
