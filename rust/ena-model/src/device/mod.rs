//! The device model, split the way the kernel splits the driver, each file
//! named after what it answers: `registers` (BAR0 and the reset
//! handshake), `admin` (one function per command and feature), `aenq`,
//! `interrupts`, `io` (Tx and Rx) and `test_port`. This file holds the
//! device's state and what it is configured with.

mod admin;
mod aenq;
mod checker;
mod interrupts;
mod io;
mod llq;
mod offload;
mod registers;
pub mod test_port;
mod tracing;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use ena_core::admin::ENTRY_SIZE;
use ena_core::defs::RxDesc;
use ena_core::ring::Cursor;

use crate::bus::{Bus, Platform};
use crate::rss::Indirection;

pub use checker::{check, Instance, Response, Violations};
pub use llq::LLQ_BAR_SIZE;
pub use test_port::{Fault, Faults, Lifetime};

use llq::LlqLayout;

/// Doorbells of submission queue `i` are at `SQ_DOORBELL_BASE + 4 * i`.
pub const SQ_DOORBELL_BASE: u32 = 0x1000;
/// Interrupt unmask registers of completion queue `i`.
pub const CQ_UNMASK_BASE: u32 = 0x2000;

/// What the model accepts per packet: `max_packet_tx_descs` and
/// `max_packet_rx_descs` as MAX_QUEUES_NUM reports them, and the drivers'
/// own Rx limit (ENA_PKT_MAX_BUFS, 19).
const MAX_TX_DESCS: usize = 32;
const MAX_RX_BUFS: usize = 19;
/// The longest Tx header (`max_header_size`). The drivers keep it in a u8
/// (ena_ring.tx_max_header_size): 256 would read as 0 and fail every Tx
/// ring allocation.
const MAX_HEADER: usize = 128;
/// `ENA_FEATURE_MAX_QUEUE_EXT_VER`: the one version there is.
const MAX_QUEUES_EXT_VERSION: u8 = 1;
/// Queues per direction (`max_sq_num`, `max_cq_num`): a Tx and an Rx of
/// each kind per queue pair.
const MAX_QUEUE_PAIRS: usize = 8;
/// Ethernet header and a VLAN tag on top of the MTU: the longest frame.
const FRAME_OVERHEAD: usize = 18;

