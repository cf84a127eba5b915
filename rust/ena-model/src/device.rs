//! The device model: registers, reset, admin commands, AENQ events and the
//! IO queues with a loopback or a wire to a second model.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use ena_core::admin::{feature, opcode, ENTRY_SIZE};
use ena_core::admin_defs::{
    create_cq, create_sq, join_addr, to_entry, AenqEntry, CreateCqCmd, CreateCqResp, CreateSqCmd,
    CreateSqResp, DestroyCqCmd, DestroySqCmd, DeviceAttrFeatureDesc, FeatCmd, FeatureAenqDesc,
    HostInfo, QueueFeatureDesc, SetFeatureHostAttrDesc,
};
use ena_core::defs::{rx_cdesc, tx_desc, RxCdesc, RxDesc, TxCdesc, TxDesc};
use ena_core::device::aenq_group;
use ena_core::regs::{self, dev_ctl, dev_sts, Registers};
use ena_core::wire::Wire;

use crate::bus::{Bus, Platform};
use crate::rss::{self, Indirection};

/// Doorbells of submission queue `i` are at `SQ_DOORBELL_BASE + 4 * i`.
pub const SQ_DOORBELL_BASE: u32 = 0x1000;
/// Interrupt unmask registers of completion queue `i`.
pub const CQ_UNMASK_BASE: u32 = 0x2000;
/// `ENA_ETH_IO_INTR_REG_INTR_UNMASK_MASK`: what `ena_com_unmask_intr` writes.
const INTR_UNMASK: u32 = 1 << 30;

/// A window past the ENA registers that no driver touches: a test switches
/// faults on and reads counters through it. QEMU's device also shows it at
/// config space 0xe0..0xff, which a guest reaches through sysfs even while
/// a driver owns BAR0.
pub mod test_port {
    /// Write: fault bits to switch on; read: the bits still armed.
    pub const FAULTS: u32 = 0x3000;
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
    /// Withhold keep-alive events until the next device reset.
    pub const WITHHOLD_KEEP_ALIVE: u32 = 1 << 0;
    /// The next admin command never completes.
    pub const WITHHOLD_COMPLETION: u32 = 1 << 1;
    /// The next admin completion carries another command id.
    pub const WRONG_COMPLETION_ID: u32 = 1 << 2;
    /// Frames are still sent, but no Tx completion is written until the
    /// next device reset (the driver's missing-completion check fires).
    pub const WITHHOLD_TX_COMPLETIONS: u32 = 1 << 3;
}

/// `enum ena_admin_aq_feature_id` values the model answers beyond bring-up.
mod feat {
    pub const STATELESS_OFFLOAD_CONFIG: u8 = 11;
    pub const RSS_INDIRECTION_TABLE_CONFIG: u8 = 12;
    pub const MTU: u8 = 14;
    pub const LINK_CONFIG: u8 = 27;
}

/// `enum ena_admin_get_stats_type` and the device capability bits.
mod stats_type {
    pub const BASIC: u8 = 0;
    pub const ENI: u8 = 2;
    /// `ENA_ADMIN_ENI_STATS` in `device_attr.capabilities`.
    pub const CAP_ENI_STATS: u32 = 1 << 0;
}

/// What the device reports about itself.
#[derive(Clone, Copy, Debug)]
pub struct ModelConfig {
    pub mac: [u8; 6],
    pub max_mtu: u32,
    pub dma_width: u8,
    /// CAPS reset timeout and admin timeout, in 100 ms units.
    pub reset_timeout: u8,
    pub admin_timeout: u8,
    /// MAX_QUEUES_NUM: SQ/CQ depth limit the device reports.
    pub max_queue_depth: u32,
    /// LINK_CONFIG: what `ethtool` shows as the speed.
    pub link_speed_mbps: u32,
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
            admin_timeout: 2,
            max_queue_depth: 1024,
            link_speed_mbps: 25_000,
            trace_admin: true,
        }
    }
}

/// Faults a test switches on; each stays until switched off (or, for the
/// one-shot admin faults, until used once).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// The next admin completion carries another command id
    /// (what `ena_com_handle_single_admin_completion` rejects).
    pub wrong_completion_id: bool,
    /// The next admin command never completes (`ena_com_wait_and_process_admin_cq_polling` times out).
    pub withhold_completion: bool,
    /// The device never leaves reset (`ena_com_dev_reset` waits in vain).
    pub reset_stuck: bool,
    /// Tx completions name a request id past the queue (`validate_tx_req_id` in the driver).
    pub bad_tx_req_id: bool,
    /// The next Rx completion lacks its LAST bit, so the packet after it
    /// starts mid-packet: what `ena_com_cdesc_rx_pkt_get` rejects (-EFAULT).
    /// One-shot.
    pub rx_cdesc_without_last: bool,
    /// No keep-alive events (the driver's `check_for_missing_keep_alive` fires).
    pub no_keep_alive: bool,
    /// Read-less register reads are never answered (`ena_com_reg_bar_read32` times out).
    pub no_readless_answer: bool,
    /// No keep-alive events until the next device reset: the real driver's
    /// watchdog (`check_for_missing_keep_alive`) resets the device, which
    /// then recovers.
    pub withhold_keep_alive: bool,
    /// No Tx completions until the next device reset
    /// (`check_missing_comp_in_tx_queue` in the driver).
    pub withhold_tx_completions: bool,
}

