//! The C ABI as QEMU's device uses it: callbacks in, pointers out. The
//! driver side is ena-core, talking to the model only through the exported
//! functions, so everything it proves crosses the ABI.

use std::cell::RefCell;
use std::ffi::c_void;

use ena_capi::*;
use ena_core::device::{aenq_group, DmaAllocator, Ena};
use ena_core::dma::DmaMemory;
use ena_core::regs::Registers;
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_model::{test_port, Bus, BusAlloc, VirtualClock};

/// What the C side would be: guest memory and a record of callbacks.
struct Guest {
    bus: Bus,
    irqs: RefCell<Vec<u16>>,
    sent: RefCell<Vec<Vec<u8>>>,
    rx_space: RefCell<u32>,
}

impl Guest {
    fn new(bus: &Bus) -> Self {
        Self {
            bus: bus.clone(),
            irqs: RefCell::default(),
            sent: RefCell::default(),
            rx_space: RefCell::default(),
        }
    }
}

unsafe extern "C" fn dma_read(opaque: *mut c_void, addr: u64, buf: *mut c_void, len: usize) -> i32 {
    // SAFETY: the model passes a live buffer of len bytes; opaque is our Guest.
    let (g, out) = unsafe {
        (
            &*(opaque as *const Guest),
            std::slice::from_raw_parts_mut(buf as *mut u8, len),
        )
    };
    g.bus.read(addr, out);
    0
}
unsafe extern "C" fn dma_write(
    opaque: *mut c_void,
    addr: u64,
    buf: *const c_void,
    len: usize,
) -> i32 {
    // SAFETY: as above, read-only.
    let (g, data) = unsafe {
        (
            &*(opaque as *const Guest),
            std::slice::from_raw_parts(buf as *const u8, len),
        )
    };
    g.bus.write(addr, data);
    0
}
unsafe extern "C" fn interrupt(opaque: *mut c_void, vector: u16) {
    // SAFETY: opaque is our Guest.
    unsafe { &*(opaque as *const Guest) }
        .irqs
        .borrow_mut()
        .push(vector);
}
unsafe extern "C" fn transmit(opaque: *mut c_void, frame: *const u8, len: usize) {
    // SAFETY: the model passes a live frame of len bytes.
    let (g, f) = unsafe {
        (
            &*(opaque as *const Guest),
            std::slice::from_raw_parts(frame, len),
        )
    };
    g.sent.borrow_mut().push(f.to_vec());
}
unsafe extern "C" fn llq_read(opaque: *mut c_void, offset: u64, buf: *mut c_void, len: usize) {
    // SAFETY: the model passes a live buffer of len bytes; opaque is our Guest.
    let (g, out) = unsafe {
        (
            &*(opaque as *const Guest),
            std::slice::from_raw_parts_mut(buf as *mut u8, len),
        )
    };
    ena_model::Platform::llq_read(&g.bus, offset, out);
}
unsafe extern "C" fn defer(_opaque: *mut c_void) {}
unsafe extern "C" fn now_us(opaque: *mut c_void) -> u64 {
    // SAFETY: opaque is our Guest.
    ena_model::Platform::now_us(&unsafe { &*(opaque as *const Guest) }.bus)
}
unsafe extern "C" fn wake_at(_opaque: *mut c_void, _us: u64) {}
unsafe extern "C" fn rx_space(opaque: *mut c_void) {
    // SAFETY: opaque is our Guest.
    *unsafe { &*(opaque as *const Guest) }.rx_space.borrow_mut() += 1;
}

fn host(g: &Guest) -> Host {
    Host {
        opaque: g as *const Guest as *mut c_void,
        dma_read: Some(dma_read),
        dma_write: Some(dma_write),
        interrupt: Some(interrupt),
        transmit: Some(transmit),
        rx_space: Some(rx_space),
        llq_read: Some(llq_read),
        defer: Some(defer),
        now_us: Some(now_us),
        wake_at: Some(wake_at),
        trace: None,
    }
}

const CONFIG: Config = Config {
    mac: [0x02, 0xe1, 0xab, 0, 0, 9],
    llq: true,
    llq_large: true,
    max_mtu: 9216,
    link_speed_mbps: 10_000,
    tx_completion_window: 0,
    intr_delay_resolution: 1,
    rx_offset: 0,
    rx_hold: true,
    msix_vectors: 9,
    checker_response: 0,
    trace: false,
};

/// BAR0 as the QEMU device forwards it.
struct Bar0(*mut EnaModel);

impl Registers for Bar0 {
    fn read32(&mut self, off: u32) -> u32 {
        // SAFETY: a live model from ena_model_new.
        unsafe { ena_model_mmio_read(self.0, off) }
    }
    fn write32(&mut self, off: u32, v: u32) {
        // SAFETY: as above.
        unsafe { ena_model_mmio_write(self.0, off, v) }
    }
}

