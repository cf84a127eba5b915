//! The test port: a window past the ENA registers that no driver touches,
//! where a test arms faults and reads counters. Its layout is defined once,
//! in `ena-capi/include/ena_model.h` (a test holds these to it); QEMU's
//! device also shows it in config space, which a guest reaches through
//! sysfs even while a driver owns BAR0.

use super::{check, Model};

/// Where the port is in BAR0, and how long it is.
pub const BASE: u32 = 0x3000;
pub const SIZE: u32 = 0x40;
/// Write: fault bits to arm; read: the bits still armed.
pub const FAULTS: u32 = BASE;
/// Read: device resets so far (each `ena_com_dev_reset` counts one).
pub const RESETS: u32 = 0x3004;
/// Read: the reason of the last reset, as DEV_CTL carried it
/// (`enum ena_regs_reset_reason_types`).
pub const LAST_RESET_REASON: u32 = 0x3008;
/// Read: admin commands answered "unsupported" so far.
pub const UNSUPPORTED: u32 = 0x300c;
/// Read: admin commands executed so far.
pub const ADMIN_COMMANDS: u32 = 0x3010;
/// Read: bit N set when the driver asked for feature N (GET or SET).
pub const FEATURES_ASKED: u32 = 0x3014;
/// Read: bit N set when the model answered feature N "unsupported".
pub const FEATURES_REFUSED: u32 = 0x3018;
/// Read: 1 when the link is up. Write 0 or 1: cut or restore the wire
/// (a LINK_CHANGE event, what `ena_update_on_link_change` handles).
pub const LINK: u32 = 0x301c;
/// Read: the LLQ entry size the driver chose, in bytes; 0 before it did.
pub const LLQ_ENTRY_SIZE: u32 = 0x3020;
/// Read: live Tx queues in device placement (LLQ); 0 when the driver
/// took host placement.
pub const LLQ_QUEUES: u32 = 0x3024;
/// Read: LLQ entries the device has read from its memory.
pub const LLQ_ENTRIES: u32 = 0x3028;
/// Read: doorbells rung after more entries than the burst limit allows.
pub const LLQ_BURST_ERRORS: u32 = 0x302c;
/// Read: Tx completions written before one of a packet sent earlier.
pub const TX_REORDERED: u32 = 0x3030;
/// Write: which counter COUNTER reads (the `counter` ids below).
pub const COUNTER_SELECT: u32 = 0x3034;
/// Read: the counter COUNTER_SELECT chose.
pub const COUNTER: u32 = 0x3038;
/// Write: post an UPDATE_HINTS notification whose driver watchdog timeout
/// is the value, in ms (the other hints as at probe).
pub const HINTS: u32 = 0x303c;

/// The counters behind COUNTER_SELECT.
pub mod counter {
    /// Interrupts held back by a moderation delay, then raised.
    pub const MODERATED_INTERRUPTS: u32 = 0;
    /// The delays of the last unmask write: Rx in 15:0, Tx in 31:16.
    pub const INTR_DELAYS: u32 = 1;
    /// Tx packets sent with the meta their queue kept (meta caching).
    pub const CACHED_META_USES: u32 = 2;
    /// Tx packets whose L4 checksum the device finished.
    pub const TX_CSUM_OFFLOADS: u32 = 3;
    /// Frames dropped because no Rx buffer was posted.
    pub const RX_OVERRUNS: u32 = 4;
    /// Frames dropped for any other reason (too long, link down...).
    pub const RX_DROPS: u32 = 5;
    /// Frames received.
    pub const RX_PKTS: u32 = 6;
    /// The Rx offset in use (0 until the driver says it takes one).
    pub const RX_OFFSET: u32 = 7;
    /// Registers the driver read the read-less way.
    pub const READLESS_READS: u32 = 8;
    /// Protocol violations in all (`checker`).
    pub const VIOLATIONS: u32 = 16;
    /// The check that fired first, plus one (0: none).
    pub const FIRST_CHECK: u32 = 17;
    /// `CHECK_BASE + c`: how often check `c` fired.
    pub const CHECK_BASE: u32 = 32;
    /// `FIRST_BASE + 2c`: check `c`'s first instance, queue in 31:16 and
    /// slot in 15:0; `FIRST_BASE + 2c + 1`: its value.
    pub const FIRST_BASE: u32 = 64;
}