/// Counters, as `ena_com_get_dev_basic_stats` would report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub rx_drops: u64,
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
}

#[derive(Clone, Copy, Default)]
struct Ring {
    base: u64,
    depth: u16,
    index: u16,
    phase: u8,
}

impl Ring {
    /// A depth that is not a power of two leaves the ring unusable (depth
    /// 0): the driver wrote something no ENA accepts.
    fn new(base: u64, depth: u16) -> Self {
        let depth = if depth.is_power_of_two() { depth } else { 0 };
        Self {
            base,
            depth,
            index: 0,
            phase: 1,
        }
    }
    fn usable(&self) -> bool {
        self.depth != 0
    }
    fn slot(&self) -> u64 {
        (self.index & (self.depth.max(1) - 1)) as u64
    }
    fn advance(&mut self) {
        self.index = self.index.wrapping_add(1);
        if self.index & (self.depth.max(1) - 1) == 0 {
            self.phase ^= 1;
        }
    }
}

/// What the model accepts per packet: `max_packet_tx_descs` and
/// `max_packet_rx_descs` as MAX_QUEUES_NUM reports them, and the drivers'
/// own Rx limit (ENA_PKT_MAX_BUFS, 19).
const MAX_TX_DESCS: usize = 32;
const MAX_RX_BUFS: usize = 19;
/// Queues per direction (`max_sq_num`, `max_cq_num`): a Tx and an Rx of
/// each kind per queue pair.
const MAX_QUEUE_PAIRS: usize = 8;
/// Ethernet header and a VLAN tag on top of the MTU: the longest frame.
const FRAME_OVERHEAD: usize = 18;

struct Cq {
    ring: Ring,
    entry_size: u64,
    /// MSI-X vector, when the driver asked for interrupts.
    vector: Option<u16>,
}

/// An IO vector fires once and stays masked until the driver writes the
/// unmask register (after NAPI); what arrives meanwhile waits as pending.
#[derive(Clone, Copy, Default)]
struct Vector {
    masked: bool,
    pending: bool,
}

struct Sq {
    ring: Ring,
    tx: bool,
    cq: usize,
    /// Last tail the driver rang the doorbell with.
    tail: u16,
}

/// Whether a frame fits the Rx buffers posted now.
enum Room {
    /// Rx queue and the buffers it takes.
    Fits(usize, Vec<RxDesc>),
    /// Not yet: more buffers may come.
    Wait,
    /// Never with buffers like these (more than MAX_RX_BUFS, or a buffer of
    /// length 0): dropped.
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
    cqs: Vec<Option<Cq>>,
    sqs: Vec<Option<Sq>>,
    link_up: bool,
    rss: Indirection,
    vectors: Vec<Vector>,
    /// Where read-less answers go (MMIO_RESP_LO/HI).
    readless_resp: u64,
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
            cqs: Vec::new(),
            sqs: Vec::new(),
            link_up: true,
            rss: Indirection::default(),
            vectors: Vec::new(),
            readless_resp: 0,
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

    /// `ena_com_dev_reset` as the device sees it: everything the driver set
    /// up is forgotten.
    fn reset(&mut self) {
        self.aq = Ring::default();
        self.acq = Ring::default();
        self.aenq = Ring::default();
        self.enabled_groups = 0;
        self.cqs.clear();
        self.sqs.clear();
        self.vectors.clear();
        self.rss = Indirection::default();
        self.faults.withhold_keep_alive = false;
        self.faults.withhold_tx_completions = false;
    }

    /// A PCI reset (QEMU's system reset or FLR): as after power-on. Not
    /// counted in `stats.resets`, which counts the driver's resets.
    pub fn hw_reset(&mut self) {
        self.reset();
        self.resetting = false;
        self.readless_resp = 0;
        self.faults = Faults::default();
        self.last_reset_reason = 0;
        self.host_os_type = None;
        self.admin_log.clear();
        self.admin_trace.clear();
    }

    // ---- interrupts (the driver's ena_intr_msix_mgmnt and ena_intr_msix_io) ----

    /// Vector 0 carries admin completions and AENQ events; the driver never
    /// masks it.
    fn management_interrupt(&mut self) {
        self.stats.interrupts += 1;
        self.bus.interrupt(0);
    }

    fn io_interrupt(&mut self, cqi: usize) {
        let Some(Some(Cq {
            vector: Some(v), ..
        })) = self.cqs.get(cqi)
        else {
            return;
        };
        let v = *v;
        let slot = self.vector(v);
        if slot.masked {
            slot.pending = true;
        } else {
            slot.masked = true;
            self.stats.interrupts += 1;
            self.bus.interrupt(v);
        }
    }

