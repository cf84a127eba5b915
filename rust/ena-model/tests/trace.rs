//! The device's trace, as a learner reads it: off, it writes nothing; on,
//! a bring-up reads as the reset handshake, the admin commands decoded
//! field by field, the events, each line naming the driver function behind
//! it; traffic is a few doorbells in detail and then a tally a second; a
//! protocol violation is one line, the first time.

use ena_core::device::{aenq_group, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::tx::{TxBuf, TxCtx};
use ena_model::trace::{decode, DETAILED};
use ena_model::{Bus, BusAlloc, BusMem, Model, ModelConfig, VirtualClock};

type Driver = Ena<Model, BusAlloc, VirtualClock>;

fn device(trace: bool) -> (Driver, Bus, IoPair<BusMem>, BusMem) {
    let bus = Bus::new(8 << 20, 0x1_0000_0000);
    let config = ModelConfig {
        trace,
        ..Default::default()
    };
    let mut d = Ena::new(
        Model::new(&bus, config),
        BusAlloc::new(&bus),
        VirtualClock::default(),
    );
    let (_, p) = d
        .bring_up(16, aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE)
        .unwrap();
    let bufs = d.alloc.alloc(1 << 16);
    (d, bus, p, bufs)
}

fn send(d: &mut Driver, p: &mut IoPair<BusMem>, bufs: &BusMem, id: u16) {
    p.tx.prepare(&TxCtx {
        bufs: &[TxBuf {
            paddr: bufs.phys(),
            len: 60,
        }],
        req_id: id,
        ..Default::default()
    })
    .unwrap();
    let (db, tail) = (p.tx_doorbell, p.tx.tail());
    d.doorbell(db, tail);
    assert_eq!(p.tx_done.next_completed(), Ok(id));
    p.tx.ack(1);
}

/// The lines that contain all of `words`.
fn lines_with<'a>(lines: &'a [String], words: &[&str]) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .collect()
}

#[test]
fn off_it_writes_nothing() {
    let (mut d, bus, mut p, bufs) = device(false);
    send(&mut d, &mut p, &bufs, 0);
    d.regs.keep_alive();
    assert!(bus.trace_lines().is_empty());
}

#[test]
fn a_bring_up_reads_as_the_reset_the_admin_commands_and_the_events() {
    let (d, bus, _p, _bufs) = device(true);
    let lines = bus.trace_lines();
    let reset = lines_with(
        &lines,
        &["write DEV_CTL = 0x00000001", "<- ena_com_dev_reset"],
    );
    assert_eq!(reset.len(), 1, "{lines:#?}");
    assert!(
        !lines_with(&lines, &["read  DEV_STS", "<- wait_for_reset_state"]).is_empty(),
        "the driver polls the reset's progress"
    );
    // Every admin command, in the order the device executed them, each
    // decoded with its answer and the function that sent it.
    let admin: Vec<String> = lines
        .iter()
        .filter_map(|l| l.trim_start().split_once(' ')?.1.strip_prefix("admin "))
        .map(|l| l.split(" [").next().unwrap().to_string())
        .collect();
    let log: Vec<String> = d
        .regs
        .admin_log
        .iter()
        .map(|(op, f, _)| decode::op_name(*op, *f))
        .collect();
    assert_eq!(admin, log);
    let attrs = lines_with(&lines, &["admin GET_FEATURE DEVICE_ATTRIBUTES"]);
    assert!(
        attrs[0].contains("-> [id 0, status SUCCESS, phase 1, mac_addr [02, e1, ab, 00, 00, 01]")
            && attrs[0].ends_with("<- ena_com_get_dev_attr_feat"),
        "{}",
        attrs[0]
    );
    assert_eq!(
        lines_with(
            &lines,
            &[
                "admin CREATE_SQ",
                "sq_direction rx",
                "<- ena_com_create_io_sq"
            ]
        )
        .len(),
        1
    );
    assert_eq!(
        lines_with(
            &lines,
            &[
                "event LINK_CHANGE (link up)",
                "<- ena_update_on_link_change"
            ]
        )
        .len(),
        1
    );
}

#[test]
fn traffic_is_a_few_doorbells_in_detail_then_a_tally_a_second() {
    let (mut d, bus, mut p, bufs) = device(true);
    for n in 0..50 {
        send(&mut d, &mut p, &bufs, n % 8);
    }
    let lines = bus.trace_lines();
    let tx = lines_with(&lines, &["doorbell tx q0:", "<- ena_com_write_sq_doorbell"]);
    assert_eq!(tx.len(), DETAILED as usize, "{lines:#?}");
    assert!(
        tx[0].contains("tail 1: 1 packets in 1 descriptors, req_id 0..0"),
        "{}",
        tx[0]
    );
    d.regs.keep_alive();
    let lines = bus.trace_lines();
    let summary = lines_with(&lines, &["summary q0:"]);
    assert_eq!(summary.len(), 1);
    assert!(
        summary[0].contains("50 doorbells, 50 packets, 3000 bytes"),
        "{}",
        summary[0]
    );
    assert_eq!(
        lines_with(
            &lines,
            &["event KEEP_ALIVE (rx_drops 0, tx_drops 0, rx_overruns 50)"]
        )
        .len(),
        1,
        "the loopback had no Rx buffers: 50 overruns, in the keep-alive"
    );
    // Quiet queues say nothing; a second tally only what happened since.
    d.regs.keep_alive();
    assert_eq!(lines_with(&bus.trace_lines(), &["summary q0:"]).len(), 1);
}

#[test]
fn a_violation_is_one_line_the_first_time() {
    let (mut d, bus, _p, _bufs) = device(true);
    use ena_core::regs::Registers;
    d.regs.write32(ena_model::CQ_UNMASK_BASE + 4 * 12, 1 << 30);
    d.regs.write32(ena_model::CQ_UNMASK_BASE + 4 * 12, 1 << 30);
    let lines = bus.trace_lines();
    let v = lines_with(&lines, &["violation unmask-unknown-cq: queue 12"]);
    assert_eq!(v.len(), 1, "{lines:#?}");
    assert_eq!(
        d.regs
            .violations()
            .count(ena_model::check::UNMASK_UNKNOWN_CQ),
        2
    );
}