/// What the device reports about itself.
#[derive(Clone, Copy, Debug)]
pub struct ModelConfig {
    pub mac: [u8; 6],
    pub max_mtu: u32,
    pub dma_width: u8,
    /// CAPS reset timeout and admin timeout, in 100 ms units.
    pub reset_timeout: u8,
    /// Whole seconds (10, the field's only one): DPDK's ENA PMD builds its
    /// admin deadline without carrying microseconds into seconds, so with
    /// a fraction of a second pthread_cond_timedwait refuses some deadlines
    /// (EINVAL) at random and those admin commands fail.
    pub admin_timeout: u8,
    /// MAX_QUEUES_NUM: SQ/CQ depth limit the device reports (with
    /// MAX_QUEUES_EXT, the Tx limit).
    pub max_queue_depth: u32,
    /// Offer MAX_QUEUES_EXT, which sizes Rx rings apart from Tx ones (as
    /// Nitro does); off, MAX_QUEUES_NUM's one limit holds for both.
    pub max_queues_ext: bool,
    /// MAX_QUEUES_EXT: the Rx ring depth limit.
    pub max_rx_queue_depth: u32,
    /// INTERRUPT_MODERATION: microseconds per unit of the delays the
    /// driver writes to the unmask registers; 0 offers no moderation.
    pub intr_delay_resolution: u16,
    /// HW_HINTS: timeouts the driver takes instead of its own defaults.
    pub hw_hints: bool,
    /// Where the first buffer of a frame starts, for a driver that says it
    /// handles an Rx offset (host info `rx_offset`); 0: at the start.
    pub rx_offset: u8,
    /// MSI-X vectors the function has (QEMU's `msix-vectors`).
    pub msix_vectors: u16,
    /// What the protocol checker does besides counting.
    pub checker_response: Response,
    /// Trace what the driver does, a line each, to the platform.
    pub trace: bool,
    /// LINK_CONFIG: what `ethtool` shows as the speed.
    pub link_speed_mbps: u32,
    /// Offer LLQ (device placement of Tx queues, as every Nitro ENA does);
    /// off, the drivers fall back to host placement.
    pub llq: bool,
    /// Recommend 256-byte LLQ entries (Nitro v4 and later), which the
    /// drivers of 2.15+ then take, halving the Tx ring; else 128.
    pub llq_large: bool,
    /// The accelerated mode's Tx burst limit between doorbells, in bytes;
    /// 0 leaves it unlimited. Nitro's own figure is not published: ours.
    pub llq_max_burst: u16,
    /// Tx completions: 0 writes each inside its doorbell, in order; N
    /// defers them to [`Model::run_deferred`] and writes each group of N
    /// in reverse, as a device that completes out of order within a window.
    pub tx_completion_window: u8,
    /// Keep every admin command in `admin_log` and `admin_trace` (what
    /// tests and the trace CLI read); off in a long-lived device, where a
    /// guest could otherwise grow them without bound.
    pub trace_admin: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            mac: [0x02, 0xe1, 0xab, 0x00, 0x00, 0x01],
            max_mtu: 9216,
            dma_width: 48,
            reset_timeout: 5,
            admin_timeout: 10,
            max_queue_depth: 1024,
            max_queues_ext: true,
            max_rx_queue_depth: 16384,
            intr_delay_resolution: 1,
            hw_hints: true,
            rx_offset: 0,
            msix_vectors: 9,
            checker_response: Response::Count,
            trace: false,
            link_speed_mbps: 25_000,
            llq: true,
            llq_large: true,
            llq_max_burst: 4096,
            tx_completion_window: 0,
            trace_admin: true,
        }
    }
}

/// What the device counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub rx_drops: u64,
    /// Frames the device dropped because no Rx buffer was posted.
    pub rx_overruns: u64,
    /// Frames the device would not send: too many descriptors or longer
    /// than the MTU allows.
    pub tx_drops: u64,
    /// Interrupts raised, management vector included.
    pub interrupts: u64,
    pub admin_commands: u64,
    pub unsupported: u64,
    pub resets: u64,
    /// Feature ids asked for (GET or SET FEATURE) and answered unsupported,
    /// one bit each: what a driver needs of a device.
    pub features_asked: u32,
    pub features_refused: u32,
    /// Doorbell writes to Tx and Rx submission queues.
    pub tx_doorbells: u64,
    pub rx_doorbells: u64,
    /// LLQ entries read from device memory.
    pub llq_entries: u64,
    /// Doorbells that came after more entries than the burst limit allows.
    pub llq_burst_errors: u64,
    /// Events lost because the AENQ had no room and a ring's worth waited.
    pub aenq_overruns: u64,
    /// Tx completions written before one of a packet sent earlier.
    pub tx_reordered: u64,
    /// Interrupts held back by a moderation delay, then raised.
    pub moderated_interrupts: u64,
    /// The last delays an unmask write set, in resolution units (Rx, Tx).
    pub last_intr_delays: (u16, u16),
    /// Tx packets sent with a meta the queue kept (meta caching).
    pub cached_meta_uses: u64,
    /// Frames whose L4 checksum the device finished.
    pub tx_csum_offloads: u64,
    /// Registers read the read-less way (MMIO_REG_READ, answered by DMA).
    pub readless_reads: u64,
}

/// A ring the driver set up: where it is, and the device's place in it
/// (`ena_core::ring::Cursor`, as the driver keeps its own). A depth that is
/// not a power of two leaves it unusable: the driver wrote something no ENA
/// accepts.
#[derive(Clone, Copy, Default)]
struct Ring {
    base: u64,
    depth: u16,
    at: Option<Cursor>,
}