    /// `ena_com_unmask_intr`: the driver is done polling this CQ's vector.
    fn unmask(&mut self, cqi: usize, value: u32) {
        if value & INTR_UNMASK == 0 {
            return;
        }
        let Some(Some(Cq {
            vector: Some(v), ..
        })) = self.cqs.get(cqi)
        else {
            return;
        };
        let v = *v;
        let slot = self.vector(v);
        slot.masked = false;
        if std::mem::take(&mut slot.pending) {
            slot.masked = true;
            self.stats.interrupts += 1;
            self.bus.interrupt(v);
        }
    }

    fn vector(&mut self, v: u16) -> &mut Vector {
        let i = v as usize;
        if self.vectors.len() <= i {
            self.vectors.resize(i + 1, Vector::default());
        }
        &mut self.vectors[i]
    }

    // ---- admin queue (ena_com_execute_admin_command) ----

    fn process_admin(&mut self, tail: u16) {
        while self.aq.index != tail && self.aq.usable() && self.acq.usable() {
            let mut e = [0u8; ENTRY_SIZE];
            self.bus
                .dma_read(self.aq.base + self.aq.slot() * ENTRY_SIZE as u64, &mut e);
            if e[3] & 1 != self.aq.phase {
                break;
            }
            self.aq.advance();
            self.stats.admin_commands += 1;
            let id = u16::from_le_bytes([e[0], e[1]]) & 0xfff;
            let (status, mut resp) = self.execute(&e);
            if matches!(e[2], opcode::GET_FEATURE | opcode::SET_FEATURE) && e[17] < 32 {
                self.stats.features_asked |= 1 << e[17];
                if status == 3 {
                    self.stats.features_refused |= 1 << e[17];
                }
            }
            if self.config.trace_admin {
                self.admin_log.push((
                    e[2],
                    if matches!(e[2], opcode::GET_FEATURE | opcode::SET_FEATURE) {
                        e[17]
                    } else {
                        0
                    },
                    status,
                ));
            }
            let withhold = std::mem::take(&mut self.faults.withhold_completion);
            let id = if !withhold && std::mem::take(&mut self.faults.wrong_completion_id) {
                (id + 1) & 0xfff
            } else {
                id
            };
            resp[0..2].copy_from_slice(&id.to_le_bytes());
            resp[2] = status;
            resp[3] = self.acq.phase;
            if self.config.trace_admin {
                self.admin_trace.push((e, (!withhold).then_some(resp)));
            }
            if withhold {
                continue;
            }
            self.bus
                .dma_write(self.acq.base + self.acq.slot() * ENTRY_SIZE as u64, &resp);
            self.acq.advance();
            self.management_interrupt();
        }
    }

    /// Features answered by GET_FEATURE, as `supported_features` bits:
    /// what `ena_com_check_supported_feature_id` checks before sending.
    fn supported_features() -> u32 {
        [
            feature::DEVICE_ATTRIBUTES,
            feature::MAX_QUEUES_NUM,
            feat::STATELESS_OFFLOAD_CONFIG,
            feat::RSS_INDIRECTION_TABLE_CONFIG,
            feat::MTU,
            feature::AENQ_CONFIG,
            feat::LINK_CONFIG,
            feature::HOST_ATTR_CONFIG,
        ]
        .iter()
        .fold(0, |bits, f| bits | 1 << f)
    }

