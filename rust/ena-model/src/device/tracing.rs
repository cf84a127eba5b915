//! The device's side of the trace (`crate::trace`): each hook turns what
//! the device just saw into one line with the driver function behind it,
//! and tallies the data path so that a long run stays small.

use ena_core::admin::ENTRY_SIZE;

use super::{Model, MAX_QUEUE_PAIRS};
use crate::trace::{decode, function_of, Tally, DETAILED};

/// CQ `i`'s unmasks are tallied at `CQ_TALLIES + i`, past every SQ's.
const CQ_TALLIES: usize = 2 * MAX_QUEUE_PAIRS;

impl Model {
    /// Whether lines are wanted: everything below costs nothing without.
    pub(super) fn tracing(&self) -> bool {
        self.config.trace
    }

    /// One line: the time on the platform's clock, what happened, and the
    /// driver function its key names.
    pub(super) fn trace(&self, key: &str, what: &str) {
        let us = self.bus.now_us();
        let line = match function_of(key) {
            Some(f) => format!("{:>6}.{:06} {what}  <- {f}", us / 1_000_000, us % 1_000_000),
            None => format!("{:>6}.{:06} {what}", us / 1_000_000, us % 1_000_000),
        };
        self.bus.trace(&line);
    }

    pub(super) fn trace_register(&self, write: bool, off: u32, v: u32) {
        if !self.tracing() {
            return;
        }
        let (dir, name) = (if write { "write" } else { "read" }, decode::reg_name(off));
        self.trace(
            &format!("{dir} {name}"),
            &format!("{dir:<5} {name} = {v:#010x}{}", decode::reg_fields(off, v)),
        );
    }

    pub(super) fn trace_admin(&self, e: &[u8; ENTRY_SIZE], r: Option<&[u8; ENTRY_SIZE]>) {
        if !self.tracing() {
            return;
        }
        let op = decode::entry_op_name(e);
        let answer = match r {
            Some(r) => decode::completion(e, r),
            None => "no completion (withheld)".into(),
        };
        self.trace(
            &format!("admin {op}"),
            &format!("admin {op} [{}] -> [{answer}]", decode::command(e)),
        );
    }

    pub(super) fn trace_event(&self, group: u16, syndrome: u16, data: &[u8]) {
        if !self.tracing() {
            return;
        }
        let name = decode::event_name(group, syndrome);
        self.trace(
            &format!("event {name}"),
            &format!("event {name}{}", decode::event_data(group, syndrome, data)),
        );
    }

    /// A doorbell of SQ `sqi`: the first ones in detail, then tallied.
    pub(super) fn trace_doorbell(&mut self, sqi: usize, tx: bool, llq: bool, detail: &str) {
        if !self.tracing() {
            return;
        }
        let t = self.tally(sqi);
        t.doorbells += 1;
        if t.detailed < DETAILED {
            t.detailed += 1;
            let dir = if tx { "tx" } else { "rx" };
            let key = format!("doorbell {dir}{}", if llq { " llq" } else { "" });
            self.trace(&key, &format!("doorbell {dir} q{sqi}: {detail}"));
        }
    }

    /// Packets and bytes through SQ `sqi`, for the next summary.
    pub(super) fn tally_packet(&mut self, sqi: usize, bytes: usize) {
        if self.tracing() {
            let t = self.tally(sqi);
            t.packets += 1;
            t.bytes += bytes as u64;
        }
    }

    pub(super) fn trace_unmask(&mut self, cqi: usize, rx_delay: u16, tx_delay: u16) {
        if !self.tracing() {
            return;
        }
        let t = self.tally(CQ_TALLIES + cqi);
        t.unmasks += 1;
        if t.detailed < DETAILED {
            t.detailed += 1;
            self.trace(
                "unmask",
                &format!("unmask cq{cqi}: rx delay {rx_delay}, tx delay {tx_delay} units"),
            );
        }
    }

    /// Once a second (the keep-alive tick): what each busy queue did.
    pub(super) fn trace_summary(&mut self) {
        if !self.tracing() {
            return;
        }
        let tallies = std::mem::take(&mut self.tallies);
        for (i, t) in tallies.iter().enumerate().filter(|(_, t)| t.busy()) {
            let what = if i >= CQ_TALLIES {
                format!("summary cq{}: {} unmasks", i - CQ_TALLIES, t.unmasks)
            } else {
                format!(
                    "summary q{i}: {} doorbells, {} packets, {} bytes",
                    t.doorbells, t.packets, t.bytes
                )
            };
            self.trace("summary", &what);
        }
        // The detail budget is spent once per queue, not per second.
        self.tallies = tallies
            .into_iter()
            .map(|t| Tally {
                detailed: t.detailed,
                ..Default::default()
            })
            .collect();
    }

    fn tally(&mut self, i: usize) -> &mut Tally {
        if self.tallies.len() <= i {
            self.tallies.resize(i + 1, Tally::default());
        }
        &mut self.tallies[i]
    }
}