/// Withhold keep-alive events until the next device reset.
pub const WITHHOLD_KEEP_ALIVE: u32 = 1 << 0;
/// The next admin command never completes.
pub const WITHHOLD_COMPLETION: u32 = 1 << 1;
/// The next admin completion carries another command id.
pub const WRONG_COMPLETION_ID: u32 = 1 << 2;
/// Frames are still sent, but no Tx completion is written until the
/// next device reset (the driver's missing-completion check fires).
pub const WITHHOLD_TX_COMPLETIONS: u32 = 1 << 3;

/// How long an armed fault lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// Until it has fired once.
    Once,
    /// Until the driver resets the device (what recovery clears).
    UntilReset,
    /// Until the test clears it.
    UntilCleared,
}

/// One fault switch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fault(Option<Lifetime>);

impl Fault {
    pub fn arm(&mut self, lifetime: Lifetime) {
        self.0 = Some(lifetime);
    }
    pub fn clear(&mut self) {
        self.0 = None;
    }
    pub fn armed(&self) -> bool {
        self.0.is_some()
    }
    /// Whether the fault acts now; a `Once` fault is used up by it.
    pub(super) fn fires(&mut self) -> bool {
        match self.0 {
            Some(Lifetime::Once) => {
                self.0 = None;
                true
            }
            Some(_) => true,
            None => false,
        }
    }
    fn device_reset(&mut self) {
        if self.0 == Some(Lifetime::UntilReset) {
            self.0 = None;
        }
    }
}

/// The faults a test arms, each named after the driver code it exercises.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// An admin completion carries another command id
    /// (what `ena_com_handle_single_admin_completion` rejects).
    pub wrong_completion_id: Fault,
    /// An admin command never completes (`ena_com_wait_and_process_admin_cq_polling` times out).
    pub withhold_completion: Fault,
    /// The device does not leave reset (`ena_com_dev_reset` waits in vain).
    pub reset_stuck: Fault,
    /// Tx completions name a request id past the queue (`validate_tx_req_id` in the driver).
    pub bad_tx_req_id: Fault,
    /// An Rx completion lacks its LAST bit, so the packet after it starts
    /// mid-packet: what `ena_com_cdesc_rx_pkt_get` rejects (-EFAULT).
    pub rx_cdesc_without_last: Fault,
    /// No keep-alive events (the driver's `check_for_missing_keep_alive`
    /// fires; until reset, the device then recovers).
    pub withhold_keep_alive: Fault,
    /// Read-less register reads are not answered (`ena_com_reg_bar_read32` times out).
    pub no_readless_answer: Fault,
    /// No Tx completions (`check_missing_comp_in_tx_queue` in the driver).
    pub withhold_tx_completions: Fault,
}

impl Faults {
    /// A device reset ends the faults armed until it.
    pub(super) fn device_reset(&mut self) {
        for f in [
            &mut self.wrong_completion_id,
            &mut self.withhold_completion,
            &mut self.reset_stuck,
            &mut self.bad_tx_req_id,
            &mut self.rx_cdesc_without_last,
            &mut self.withhold_keep_alive,
            &mut self.no_readless_answer,
            &mut self.withhold_tx_completions,
        ] {
            f.device_reset();
        }
    }