impl Ring {
    fn new(base: u64, depth: u16) -> Self {
        let at = depth.is_power_of_two().then(|| Cursor::new(depth));
        Self {
            base,
            depth: if at.is_some() { depth } else { 0 },
            at,
        }
    }
    fn usable(&self) -> bool {
        self.at.is_some()
    }
    fn index(&self) -> u16 {
        self.at.map_or(0, |c| c.index)
    }
    fn phase(&self) -> u8 {
        self.at.map_or(1, |c| c.phase)
    }
    fn slot(&self) -> u64 {
        self.at.map_or(0, |c| c.slot() as u64)
    }
    fn advance(&mut self) {
        if let Some(c) = &mut self.at {
            c.advance();
        }
    }
    /// The address of the entry at the cursor, entries `size` bytes each.
    fn entry(&self, size: u64) -> u64 {
        self.base + self.slot() * size
    }
}

impl Model {
    /// DMA-writes a completion or event with the byte that holds its phase
    /// bit last: the driver polls that bit, then reads the rest after its
    /// `dma_rmb`, so the rest must already be there.
    fn write_phase_last(&self, addr: u64, entry: &[u8], phase_byte: usize) {
        self.dma_out(addr, &entry[..phase_byte]);
        self.dma_out(addr + phase_byte as u64 + 1, &entry[phase_byte + 1..]);
        self.dma_out(addr + phase_byte as u64, &entry[phase_byte..phase_byte + 1]);
    }
}

struct Cq {
    ring: Ring,
    entry_size: u64,
    /// MSI-X vector, when the driver asked for interrupts.
    vector: Option<u16>,
}

/// An IO vector fires once and stays masked until the driver writes the
/// unmask register (after NAPI); what arrives meanwhile waits as pending.
/// With moderation, an interrupt waits out the delay the last unmask set
/// for its direction (`due`, on the platform's clock).
#[derive(Clone, Copy, Default)]
struct Vector {
    masked: bool,
    pending: bool,
    /// Rx and Tx delays, in `intr_delay_resolution` units.
    rx_delay: u16,
    tx_delay: u16,
    /// The direction of what is pending (true: Rx), for its delay.
    pending_rx: bool,
    due: Option<u64>,
}

struct Sq {
    ring: Ring,
    tx: bool,
    cq: usize,
    /// Last tail the driver rang the doorbell with.
    tail: u16,
    /// Device placement: the layout and the queue's window in BAR2.
    llq: Option<(LlqLayout, u64)>,
    /// The last meta descriptor that said META_STORE (meta caching).
    cached_meta: Option<offload::TxMeta>,
    /// Per request id: Tx, sent and not completed yet; Rx, how many
    /// posted descriptors carry it and are not filled yet.
    ids: Vec<u8>,
}

/// Whether a frame fits the Rx buffers posted now.
enum Room {
    /// Rx queue and the buffers it takes.
    Fits(usize, Vec<RxDesc>),
    /// Not yet: more buffers may come.
    Wait,
    /// Never with buffers like these (more than MAX_RX_BUFS): dropped.
    Never,
}