    fn execute(&mut self, e: &[u8; ENTRY_SIZE]) -> (u8, [u8; ENTRY_SIZE]) {
        const OK: u8 = 0;
        const RESOURCE_ALLOCATION_FAILURE: u8 = 1;
        const BAD_OPCODE: u8 = 2;
        const UNSUPPORTED: u8 = 3;
        const MALFORMED: u8 = 4;
        const ILLEGAL_PARAMETER: u8 = 5;
        let mut r = [0u8; ENTRY_SIZE];
        let status = match e[2] {
            opcode::GET_FEATURE => match FeatCmd::decode(e).feature_id {
                feature::DEVICE_ATTRIBUTES => {
                    let d = DeviceAttrFeatureDesc {
                        phys_addr_width: self.config.dma_width as u32,
                        virt_addr_width: 48,
                        mac_addr: self.config.mac,
                        max_mtu: self.config.max_mtu,
                        supported_features: Self::supported_features(),
                        capabilities: stats_type::CAP_ENI_STATS,
                        ..Default::default()
                    };
                    d.encode(&mut r[8..8 + DeviceAttrFeatureDesc::SIZE]);
                    OK
                }
                // ena_com_get_dev_attr_feat reads this for queue counts and depths.
                feature::MAX_QUEUES_NUM => {
                    let d = QueueFeatureDesc {
                        max_sq_num: MAX_QUEUE_PAIRS as u32,
                        max_sq_depth: self.config.max_queue_depth,
                        max_cq_num: MAX_QUEUE_PAIRS as u32,
                        max_cq_depth: self.config.max_queue_depth,
                        // The drivers keep it in a u8 (ena_ring.tx_max_header_size):
                        // 256 would read as 0 and fail every Tx ring allocation.
                        max_header_size: 128,
                        max_packet_tx_descs: MAX_TX_DESCS as u16,
                        max_packet_rx_descs: MAX_RX_BUFS as u16,
                        ..Default::default()
                    };
                    d.encode(&mut r[8..8 + QueueFeatureDesc::SIZE]);
                    OK
                }
                feature::AENQ_CONFIG => {
                    let supported =
                        aenq_group::LINK_CHANGE | aenq_group::NOTIFICATION | aenq_group::KEEP_ALIVE;
                    FeatureAenqDesc {
                        supported_groups: supported,
                        enabled_groups: self.enabled_groups,
                    }
                    .encode(&mut r[8..16]);
                    OK
                }
                // ena_com_get_dev_attr_feat requires it: no offloads here.
                feat::STATELESS_OFFLOAD_CONFIG => OK,
                // ena_com_indirect_table_allocate reads the sizes;
                // ena_com_indirect_table_get (ethtool -x) the table itself.
                feat::RSS_INDIRECTION_TABLE_CONFIG => {
                    let cmd = FeatCmd::decode(e);
                    r[8..10].copy_from_slice(&rss::TABLE_LOG_SIZE.to_le_bytes());
                    r[10..12].copy_from_slice(&rss::TABLE_LOG_SIZE.to_le_bytes());
                    r[12..14].copy_from_slice(&rss::TABLE_LOG_SIZE.to_le_bytes());
                    r[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
                    let table: Vec<u8> = self
                        .rss
                        .entries
                        .iter()
                        .flat_map(|q| [q.to_le_bytes(), [0, 0]].concat())
                        .collect();
                    let len = (cmd.control_buffer_length as usize).min(table.len());
                    if len > 0 {
                        self.bus.dma_write(
                            join_addr(cmd.control_buffer_lo, cmd.control_buffer_hi),
                            &table[..len],
                        );
                    }
                    OK
                }
                // ena_com_get_link_params (ethtool's link settings): speed,
                // then flags autoneg 0 and full duplex 1.
                feat::LINK_CONFIG => {
                    r[8..12].copy_from_slice(&self.config.link_speed_mbps.to_le_bytes());
                    r[16..20].copy_from_slice(&2u32.to_le_bytes());
                    OK
                }
                // LLQ and the rest: answered honestly as unsupported, so the
                // driver takes host placement.
                _ => UNSUPPORTED,
            },
            opcode::SET_FEATURE => {
                let cmd = FeatCmd::decode(e);
                let mut raw = [0u8; 44];
                cmd.raw
                    .iter()
                    .enumerate()
                    .for_each(|(i, w)| raw[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes()));
                match cmd.feature_id {
                    feature::HOST_ATTR_CONFIG => {
                        let d = SetFeatureHostAttrDesc::decode(&raw);
                        let mut page = [0u8; HostInfo::SIZE];
                        self.bus
                            .dma_read(join_addr(d.os_info_ba_lo, d.os_info_ba_hi), &mut page);
                        self.host_os_type = Some(HostInfo::decode(&page).os_type);
                        OK
                    }
                    feature::AENQ_CONFIG => {
                        self.enabled_groups = FeatureAenqDesc::decode(&raw).enabled_groups;
                        // A device reports its link once the driver listens:
                        // the driver's carrier starts off and waits for it.
                        if self.link_up {
                            self.post_event(aenq_group::LINK_CHANGE, 0, 0, &1u32.to_le_bytes());
                        }
                        OK
                    }
                    // ena_com_indirect_table_set: the whole table through
                    // the control buffer, or one inline entry.
                    feat::RSS_INDIRECTION_TABLE_CONFIG => {
                        let size = u16::from_le_bytes([raw[4], raw[5]]);
                        let inline_index = u32::from_le_bytes(raw[8..12].try_into().unwrap());
                        if inline_index != u32::MAX {
                            match self.rss.entries.get_mut(inline_index as usize) {
                                Some(entry) => {
                                    *entry = u16::from_le_bytes([raw[12], raw[13]]);
                                    OK
                                }
                                None => ILLEGAL_PARAMETER,
                            }
                        } else if size != rss::TABLE_LOG_SIZE
                            || (cmd.control_buffer_length as usize) < 4 << size
                        {
                            ILLEGAL_PARAMETER
                        } else {
                            let mut table = vec![0u8; 4 << size];
                            self.bus.dma_read(
                                join_addr(cmd.control_buffer_lo, cmd.control_buffer_hi),
                                &mut table,
                            );
                            self.rss.entries = table
                                .chunks(4)
                                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                                .collect();
                            OK
                        }
                    }
                    // ena_com_set_dev_mtu (ndo_change_mtu).
                    feat::MTU
                        if raw[0..4].try_into().map(u32::from_le_bytes).unwrap_or(0)
                            <= self.config.max_mtu =>
                    {
                        OK
                    }
                    feat::MTU => ILLEGAL_PARAMETER,
                    _ => UNSUPPORTED,
                }
            }
            opcode::CREATE_CQ => {
                let c = CreateCqCmd::decode(e);
                let words = c.cq_caps_2 & create_cq::CQ_ENTRY_SIZE_WORDS_MASK;
                let free = Self::free_slot(&mut self.cqs);
                if !c.cq_depth.is_power_of_two()
                    || !matches!(words, 2 | 4)
                    || c.cq_depth as u32 > self.config.max_queue_depth
                {
                    MALFORMED
                } else if let Some(idx) = free {
                    let ring = Ring::new(join_addr(c.cq_ba_lo, c.cq_ba_hi), c.cq_depth);
                    let vector = (c.cq_caps_1 & create_cq::INTERRUPT_MODE_ENABLED_MASK != 0)
                        .then_some(c.msix_vector as u16);
                    self.cqs[idx] = Some(Cq {
                        ring,
                        entry_size: words as u64 * 4,
                        vector,
                    });
                    let resp = CreateCqResp {
                        cq_idx: idx as u16,
                        cq_actual_depth: c.cq_depth,
                        cq_interrupt_unmask_register_offset: CQ_UNMASK_BASE + 4 * idx as u32,
                        ..Default::default()
                    };
                    resp.encode(&mut r[..CreateCqResp::SIZE]);
                    OK
                } else {
                    RESOURCE_ALLOCATION_FAILURE
                }
            }
            opcode::CREATE_SQ => {
                let c = CreateSqCmd::decode(e);
                let direction =
                    (c.sq_identity & create_sq::SQ_DIRECTION_MASK) >> create_sq::SQ_DIRECTION_SHIFT;
                let placement = c.sq_caps_2 & create_sq::PLACEMENT_POLICY_MASK;
                let cq = c.cq_idx as usize;
                if placement != create_sq::PLACEMENT_HOST {
                    UNSUPPORTED // only host placement: no LLQ here
                } else if !c.sq_depth.is_power_of_two()
                    || c.sq_depth as u32 > self.config.max_queue_depth
                    || !matches!(direction, create_sq::DIRECTION_TX | create_sq::DIRECTION_RX)
                    || self.cqs.get(cq).is_none_or(|c| c.is_none())
                {
                    MALFORMED
                } else if let Some(idx) = Self::free_slot(&mut self.sqs) {
                    let ring = Ring::new(join_addr(c.sq_ba_lo, c.sq_ba_hi), c.sq_depth);
                    self.sqs[idx] = Some(Sq {
                        ring,
                        tx: direction == create_sq::DIRECTION_TX,
                        cq,
                        tail: 0,
                    });
                    let resp = CreateSqResp {
                        sq_idx: idx as u16,
                        sq_doorbell_offset: SQ_DOORBELL_BASE + 4 * idx as u32,
                        ..Default::default()
                    };
                    resp.encode(&mut r[..CreateSqResp::SIZE]);
                    OK
                } else {
                    RESOURCE_ALLOCATION_FAILURE
                }
            }
            opcode::DESTROY_SQ => match self.sqs.get_mut(DestroySqCmd::decode(e).sq_idx as usize) {
                Some(s @ Some(_)) => {
                    *s = None;
                    OK
                }
                _ => MALFORMED,
            },
            opcode::DESTROY_CQ => match self.cqs.get_mut(DestroyCqCmd::decode(e).cq_idx as usize) {
                Some(c @ Some(_)) => {
                    *c = None;
                    OK
                }
                _ => MALFORMED,
            },
            // ena_com_get_dev_basic_stats and ena_com_get_eni_stats: the
            // counters follow the common descriptor, low dword first.
            opcode::GET_STATS => match e[16] {
                stats_type::BASIC => {
                    let s = &self.stats;
                    for (i, v) in [
                        s.tx_bytes, s.tx_pkts, s.rx_bytes, s.rx_pkts, s.rx_drops, s.tx_drops,
                    ]
                    .iter()
                    .enumerate()
                    {
                        r[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
                    }
                    OK
                }
                // The allowance-exceeded counters: never exceeded here.
                stats_type::ENI => OK,
                _ => UNSUPPORTED,
            },
            _ => BAD_OPCODE,
        };
        if status == UNSUPPORTED {
            self.stats.unsupported += 1;
        }
        (status, r)
    }

    /// The lowest free queue slot (a destroyed queue's index is reused, as
    /// `ip link set down/up` destroys and recreates every queue), or None
    /// past a Tx and an Rx queue for each of the MAX_QUEUE_PAIRS.
    fn free_slot<T>(slots: &mut Vec<Option<T>>) -> Option<usize> {
        let idx = slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(slots.len());
        if idx >= 2 * MAX_QUEUE_PAIRS {
            return None;
        }
        if idx == slots.len() {
            slots.push(None);
        }
        Some(idx)
    }

    // ---- AENQ (ena_com_aenq_intr_handler reads these) ----

    fn post_event(&mut self, group_bit: u32, group: u16, syndrome: u16, data: &[u8]) {
        if !self.aenq.usable() || self.enabled_groups & group_bit == 0 {
            return;
        }
        let mut ev = AenqEntry {
            group,
            syndrome,
            flags: self.aenq.phase,
            ..Default::default()
        };
        for (i, w) in data.chunks(4).enumerate() {
            let mut d = [0u8; 4];
            d[..w.len()].copy_from_slice(w);
            ev.inline_data_w4[i] = u32::from_le_bytes(d);
        }
        let e = to_entry(&ev);
        self.bus
            .dma_write(self.aenq.base + self.aenq.slot() * ENTRY_SIZE as u64, &e);
        self.aenq.advance();
        self.management_interrupt();
    }

    /// One keep-alive event (`ena_keep_alive_wd` in the driver), unless the
    /// fault withholds it.
    pub fn keep_alive(&mut self) {
        if !self.faults.no_keep_alive && !self.faults.withhold_keep_alive {
            self.post_event(aenq_group::KEEP_ALIVE, 4, 0, &[]);
        }
    }

    /// Link up or down (`ena_update_on_link_change`).
    pub fn set_link(&mut self, up: bool) {
        self.link_up = up;
        self.post_event(aenq_group::LINK_CHANGE, 0, 0, &(up as u32).to_le_bytes());
    }

    // ---- IO queues ----

    /// A Tx doorbell: send every whole packet the driver posted up to `tail`.
    fn process_tx(&mut self, sqi: usize, tail: u16) {
        let Some(Some(sq)) = self.sqs.get_mut(sqi) else {
            return;
        };
        sq.tail = tail;
        loop {
            let Some(Some(sq)) = self.sqs.get(sqi) else {
                return;
            };
            let mut ring = sq.ring;
            if ring.index == sq.tail {
                return;
            }
            let (cqi, depth, tail) = (sq.cq, ring.depth, sq.tail);
            let max_frame = self.config.max_mtu as usize + FRAME_OVERHEAD;
            let mut frame = Vec::new();
            let mut req_id = 0u16;
            let mut first = true;
            let mut descs = 0;
            let mut oversize = false;
            loop {
                if ring.index == tail || !ring.usable() {
                    return; // the packet's last descriptor is not posted yet
                }
                let mut b = [0u8; 16];
                self.bus.dma_read(ring.base + ring.slot() * 16, &mut b);
                let d = TxDesc::decode(&b);
                if (d.len_ctrl & tx_desc::PHASE_MASK) >> tx_desc::PHASE_SHIFT != ring.phase as u32 {
                    return; // not written yet
                }
                ring.advance();
                if d.len_ctrl & tx_desc::META_DESC_MASK != 0 {
                    continue; // offload metadata: nothing to send
                }
                if first {
                    req_id = (((d.len_ctrl & tx_desc::REQ_ID_HI_MASK) >> tx_desc::REQ_ID_HI_SHIFT)
                        << 10
                        | (d.meta_ctrl & tx_desc::REQ_ID_LO_MASK) >> tx_desc::REQ_ID_LO_SHIFT)
                        as u16;
                    first = false;
                }
                let len = (d.len_ctrl & tx_desc::LENGTH_MASK) as usize;
                let addr = d.buff_addr_lo as u64
                    | ((d.buff_addr_hi_hdr_sz & tx_desc::ADDR_HI_MASK) as u64) << 32;
                descs += 1;
                // Too many buffers or too long: consumed and completed, not sent.
                oversize |= descs > MAX_TX_DESCS || frame.len() + len > max_frame;
                if !oversize {
                    let start = frame.len();
                    frame.resize(start + len, 0);
                    self.bus.dma_read(addr, &mut frame[start..]);
                }
                if d.len_ctrl & tx_desc::LAST_MASK != 0 {
                    break;
                }
            }
            if let Some(Some(sq)) = self.sqs.get_mut(sqi) {
                sq.ring = ring;
            }
            let req_id = if self.faults.bad_tx_req_id {
                depth + 1
            } else {
                req_id
            };
            let complete = !self.faults.withhold_tx_completions;
            if let Some(Some(cq)) = self.cqs.get_mut(cqi).filter(|_| complete) {
                let c = TxCdesc {
                    req_id,
                    flags: cq.ring.phase,
                    ..Default::default()
                };
                let mut b = [0u8; 8];
                c.encode(&mut b);
                self.bus
                    .dma_write(cq.ring.base + cq.ring.slot() * cq.entry_size, &b);
                cq.ring.advance();
            }
            if complete {
                self.io_interrupt(cqi);
            }
            if oversize {
                self.stats.tx_drops += 1;
                continue;
            }
            self.stats.tx_pkts += 1;
            self.stats.tx_bytes += frame.len() as u64;
            if !self.link_up || self.bus.transmit(&frame) {
                continue;
            }
            match &self.peer {
                Some(p) => p.borrow_mut().push_back(frame),
                None => self.inbox.borrow_mut().push_back(frame),
            }
            self.deliver();
        }
    }

    /// Puts waiting frames (loopback or wire) into the Rx buffers the driver
    /// offered; a frame with no room is dropped, as a device does.
    pub fn deliver(&mut self) {
        loop {
            let Some(frame) = self.inbox.borrow_mut().pop_front() else {
                return;
            };
            if !self.receive(&frame) {
                self.stats.rx_drops += 1;
            }
        }
    }

    /// Whether a frame of `len` bytes fits the Rx buffers posted now.
    /// With an indirection table set, the queue a frame needs is known only
    /// from the frame: then a frame waits in `receive` if its queue is full.
    pub fn can_receive(&self, len: usize) -> bool {
        !matches!(self.rx_target(len), Room::Wait)
    }

    /// A frame from the network into the first Rx queue with room (no RSS
    /// here: the drivers are told it is unsupported), across as many
    /// buffers as it needs (FIRST on the first completion, LAST on the last).
    /// False, and nothing consumed, when the posted buffers cannot hold it:
    /// the caller may keep it and offer it again after `rx_space`.
    pub fn receive(&mut self, frame: &[u8]) -> bool {
        if !self.link_up {
            return true; // the wire is cut: gone
        }
        if frame.len() > self.config.max_mtu as usize + FRAME_OVERHEAD {
            self.stats.rx_drops += 1;
            return true; // longer than any MTU the device allows: dropped
        }
        let steered = self
            .rss
            .steer(frame)
            .filter(|(q, _)| matches!(self.sqs.get(*q as usize), Some(Some(s)) if !s.tx));
        let hash = steered.map_or(0, |(_, h)| h);
        let room = match steered {
            Some((q, _)) => self.rx_room(q as usize, frame.len()),
            None => self.rx_target(frame.len()),
        };
        let (q, descs) = match room {
            Room::Fits(q, descs) => (q, descs),
            Room::Wait => return false,
            Room::Never => {
                self.stats.rx_drops += 1;
                return true; // more buffers than the driver takes per packet
            }
        };
        let sq = self.sqs[q].as_mut().unwrap();
        let cqi = sq.cq;
        let mut ring = sq.ring;
        let mut done = 0;
        for (i, d) in descs.iter().enumerate() {
            ring.advance();
            let part = &frame[done..(done + d.length as usize).min(frame.len())];
            self.bus
                .dma_write(d.buff_addr_lo as u64 | (d.buff_addr_hi as u64) << 32, part);
            done += part.len();
            let last = i + 1 == descs.len();
            let Some(Some(cq)) = self.cqs.get_mut(cqi) else {
                continue;
            };
            let mut status = (cq.ring.phase as u32) << rx_cdesc::PHASE_SHIFT;
            if i == 0 {
                status |= rx_cdesc::FIRST_MASK;
            }
            if last && !std::mem::take(&mut self.faults.rx_cdesc_without_last) {
                status |= rx_cdesc::LAST_MASK;
            }
            let c = RxCdesc {
                status,
                length: part.len() as u16,
                req_id: d.req_id,
                hash,
                ..Default::default()
            };
            let mut b = [0u8; 16];
            c.encode(&mut b);
            self.bus.dma_write(
                cq.ring.base + cq.ring.slot() * cq.entry_size,
                &b[..cq.entry_size.min(16) as usize],
            );
            cq.ring.advance();
        }
        self.sqs[q].as_mut().unwrap().ring = ring;
        self.stats.rx_pkts += 1;
        self.stats.rx_bytes += frame.len() as u64;
        self.io_interrupt(cqi);
        true
    }

    fn rx_target(&self, len: usize) -> Room {
        let mut best = Room::Wait;
        for q in (0..self.sqs.len()).filter(|&q| matches!(&self.sqs[q], Some(s) if !s.tx)) {
            match self.rx_room(q, len) {
                Room::Wait => {}
                Room::Never => best = Room::Never,
                fits => return fits,
            }
        }
        best
    }

    /// Where a frame of `len` bytes would go in Rx queue `q`.
    fn rx_room(&self, q: usize, len: usize) -> Room {
        let Some(sq) = self.sqs[q].as_ref() else {
            return Room::Wait;
        };
        let mut ring = sq.ring;
        let mut descs = Vec::new();
        let mut room = 0usize;
        while room < len.max(1) {
            if descs.len() == MAX_RX_BUFS {
                return Room::Never;
            }
            if ring.index == sq.tail || descs.len() >= ring.depth as usize || !ring.usable() {
                return Room::Wait;
            }
            let mut b = [0u8; 16];
            self.bus.dma_read(ring.base + ring.slot() * 16, &mut b);
            let d = RxDesc::decode(&b);
            if d.length == 0 {
                return Room::Never; // malformed: a buffer that holds nothing
            }
            room += d.length as usize;
            descs.push(d);
            ring.advance();
        }
        Room::Fits(q, descs)
    }

    /// The interface the host sees: link state (`ena_update_on_link_change`).
    pub fn link_up(&self) -> bool {
        self.link_up
    }
}

impl Registers for Model {
    fn read32(&mut self, off: u32) -> u32 {
        let c = &self.config;
        match off {
            regs::VERSION => 0x0000_0201,
            regs::CONTROLLER_VERSION => 0x0001_0001,
            regs::CAPS => {
                (c.reset_timeout as u32 & 0x1f) << 1
                    | (c.dma_width as u32) << 8
                    | (c.admin_timeout as u32 & 0xf) << 16
            }
            regs::DEV_STS => {
                dev_sts::READY_MASK
                    | if self.resetting {
                        dev_sts::RESET_IN_PROGRESS_MASK
                    } else {
                        0
                    }
            }
            regs::AQ_CAPS => self.aq.depth as u32,
            test_port::FAULTS => {
                let f = &self.faults;
                [
                    (f.withhold_keep_alive, test_port::WITHHOLD_KEEP_ALIVE),
                    (f.withhold_completion, test_port::WITHHOLD_COMPLETION),
                    (f.wrong_completion_id, test_port::WRONG_COMPLETION_ID),
                    (
                        f.withhold_tx_completions,
                        test_port::WITHHOLD_TX_COMPLETIONS,
                    ),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |bits, (_, bit)| bits | bit)
            }
            test_port::RESETS => self.stats.resets as u32,
            test_port::LAST_RESET_REASON => self.last_reset_reason,
            test_port::UNSUPPORTED => self.stats.unsupported as u32,
            test_port::ADMIN_COMMANDS => self.stats.admin_commands as u32,
            test_port::FEATURES_ASKED => self.stats.features_asked,
            test_port::FEATURES_REFUSED => self.stats.features_refused,
            test_port::LINK => self.link_up as u32,
            _ => 0,
        }
    }

    fn write32(&mut self, off: u32, v: u32) {
        match off {
            regs::DEV_CTL => {
                if v & dev_ctl::DEV_RESET_MASK != 0 {
                    self.resetting = true;
                    self.last_reset_reason =
                        (v & dev_ctl::RESET_REASON_MASK) >> dev_ctl::RESET_REASON_SHIFT;
                    self.stats.resets += 1;
                    self.reset();
                } else if !self.faults.reset_stuck {
                    self.resetting = false;
                }
            }
            regs::AQ_BASE_LO => self.aq.base = (self.aq.base & !0xffff_ffff) | v as u64,
            regs::AQ_BASE_HI => self.aq.base = (self.aq.base & 0xffff_ffff) | (v as u64) << 32,
            regs::AQ_CAPS => self.aq = Ring::new(self.aq.base, v as u16),
            regs::ACQ_BASE_LO => self.acq.base = (self.acq.base & !0xffff_ffff) | v as u64,
            regs::ACQ_BASE_HI => self.acq.base = (self.acq.base & 0xffff_ffff) | (v as u64) << 32,
            regs::ACQ_CAPS => self.acq = Ring::new(self.acq.base, v as u16),
            regs::AENQ_BASE_LO => self.aenq.base = (self.aenq.base & !0xffff_ffff) | v as u64,
            regs::AENQ_BASE_HI => {
                self.aenq.base = (self.aenq.base & 0xffff_ffff) | (v as u64) << 32
            }
            regs::AENQ_CAPS => self.aenq = Ring::new(self.aenq.base, v as u16),
            regs::AQ_DB => self.process_admin(v as u16),
            regs::MMIO_RESP_LO => {
                self.readless_resp = (self.readless_resp & !0xffff_ffff) | v as u64
            }
            regs::MMIO_RESP_HI => {
                self.readless_resp = (self.readless_resp & 0xffff_ffff) | (v as u64) << 32
            }
            regs::MMIO_REG_READ if !self.faults.no_readless_answer => {
                // ena_com_reg_bar_read32: answer by DMA with the register's value.
                let (req_id, reg) = (v as u16, v >> 16);
                let value = self.read32(reg);
                let mut b = [0u8; 8];
                b[0..2].copy_from_slice(&req_id.to_le_bytes());
                b[2..4].copy_from_slice(&(reg as u16).to_le_bytes());
                b[4..8].copy_from_slice(&value.to_le_bytes());
                self.bus.dma_write(self.readless_resp, &b);
            }
            o if (SQ_DOORBELL_BASE..CQ_UNMASK_BASE).contains(&o) => {
                let i = ((o - SQ_DOORBELL_BASE) / 4) as usize;
                match self.sqs.get_mut(i) {
                    Some(Some(sq)) if sq.tx => {
                        self.stats.tx_doorbells += 1;
                        self.process_tx(i, v as u16)
                    }
                    Some(Some(sq)) => {
                        self.stats.rx_doorbells += 1;
                        sq.tail = v as u16;
                        self.deliver();
                        self.bus.rx_space();
                    }
                    _ => {}
                }
            }
            o if (CQ_UNMASK_BASE..CQ_UNMASK_BASE + 0x1000).contains(&o) => {
                self.unmask(((o - CQ_UNMASK_BASE) / 4) as usize, v)
            }
            test_port::LINK if v <= 1 && self.link_up != (v == 1) => self.set_link(v == 1),
            test_port::FAULTS => {
                self.faults.withhold_keep_alive |= v & test_port::WITHHOLD_KEEP_ALIVE != 0;
                self.faults.withhold_completion |= v & test_port::WITHHOLD_COMPLETION != 0;
                self.faults.wrong_completion_id |= v & test_port::WRONG_COMPLETION_ID != 0;
                self.faults.withhold_tx_completions |= v & test_port::WITHHOLD_TX_COMPLETIONS != 0;
            }
            _ => {}
        }
    }
}