    /// The port's fault bits and the switch each arms, with its lifetime.
    fn by_bit(&mut self) -> [(u32, &mut Fault, Lifetime); 4] {
        [
            (
                WITHHOLD_KEEP_ALIVE,
                &mut self.withhold_keep_alive,
                Lifetime::UntilReset,
            ),
            (
                WITHHOLD_COMPLETION,
                &mut self.withhold_completion,
                Lifetime::Once,
            ),
            (
                WRONG_COMPLETION_ID,
                &mut self.wrong_completion_id,
                Lifetime::Once,
            ),
            (
                WITHHOLD_TX_COMPLETIONS,
                &mut self.withhold_tx_completions,
                Lifetime::UntilReset,
            ),
        ]
    }
}

impl Model {
    /// A read of the port (`off` is a BAR0 offset within it).
    pub(super) fn test_port_read(&mut self, off: u32) -> u32 {
        match off {
            FAULTS => self
                .faults
                .by_bit()
                .iter()
                .filter(|(_, f, _)| f.armed())
                .fold(0, |bits, (bit, _, _)| bits | bit),
            RESETS => self.stats.resets as u32,
            LAST_RESET_REASON => self.last_reset_reason,
            UNSUPPORTED => self.stats.unsupported as u32,
            ADMIN_COMMANDS => self.stats.admin_commands as u32,
            FEATURES_ASKED => self.stats.features_asked,
            FEATURES_REFUSED => self.stats.features_refused,
            LINK => self.link_up as u32,
            LLQ_ENTRY_SIZE => self.llq_in_use().0 as u32,
            LLQ_QUEUES => self.llq_in_use().1 as u32,
            LLQ_ENTRIES => self.stats.llq_entries as u32,
            LLQ_BURST_ERRORS => self.stats.llq_burst_errors as u32,
            TX_REORDERED => self.stats.tx_reordered as u32,
            COUNTER => self.counter(self.counter_select),
            _ => 0,
        }
    }

    pub(super) fn test_port_write(&mut self, off: u32, v: u32) {
        match off {
            LINK if v <= 1 && self.link_up != (v == 1) => self.set_link(v == 1),
            COUNTER_SELECT => self.counter_select = v,
            HINTS => self.update_hints(v.min(u16::MAX as u32) as u16),
            FAULTS => {
                for (bit, fault, lifetime) in self.faults.by_bit() {
                    if v & bit != 0 {
                        fault.arm(lifetime);
                    }
                }
            }
            _ => {}
        }
    }

    fn counter(&self, id: u32) -> u32 {
        let s = &self.stats;
        let v = match id {
            counter::MODERATED_INTERRUPTS => s.moderated_interrupts,
            counter::INTR_DELAYS => {
                (s.last_intr_delays.0 as u64) | (s.last_intr_delays.1 as u64) << 16
            }
            counter::CACHED_META_USES => s.cached_meta_uses,
            counter::TX_CSUM_OFFLOADS => s.tx_csum_offloads,
            counter::RX_OVERRUNS => s.rx_overruns,
            counter::RX_DROPS => s.rx_drops,
            counter::RX_PKTS => s.rx_pkts,
            counter::RX_OFFSET => self.rx_offset() as u64,
            counter::READLESS_READS => s.readless_reads,
            counter::VIOLATIONS => self.violations().total(),
            counter::FIRST_CHECK => self.violations().first_check().map_or(0, |c| c as u64 + 1),
            c if (counter::CHECK_BASE..counter::CHECK_BASE + check::COUNT as u32).contains(&c) => {
                self.violations().count(c - counter::CHECK_BASE)
            }
            c if (counter::FIRST_BASE..counter::FIRST_BASE + 2 * check::COUNT as u32)
                .contains(&c) =>
            {
                let i = self
                    .violations()
                    .first((c - counter::FIRST_BASE) / 2)
                    .unwrap_or_default();
                if (c - counter::FIRST_BASE).is_multiple_of(2) {
                    (i.queue as u64) << 16 | i.slot as u64
                } else {
                    i.value as u64
                }
            }
            _ => 0,
        };
        v as u32
    }
}