/// The software ENA.
pub struct Model {
    bus: Rc<dyn Platform>,
    pub config: ModelConfig,
    pub faults: Faults,
    pub stats: Stats,
    /// Every admin command seen: (opcode, feature id or 0, status answered).
    pub admin_log: Vec<(u8, u8, u8)>,
    /// Every admin entry as read, with the completion written (None when a
    /// fault withheld it): what a trace decodes.
    pub admin_trace: Vec<([u8; ENTRY_SIZE], Option<[u8; ENTRY_SIZE]>)>,
    resetting: bool,
    last_reset_reason: u32,
    aq: Ring,
    acq: Ring,
    aenq: Ring,
    enabled_groups: u32,
    host_os_type: Option<u32>,
    /// `driver_supported_features` of the host info page.
    driver_features: u32,
    /// The LLQ layout the driver set, until a reset.
    llq: Option<LlqLayout>,
    /// The MTU the driver set (`ena_com_set_dev_mtu`); max_mtu until then.
    mtu: Option<u32>,
    cqs: Vec<Option<Cq>>,
    sqs: Vec<Option<Sq>>,
    link_up: bool,
    rss: Indirection,
    vectors: Vec<Vector>,
    /// Where read-less answers go (MMIO_RESP_LO/HI); a reset forgets it.
    readless_resp: u64,
    /// AENQ_HEAD_DB: how far the device may write events (ena_com starts
    /// it at the depth: the whole ring free).
    aenq_head: u16,
    /// INTR_MASK's admin bit: the driver polls admin completions.
    admin_intr_masked: bool,
    /// The test port's counter selector.
    counter_select: u32,
    /// What the protocol checker found (recorded through `&self`: the
    /// data path reads DMA inside closures that borrow the model).
    violations: RefCell<Violations>,
    /// A violation asks for DEVICE_REQUEST_RESET; one is posted per reset.
    reset_wanted: Cell<bool>,
    reset_requested: bool,
    /// Admin command ids whose completion was withheld: still in flight.
    admin_in_flight: Vec<u16>,
    /// The trace's tallies of the data path, per SQ (and per CQ past 64).
    tallies: Vec<crate::trace::Tally>,
    /// Events waiting for room in the AENQ: (group bit, syndrome, data).
    pending_events: VecDeque<(u32, u16, Vec<u8>)>,
    /// Tx completions not written yet (SQ, CQ, request id), in send order.
    pending_tx: Vec<(usize, usize, u16)>,
    /// Frames for a peer model (a wire), or None: loopback to our own Rx.
    peer: Option<Rc<RefCell<VecDeque<Vec<u8>>>>>,
    inbox: Rc<RefCell<VecDeque<Vec<u8>>>>,
}

impl Model {
    pub fn new(bus: &Bus, config: ModelConfig) -> Self {
        Self::with_platform(Rc::new(bus.clone()), config)
    }

    /// The model on any platform: QEMU's PCI device passes one that DMAs
    /// into guest memory, raises MSI-X and sends to a network backend.
    pub fn with_platform(bus: Rc<dyn Platform>, config: ModelConfig) -> Self {
        Self {
            bus,
            config,
            faults: Faults::default(),
            stats: Stats::default(),
            admin_log: Vec::new(),
            admin_trace: Vec::new(),
            resetting: false,
            last_reset_reason: 0,
            aq: Ring::default(),
            acq: Ring::default(),
            aenq: Ring::default(),
            enabled_groups: 0,
            host_os_type: None,
            driver_features: 0,
            llq: None,
            mtu: None,
            cqs: Vec::new(),
            sqs: Vec::new(),
            link_up: true,
            rss: Indirection::default(),
            vectors: Vec::new(),
            readless_resp: 0,
            aenq_head: 0,
            admin_intr_masked: false,
            pending_tx: Vec::new(),
            counter_select: 0,
            violations: RefCell::default(),
            reset_wanted: Cell::new(false),
            reset_requested: false,
            admin_in_flight: Vec::new(),
            tallies: Vec::new(),
            pending_events: VecDeque::new(),
            peer: None,
            inbox: Rc::new(RefCell::new(VecDeque::new())),
        }
    }

    /// Joins two models with a wire: what one sends, the other receives.
    pub fn connect(a: &mut Model, b: &mut Model) {
        a.peer = Some(b.inbox.clone());
        b.peer = Some(a.inbox.clone());
    }

    /// The OS type the driver sent in its host info, once it did.
    pub fn host_os_type(&self) -> Option<u32> {
        self.host_os_type
    }
    pub fn enabled_groups(&self) -> u32 {
        self.enabled_groups
    }
    pub fn queues(&self) -> (usize, usize) {
        (
            self.sqs.iter().flatten().count(),
            self.cqs.iter().flatten().count(),
        )
    }