#[test]
fn missing_arguments_or_callbacks_give_null_not_a_crash() {
    let g = Guest::new(&Bus::new(4096, 0));
    let h = host(&g);
    // SAFETY: every pointer is null or valid; the functions check for null.
    unsafe {
        assert!(ena_model_new(std::ptr::null(), &h).is_null());
        assert!(ena_model_new(&CONFIG, std::ptr::null()).is_null());
        let mut partial = h;
        partial.transmit = None;
        assert!(ena_model_new(&CONFIG, &partial).is_null());
        assert_eq!(ena_model_mmio_read(std::ptr::null_mut(), 0), 0);
        ena_model_mmio_write(std::ptr::null_mut(), 0x54, 1);
        assert!(!ena_model_receive(
            std::ptr::null_mut(),
            [0u8; 4].as_ptr(),
            4
        ));
        ena_model_free(std::ptr::null_mut());
    }
}

#[test]
fn a_driver_brings_the_model_up_and_passes_frames_through_the_abi() {
    let bus = Bus::new(8 << 20, 0x8000_0000);
    let g = Guest::new(&bus);
    // SAFETY: config and host are valid for the call; the model lives until freed below.
    let m = unsafe { ena_model_new(&CONFIG, &host(&g)) };
    assert!(!m.is_null());
    let mut d = Ena::new(Bar0(m), BusAlloc::new(&bus), VirtualClock::default());
    let (info, _) = d
        .bring_up(16, aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE)
        .expect("bring-up across the ABI");
    assert_eq!(info.mac, CONFIG.mac);
    assert!(
        g.irqs.borrow().iter().all(|v| *v == 0) && !g.irqs.borrow().is_empty(),
        "admin completions on vector 0"
    );
    let mut p = d.create_pair_on(16, Some(2)).unwrap();

    let mut bufs = d.alloc.alloc(64 * 2048);
    bufs.write(0, b"hello over the C ABI");
    let b = [TxBuf {
        paddr: bufs.phys(),
        len: 20,
    }];
    p.tx.prepare(&TxCtx {
        bufs: &b,
        req_id: 0,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    assert_eq!(
        g.sent.borrow().as_slice(),
        [b"hello over the C ABI".to_vec()]
    );
    assert_eq!(
        g.irqs.borrow().last(),
        Some(&2),
        "the Tx completion raised the pair's vector"
    );

    let frame = [0x5au8; 1500];
    // SAFETY: m is live; the frame is valid for its length.
    unsafe {
        assert!(!ena_model_can_receive(m, frame.len()));
        assert!(
            !ena_model_receive(m, frame.as_ptr(), frame.len()),
            "no Rx buffer: refused, to be queued by QEMU"
        );
    }
    p.rx.add(bufs.phys() + 2048, 2048, 1).unwrap();
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
    assert_eq!(*g.rx_space.borrow(), 1, "QEMU is told to flush its queue");
    // SAFETY: as above.
    unsafe {
        assert!(ena_model_can_receive(m, frame.len()));
        assert!(ena_model_receive(m, frame.as_ptr(), frame.len()));
    }
    let mut rb = [RxBuf::default(); 2];
    let pkt = p.rx_done.receive(&mut p.rx, &mut rb).unwrap();
    assert_eq!((pkt.descs, rb[0].req_id, rb[0].len), (1, 1, 1500));

    // Link down: frames are dropped on the floor, as on a cut wire.
    // SAFETY: as above.
    unsafe {
        ena_model_set_link(m, false);
        assert!(
            ena_model_receive(m, frame.as_ptr(), frame.len()),
            "taken, and dropped"
        );
        ena_model_tick(m);
        d.regs
            .write32(test_port::FAULTS, test_port::WITHHOLD_KEEP_ALIVE);
        let mut s = Stats::default();
        ena_model_stats(m, &mut s);
        assert_eq!(
            (s.tx_pkts, s.tx_bytes, s.rx_pkts, s.rx_bytes, s.resets),
            (1, 20, 1, 1500, 1)
        );
        ena_model_reset(m);
        assert_eq!(
            ena_model_mmio_read(m, test_port::FAULTS),
            0,
            "a PCI reset clears the faults"
        );
        ena_model_free(m);
    }
}

thread_local! {
    /// The model a re-entering callback calls back into, and what it saw.
    static REENTER: RefCell<Option<(*mut EnaModel, Vec<u32>)>> = const { RefCell::new(None) };
}

unsafe extern "C" fn dma_write_reentering(
    opaque: *mut c_void,
    addr: u64,
    buf: *const c_void,
    len: usize,
) -> i32 {
    REENTER.with(|r| {
        if let Some((m, seen)) = r.borrow_mut().as_mut() {
            // What a DMA aimed at the device's own BAR0 would do.
            // SAFETY: m is the live model this callback belongs to.
            unsafe {
                seen.push(ena_model_mmio_read(*m, ena_core::regs::DEV_STS));
                ena_model_mmio_write(*m, test_port::FAULTS, test_port::WITHHOLD_COMPLETION);
                ena_model_reset(*m);
            }
        }
    });
    // SAFETY: forwarded.
    unsafe { dma_write(opaque, addr, buf, len) }
}

#[test]
fn a_callback_that_comes_back_into_the_model_finds_it_busy() {
    let bus = Bus::new(8 << 20, 0x8000_0000);
    let g = Guest::new(&bus);
    let mut h = host(&g);
    h.dma_write = Some(dma_write_reentering);
    // SAFETY: valid arguments; freed at the end.
    let m = unsafe { ena_model_new(&CONFIG, &h) };
    let mut d = Ena::new(Bar0(m), BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE).unwrap();
    d.regs
        .write32(test_port::FAULTS, test_port::WITHHOLD_KEEP_ALIVE);
    REENTER.with(|r| *r.borrow_mut() = Some((m, Vec::new())));
    // The link event is a DMA write into the AENQ: the callback re-enters.
    // SAFETY: m is live.
    unsafe { ena_model_set_link(m, false) };
    let seen = REENTER.with(|r| r.borrow_mut().take()).unwrap().1;
    assert_eq!(
        seen,
        vec![0, 0, 0],
        "each nested read (the event is written in three parts, its phase \
         last) saw a busy model and returned 0"
    );
    // The nested write did nothing; the nested reset ran after the outer call.
    // SAFETY: m is live.
    unsafe {
        assert_eq!(
            ena_model_mmio_read(m, test_port::FAULTS),
            0,
            "the deferred PCI reset cleared the faults"
        );
        let mut s = Stats::default();
        ena_model_stats(m, &mut s);
        assert_eq!(
            s.resets, 1,
            "one driver reset (bring-up); the PCI reset is not counted"
        );
        ena_model_free(m);
    }
}

#[test]
fn without_rx_hold_a_frame_with_no_buffer_is_taken_dropped_and_counted() {
    let bus = Bus::new(8 << 20, 0x8000_0000);
    let g = Guest::new(&bus);
    let config = Config {
        rx_hold: false,
        ..CONFIG
    };
    // SAFETY: valid arguments; freed at the end.
    let m = unsafe { ena_model_new(&config, &host(&g)) };
    let mut d = Ena::new(Bar0(m), BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE).unwrap();
    let frame = [0x5au8; 60];
    // SAFETY: m is live; the frame is valid for its length.
    unsafe {
        assert!(ena_model_can_receive(m, frame.len()), "never held back");
        assert!(
            ena_model_receive(m, frame.as_ptr(), frame.len()),
            "taken: QEMU queues nothing"
        );
        let mut s = Stats::default();
        ena_model_stats(m, &mut s);
        assert_eq!((s.rx_pkts, s.rx_overruns), (0, 1));
        ena_model_free(m);
    }
}

thread_local! {
    /// The trace lines a C host would write to its file.
    static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn trace_line(_opaque: *mut c_void, line: *const u8, len: usize) {
    // SAFETY: the model passes a live string of len bytes.
    let bytes = unsafe { std::slice::from_raw_parts(line, len) };
    LINES.with(|l| {
        l.borrow_mut()
            .push(String::from_utf8_lossy(bytes).into_owned())
    });
}

#[test]
fn with_trace_on_and_a_callback_each_event_is_a_line() {
    let bus = Bus::new(8 << 20, 0x8000_0000);
    let g = Guest::new(&bus);
    let on = Config {
        trace: true,
        ..CONFIG
    };
    // Without a callback there is nowhere to write: tracing stays off.
    // SAFETY: valid arguments; freed below.
    let quiet = unsafe { ena_model_new(&on, &host(&g)) };
    let mut d = Ena::new(Bar0(quiet), BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE).unwrap();
    assert!(LINES.with(|l| l.borrow().is_empty()));
    // SAFETY: from ena_model_new, not used again.
    unsafe { ena_model_free(quiet) };

    let mut h = host(&g);
    h.trace = Some(trace_line);
    // SAFETY: valid arguments; freed below.
    let m = unsafe { ena_model_new(&on, &h) };
    let mut d = Ena::new(Bar0(m), BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE).unwrap();
    let lines = LINES.with(|l| l.borrow().clone());
    assert!(
        lines.iter().any(
            |l| l.contains("write DEV_CTL = 0x00000001") && l.ends_with("<- ena_com_dev_reset")
        ),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("admin CREATE_SQ")));
    // SAFETY: from ena_model_new, not used again.
    unsafe { ena_model_free(m) };
}
