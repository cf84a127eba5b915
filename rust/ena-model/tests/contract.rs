//! Where the headers and ena_com say how a device behaves, the model does
//! so: completions written with their phase last, COMP_REQ honoured, an Rx
//! buffer of length 0 being 64 KiB, Rx descriptors of another lap not
//! taken, the CQ entry sizes the header allows, events held until the
//! AENQ head doorbell gives room, INTR_MASK's admin bit, the drop counters in the keep-alive
//! event, and a reset that forgets the read-less response address.

use std::cell::RefCell;
use std::rc::Rc;

use ena_core::admin::{opcode, AdminError, Command};
use ena_core::admin_defs::{create_cq, CreateCqCmd};
use ena_core::defs::{rx_desc, tx_desc, RxDesc, TxDesc};
use ena_core::device::{aenq_group, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::regs::{self, Registers};
use ena_core::tx::{TxBuf, TxCtx};
use ena_core::wire::Wire;
use ena_model::{Bus, BusAlloc, BusMem, Model, ModelConfig, Platform, VirtualClock};

mod support;
use support::{send_edited, Driver, Recorder as Host};

fn device() -> (Driver, Rc<Host>) {
    let bus = Bus::new(8 << 20, 0x2_0000_0000);
    let host = Host::new(&bus);
    let model = Model::with_platform(host.clone(), ModelConfig::default());
    let mut d = Ena::new(model, BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE)
        .unwrap();
    (d, host)
}

fn ready() -> (Driver, Rc<Host>, IoPair<BusMem>, BusMem) {
    let (mut d, host) = device();
    let p = d.create_pair(16).unwrap();
    let bufs = d.alloc.alloc(1 << 20);
    host.writes.borrow_mut().clear();
    (d, host, p, bufs)
}

/// Posts one 64-byte packet; `edit` may change its descriptor in the
/// ring before the doorbell.
fn send(
    d: &mut Driver,
    p: &mut IoPair<BusMem>,
    bufs: &BusMem,
    id: u16,
    edit: impl Fn(&mut TxDesc),
) {
    send_edited(d, p, bufs, 16, id, edit)
}

/// Asserts that the write covering `at..at+len` came in pieces and ended
/// with the single byte at `at + phase`.
fn phase_written_last(host: &Host, at: u64, len: usize, phase: usize) {
    let writes = host.writes.borrow();
    let mine: Vec<_> = writes
        .iter()
        .filter(|(a, _)| *a >= at && *a < at + len as u64)
        .collect();
    let last = mine.last().expect("the entry was written");
    assert_eq!(
        (last.0, last.1.len()),
        (at + phase as u64, 1),
        "the phase byte comes last: {mine:?}"
    );
    let body: usize = mine.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(body, len, "the whole entry, once");
}

#[test]
fn completions_and_events_are_written_body_first_phase_last() {
    let (mut d, host, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 0, |_| {});
    let tx_cq = p.tx_done.ring_mut().phys();
    phase_written_last(&host, tx_cq, 8, 3);

    let (mut d, host) = device();
    host.writes.borrow_mut().clear();
    d.regs.keep_alive();
    let event = host.writes.borrow().last().unwrap().0 - 4;
    phase_written_last(&host, event, 64, 4);

    host.writes.borrow_mut().clear();
    let mut attrs = Command::new(opcode::GET_FEATURE);
    attrs.put(17, &[1]);
    d.admin_command(&attrs).unwrap();
    let acq = host.writes.borrow().last().unwrap().0 - 3;
    phase_written_last(&host, acq, 64, 3);
}

#[test]
fn a_packet_without_comp_req_is_sent_but_not_completed() {
    let (mut d, _host, mut p, bufs) = ready();
    send(&mut d, &mut p, &bufs, 3, |t| {
        t.len_ctrl &= !tx_desc::COMP_REQ_MASK
    });
    assert_eq!(d.regs.stats.tx_pkts, 1);
    assert!(
        p.tx_done.next_completed().is_err(),
        "no completion asked for"
    );
    send(&mut d, &mut p, &bufs, 4, |_| {});
    assert_eq!(p.tx_done.next_completed(), Ok(4));
}

#[test]
fn an_rx_buffer_of_length_0_holds_64_kib() {
    let (mut d, _host, mut p, bufs) = ready();
    p.rx.add(bufs.phys(), 0, 5).unwrap();
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
    let frame: Vec<u8> = (0..9000).map(|i| i as u8).collect();
    assert!(d.regs.receive(&frame));
    assert_eq!((d.regs.stats.rx_pkts, d.regs.stats.rx_drops), (1, 0));
    let mut got = vec![0u8; 9000];
    bufs.read(0, &mut got);
    assert_eq!(got, frame);
}

#[test]
fn an_rx_descriptor_of_another_lap_is_not_taken() {
    let (mut d, host, mut p, bufs) = ready();
    p.rx.add(bufs.phys(), 2048, 0).unwrap();
    // The driver's write has not landed: the slot still holds last lap's phase.
    let slot = p.rx.ring().phys();
    let mut raw = [0u8; 16];
    host.bus.read(slot, &mut raw);
    let mut desc = RxDesc::decode(&raw);
    desc.ctrl &= !rx_desc::PHASE_MASK;
    desc.encode(&mut raw);
    host.bus.write(slot, &raw);
    let (db, tail) = (p.rx_doorbell, p.rx.tail());
    d.doorbell(db, tail);
    assert!(!d.regs.receive(&[1; 100]), "no buffer yet: the frame waits");
    desc.ctrl |= rx_desc::PHASE_MASK;
    desc.encode(&mut raw);
    host.bus.write(slot, &raw);
    assert!(d.regs.receive(&[1; 100]));
    assert_eq!(d.regs.stats.rx_pkts, 1);
}

#[test]
fn completion_queues_take_the_entry_sizes_the_header_allows() {
    let (mut d, _host) = device();
    for (words, ok) in [
        (2u8, true),
        (4, true),
        (8, true),
        (1, false),
        (3, false),
        (16, false),
    ] {
        let mem = d.alloc.alloc(16 * 32);
        let cmd = CreateCqCmd {
            cq_caps_2: words & create_cq::CQ_ENTRY_SIZE_WORDS_MASK,
            cq_depth: 16,
            cq_ba_lo: mem.phys() as u32,
            cq_ba_hi: (mem.phys() >> 32) as u16,
            ..Default::default()
        };
        let r = d.admin_command(&Command::from_wire(opcode::CREATE_CQ, &cmd));
        assert_eq!(r.is_ok(), ok, "{words} words: {:?}", r.err());
        if !ok {
            assert_eq!(r.err(), Some(AdminError::MalformedRequest));
        }
    }
}

#[test]
fn events_wait_for_room_the_aenq_head_doorbell_gives() {
    let (mut d, _host) = device();
    d.poll_events(|_| {}); // the link event bring-up left
                           // The ring is 32 deep: 32 keep-alives fit, the next ones wait.
    for _ in 0..40 {
        d.regs.keep_alive();
    }
    assert_eq!(d.poll_events(|_| {}), 32, "none overwritten");
    // The head doorbell that poll wrote let the 8 waiting ones in.
    assert_eq!(d.poll_events(|_| {}), 8, "held, not lost");
    // More than a ring's worth waiting: the rest are lost, and counted.
    for _ in 0..(32 + 32 + 3) {
        d.regs.keep_alive();
    }
    assert_eq!(d.regs.stats.aenq_overruns, 3);
    assert_eq!(d.poll_events(|_| {}), 32);
    assert_eq!(d.poll_events(|_| {}), 32);
    assert_eq!(d.poll_events(|_| {}), 0);
}

#[test]
fn intr_mask_silences_admin_completions_but_not_events() {
    let (mut d, host) = device();
    d.regs.write32(regs::INTR_MASK, 1); // ena_com_set_admin_polling_mode(true)
    host.irqs.borrow_mut().clear();
    let mut attrs = Command::new(opcode::GET_FEATURE);
    attrs.put(17, &[1]);
    d.admin_command(&attrs).expect("polled, it still completes");
    assert!(host.irqs.borrow().is_empty(), "{:?}", host.irqs.borrow());
    d.regs.keep_alive();
    assert_eq!(*host.irqs.borrow(), vec![0]);
    d.regs.write32(regs::INTR_MASK, 0);
    d.admin_command(&attrs).unwrap();
    assert_eq!(*host.irqs.borrow(), vec![0, 0]);
}

#[test]
fn the_keep_alive_event_carries_the_drop_counters() {
    let (mut d, host, mut p, bufs) = ready();
    // An oversize packet is a Tx drop; a frame past the MTU an Rx drop.
    p.tx.prepare(&TxCtx {
        bufs: &[TxBuf {
            paddr: bufs.phys(),
            len: 9300,
        }],
        req_id: 0,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    for _ in 0..2 {
        d.regs.receive(&[0; 9300]);
    }
    host.writes.borrow_mut().clear();
    d.regs.keep_alive();
    let event = host.writes.borrow().last().unwrap().0 - 4;
    let mut e = [0u8; 64];
    host.bus.read(event, &mut e);
    let word = |i: usize| u64::from_le_bytes(e[16 + 8 * i..24 + 8 * i].try_into().unwrap());
    // ena_admin_aenq_keep_alive_desc: rx_drops, tx_drops, rx_overruns.
    assert_eq!((word(0), word(1), word(2)), (2, 1, 0));
}

#[test]
fn a_reset_forgets_where_read_less_answers_went() {
    let (mut d, host) = device();
    let resp = d.alloc.alloc(4096);
    d.regs.write32(regs::MMIO_RESP_LO, resp.phys() as u32);
    d.regs
        .write32(regs::MMIO_RESP_HI, (resp.phys() >> 32) as u32);
    d.regs
        .write32(regs::MMIO_REG_READ, (regs::VERSION << 16) | 7);
    let mut answer = [0u8; 8];
    resp.read(0, &mut answer);
    assert_eq!(u16::from_le_bytes([answer[0], answer[1]]), 7, "req_id");
    d.regs.write32(regs::DEV_CTL, regs::dev_ctl::DEV_RESET_MASK);
    d.regs.write32(regs::DEV_CTL, 0);
    host.writes.borrow_mut().clear();
    d.regs
        .write32(regs::MMIO_REG_READ, (regs::VERSION << 16) | 8);
    assert!(
        host.writes.borrow().is_empty(),
        "no answer at the old address: the driver must write it again"
    );
    d.regs.write32(regs::MMIO_RESP_LO, resp.phys() as u32 + 64);
    d.regs
        .write32(regs::MMIO_RESP_HI, (resp.phys() >> 32) as u32);
    d.regs
        .write32(regs::MMIO_REG_READ, (regs::VERSION << 16) | 9);
    resp.read(64, &mut answer);
    assert_eq!(
        u16::from_le_bytes([answer[0], answer[1]]),
        9,
        "answered anew"
    );
}

#[test]
fn deferred_tx_completions_come_later_and_out_of_order_within_the_window() {
    let bus = Bus::new(8 << 20, 0x2_0000_0000);
    let deferred = Rc::new(RefCell::new(0));
    struct Later(Bus, Rc<RefCell<u32>>);
    impl Platform for Later {
        fn dma_read(&self, addr: u64, out: &mut [u8]) {
            self.0.read(addr, out)
        }
        fn dma_write(&self, addr: u64, data: &[u8]) {
            self.0.write(addr, data)
        }
        fn transmit(&self, _frame: &[u8]) -> bool {
            true
        }
        fn defer(&self) {
            *self.1.borrow_mut() += 1;
        }
    }
    let config = ModelConfig {
        tx_completion_window: 4,
        ..Default::default()
    };
    let model = Model::with_platform(Rc::new(Later(bus.clone(), deferred.clone())), config);
    let mut d = Ena::new(model, BusAlloc::new(&bus), VirtualClock::default());
    d.bring_up(16, aenq_group::LINK_CHANGE).unwrap();
    let mut p = d.create_pair(16).unwrap();
    let bufs = d.alloc.alloc(4096);
    for id in 0..6 {
        p.tx.prepare(&TxCtx {
            bufs: &[TxBuf {
                paddr: bufs.phys(),
                len: 64,
            }],
            req_id: id,
            ..Default::default()
        })
        .unwrap();
    }
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    assert_eq!(d.regs.stats.tx_pkts, 6, "sent at the doorbell");
    assert!(p.tx_done.next_completed().is_err(), "completed only later");
    assert_eq!(*deferred.borrow(), 1, "the host is asked once");
    d.regs.run_deferred();
    let order: Vec<u16> = std::iter::from_fn(|| p.tx_done.next_completed().ok()).collect();
    assert_eq!(order, vec![3, 2, 1, 0, 5, 4]);
    assert_eq!(d.regs.stats.tx_reordered, 3 + 1);
    // Completions of a queue destroyed before they were written die with it.
    d.doorbell(db, tail); // nothing new
    let mut p2 = d.create_pair(16).unwrap();
    p2.tx
        .prepare(&TxCtx {
            bufs: &[TxBuf {
                paddr: bufs.phys(),
                len: 64,
            }],
            req_id: 9,
            ..Default::default()
        })
        .unwrap();
    let (db2, tail2) = (p2.tx_doorbell, p2.tx.tail());
    d.doorbell(db2, tail2);
    d.reset(0).unwrap();
    d.regs.run_deferred();
    assert!(p2.tx_done.next_completed().is_err(), "a reset forgets them");
}