    /// The longest frame the device sends or takes: the MTU the driver
    /// set, with an Ethernet header and a VLAN tag.
    fn max_frame(&self) -> usize {
        self.mtu.unwrap_or(self.config.max_mtu) as usize + FRAME_OVERHEAD
    }

    /// The negotiated LLQ entry size and the live device-placement Tx
    /// queues: which Tx path the driver took.
    pub fn llq_in_use(&self) -> (usize, usize) {
        (
            self.llq.map_or(0, |l| l.entry),
            self.sqs
                .iter()
                .flatten()
                .filter(|s| s.llq.is_some())
                .count(),
        )
    }

    /// The interface the host sees: link state (`ena_update_on_link_change`).
    pub fn link_up(&self) -> bool {
        self.link_up
    }

    /// `ena_com_dev_reset` as the device sees it: everything the driver set
    /// up is forgotten, and the faults armed until a reset end.
    fn reset(&mut self) {
        self.aq = Ring::default();
        self.acq = Ring::default();
        self.aenq = Ring::default();
        self.aenq_head = 0;
        self.admin_intr_masked = false;
        self.pending_tx.clear();
        self.pending_events.clear();
        self.admin_in_flight.clear();
        self.reset_requested = false;
        self.reset_wanted.set(false);
        self.readless_resp = 0;
        self.enabled_groups = 0;
        self.llq = None;
        self.cqs.clear();
        self.sqs.clear();
        self.vectors.clear();
        self.rss = Indirection::default();
        self.faults.device_reset();
    }

    /// A PCI reset (QEMU's system reset or FLR): as after power-on. Not
    /// counted in `stats.resets`, which counts the driver's resets.
    pub fn hw_reset(&mut self) {
        if self.tracing() {
            self.trace("power-on", "PCI reset: as after power-on");
        }
        self.reset();
        self.resetting = false;
        self.faults = Faults::default();
        self.last_reset_reason = 0;
        self.host_os_type = None;
        self.driver_features = 0;
        self.mtu = None;
        self.admin_log.clear();
        self.admin_trace.clear();
        *self.violations.borrow_mut() = Violations::default();
    }

    /// What the protocol checker found since power-on.
    pub fn violations(&self) -> Violations {
        *self.violations.borrow()
    }

    /// A protocol violation: counted, its first instance kept, and a reset
    /// asked for when the device is configured to.
    fn violate(&self, c: u32, queue: usize, slot: usize, value: u32) {
        if self.tracing() && self.violations.borrow().count(c) == 0 {
            let name = check::NAMES[c as usize];
            self.trace(
                &format!("violation {name}"),
                &format!("violation {name}: queue {queue}, slot {slot}, value {value:#x}"),
            );
        }
        self.violations.borrow_mut().record(
            c,
            Instance {
                queue: queue as u16,
                slot: slot as u16,
                value,
            },
        );
        if self.config.checker_response == Response::RequestReset {
            self.reset_wanted.set(true);
        }
    }

    /// Device-side DMA read, checked: an address past the DMA width or
    /// outside guest memory is a violation, and reads as zeros.
    fn dma_in(&self, addr: u64, out: &mut [u8]) {
        if !self.dma_reachable(addr, out.len()) || !self.bus.dma_read_ok(addr, out) {
            out.fill(0);
            self.violate(check::DMA_OUTSIDE, 0, (addr >> 32) as usize, addr as u32);
        }
    }

    /// Device-side DMA write, checked the same way (nothing is written).
    fn dma_out(&self, addr: u64, data: &[u8]) {
        if !self.dma_reachable(addr, data.len()) || !self.bus.dma_write_ok(addr, data) {
            self.violate(check::DMA_OUTSIDE, 0, (addr >> 32) as usize, addr as u32);
        }
    }

    fn dma_reachable(&self, addr: u64, len: usize) -> bool {
        let width = self.config.dma_width.min(64) as u32;
        let end = addr.checked_add(len as u64);
        width == 64 || end.is_some_and(|e| e <= 1u64 << width)
    }
}
