//! Bring-up, as `ena_device_init` and `ena_com_*` do it: reset handshake,
//! version and DMA width checks, admin and AENQ rings, device attributes,
//! host info, AENQ groups, the LLQ layout when the device offers LLQ and its
//! memory is mapped, then one IO queue pair (Tx and Rx, each a submission
//! and a completion queue; the Tx ring in the device's memory under LLQ,
//! all others in host memory). More pairs, the RSS indirection table that
//! spreads received flows over them, and the MTU come after, as
//! `ena_up` and `ena_change_mtu` set them.

use crate::admin::{feature, opcode, AdminError, AdminQueue, Command, Completion};
use crate::admin_defs::{
    create_cq, create_sq, split_addr, to_raw, CreateCqCmd, CreateCqResp, CreateSqCmd, CreateSqResp,
    DeviceAttrFeatureDesc, FeatCmd, FeatureAenqDesc, FeatureLlqDesc, HostInfo, MtuDesc,
    QueueFeatureDesc, RssIndTable, SetFeatureHostAttrDesc, OS_LINUX,
};
use crate::aenq::{Aenq, Event};
use crate::devmem::{DeviceMemory, NoDeviceMemory};
use crate::dma::DmaMemory;
use crate::llq::LlqInfo;
use crate::llq_config::{self, LlqPolicy, LlqWish};
use crate::regs::{self, caps, dev_ctl, dev_sts, Registers};
use crate::rx::{RxCompletions, RxQueue};
use crate::tx::{TxCompletions, TxQueue};
use crate::wire::Wire;
use crate::Clock;

/// Hands out DMA memory (hugepages on a real host, a shared bus in the model).
pub trait DmaAllocator {
    type Mem: DmaMemory;
    fn alloc(&mut self, len: usize) -> Self::Mem;
}

/// `enum ena_regs_reset_reason_types` (the ones we use).
pub mod reset_reason {
    pub const NORMAL: u8 = 0;
    pub const KEEP_ALIVE_TO: u8 = 1;
    pub const ADMIN_TO: u8 = 2;
}

/// `enum ena_admin_aenq_group`
pub mod aenq_group {
    pub const LINK_CHANGE: u32 = 1 << 0;
    pub const NOTIFICATION: u32 = 1 << 3;
    pub const KEEP_ALIVE: u32 = 1 << 4;
}

/// Why bring-up stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BringUpError {
    /// DEV_STS has no READY bit before the reset.
    DeviceNotReady,
    /// The device did not enter or leave reset within CAPS' reset timeout.
    ResetTimeout { entering: bool },
    /// The controller is older than the driver supports.
    UnsupportedVersion { major: u8, minor: u8, subminor: u8 },
    /// CAPS reports a DMA width the driver cannot use.
    BadDmaWidth(u8),
    /// An admin command failed, with the step it belonged to.
    Admin {
        step: &'static str,
        error: AdminError,
    },
    /// The asked queue depth exceeds MAX_QUEUES_NUM's limit, or LLQ's
    /// (`ena_calc_io_queue_size` clamps; this core refuses instead).
    QueueTooDeep { asked: u16, max: u32 },
}

/// What the device said about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo {
    pub mac: [u8; 6],
    pub max_mtu: u32,
    pub dma_width: u8,
    pub aenq_groups: u32,
    /// MAX_QUEUES_NUM: how many SQs, and how deep.
    pub max_sq_num: u32,
    pub max_queue_depth: u32,
}

/// One IO queue pair with the doorbell offsets the device gave.
pub struct IoPair<M, B = NoDeviceMemory> {
    pub tx: TxQueue<M, B>,
    pub tx_done: TxCompletions<M>,
    pub rx: RxQueue<M>,
    pub rx_done: RxCompletions<M>,
    pub tx_doorbell: u32,
    pub rx_doorbell: u32,
    pub tx_sq_idx: u16,
    pub rx_sq_idx: u16,
    pub tx_cq_idx: u16,
    pub rx_cq_idx: u16,
    /// The MSI-X vector both completion queues raise, when not polled.
    pub vector: Option<u16>,
    /// `cq_interrupt_unmask_register_offset` of the Rx CQ: where
    /// [`Ena::unmask`] writes once the pair has been serviced.
    pub unmask_reg: u32,
}

/// `ENA_ETH_IO_INTR_REG_INTR_UNMASK_MASK`.
pub const INTR_UNMASK: u32 = 1 << 30;

/// The driver side of one ENA device. `B` is its memory BAR (BAR2), where
/// LLQ rings live; without one ([`Ena::new`]) every queue is in host memory.
pub struct Ena<R, A: DmaAllocator, C, B = NoDeviceMemory> {
    pub regs: R,
    pub alloc: A,
    pub clock: C,
    admin: Option<AdminQueue<A::Mem>>,
    aenq: Option<Aenq<A::Mem>>,
    admin_timeout_us: u64,
    dma_width: u8,
    bar2: Option<B>,
    llq_policy: LlqPolicy,
    /// The layout set with the device; None: host placement.
    llq: Option<LlqInfo>,
}

/// `ENA_RX_RSS_TABLE_LOG_SIZE`: the indirection table Linux asks for.
pub const RSS_TABLE_LOG_SIZE: u16 = 7;
/// `struct ena_admin_rss_ind_table_entry`: a queue index and padding.
const RSS_ENTRY_SIZE: usize = 4;

const ADMIN_DEPTH: u16 = 32;
const AENQ_DEPTH: u16 = 32;
/// Headers a host-placement Tx queue takes.
const HOST_MAX_HEADER: u32 = 96;

impl<R: Registers, A: DmaAllocator, C: Clock> Ena<R, A, C> {
    /// A driver without the device's memory mapped: host placement only
    /// (`ena_set_queues_placement_policy` without a memory BAR).
    pub fn new(regs: R, alloc: A, clock: C) -> Self {
        Self::build(regs, alloc, clock, None)
    }
}

impl<R: Registers, A: DmaAllocator, C: Clock, B: DeviceMemory + Clone> Ena<R, A, C, B> {
    /// A driver with the device's memory BAR mapped: bring-up takes LLQ
    /// when the device offers it (see [`Ena::set_llq_policy`]).
    pub fn with_device_memory(regs: R, alloc: A, clock: C, bar2: B) -> Self {
        Self::build(regs, alloc, clock, Some(bar2))
    }

    fn build(regs: R, alloc: A, clock: C, bar2: Option<B>) -> Self {
        Self {
            regs,
            alloc,
            clock,
            admin: None,
            aenq: None,
            admin_timeout_us: 0,
            dma_width: 0,
            bar2,
            llq_policy: LlqPolicy::default(),
            llq: None,
        }
    }

    /// What the next bring-up asks for: [`LlqPolicy::Off`] keeps Tx in
    /// host placement even when LLQ is offered.
    pub fn set_llq_policy(&mut self, policy: LlqPolicy) {
        self.llq_policy = policy;
    }

    /// The LLQ layout in force, None in host placement.
    pub fn llq(&self) -> Option<&LlqInfo> {
        self.llq.as_ref()
    }

    fn wait_sts(&mut self, mask: u32, set: bool, timeout_us: u64) -> bool {
        let deadline = self.clock.now_us() + timeout_us;
        loop {
            if (self.regs.read32(regs::DEV_STS) & mask != 0) == set {
                return true;
            }
            if self.clock.now_us() >= deadline {
                return false;
            }
            self.clock.sleep_us(1_000);
        }
    }

    /// `ena_com_dev_reset`: DEV_CTL reset with a reason, wait for the device
    /// to enter and leave reset, each within CAPS' reset timeout (100 ms units).
    pub fn reset(&mut self, reason: u8) -> Result<(), BringUpError> {
        if self.regs.read32(regs::DEV_STS) & dev_sts::READY_MASK == 0 {
            return Err(BringUpError::DeviceNotReady);
        }
        let c = self.regs.read32(regs::CAPS);
        let timeout =
            ((c & caps::RESET_TIMEOUT_MASK) >> caps::RESET_TIMEOUT_SHIFT).max(1) as u64 * 100_000;
        self.regs.write32(
            regs::DEV_CTL,
            dev_ctl::DEV_RESET_MASK | (reason as u32) << dev_ctl::RESET_REASON_SHIFT,
        );
        if !self.wait_sts(dev_sts::RESET_IN_PROGRESS_MASK, true, timeout) {
            return Err(BringUpError::ResetTimeout { entering: true });
        }
        self.regs.write32(regs::DEV_CTL, 0);
        if !self.wait_sts(dev_sts::RESET_IN_PROGRESS_MASK, false, timeout) {
            return Err(BringUpError::ResetTimeout { entering: false });
        }
        self.admin_timeout_us =
            ((c & caps::ADMIN_CMD_TO_MASK) >> caps::ADMIN_CMD_TO_SHIFT).max(1) as u64 * 100_000;
        self.dma_width = ((c & caps::DMA_ADDR_WIDTH_MASK) >> caps::DMA_ADDR_WIDTH_SHIFT) as u8;
        self.admin = None;
        self.aenq = None;
        self.llq = None; // the device forgets the layout
        Ok(())
    }

    fn admin(&mut self, step: &'static str, cmd: &Command) -> Result<Completion, BringUpError> {
        let q = self
            .admin
            .as_mut()
            .expect("admin queue is set up before any command");
        q.execute(&mut self.regs, &mut self.clock, cmd)
            .map_err(|error| BringUpError::Admin { step, error })
    }

    fn get_feature(&mut self, step: &'static str, id: u8) -> Result<Completion, BringUpError> {
        let cmd = FeatCmd {
            feature_id: id,
            ..Default::default()
        };
        self.admin(step, &Command::from_wire(opcode::GET_FEATURE, &cmd))
    }

    /// The whole bring-up; returns what the device is and one queue pair of
    /// `depth` entries.
    pub fn bring_up(
        &mut self,
        depth: u16,
        wanted_groups: u32,
    ) -> Result<(DeviceInfo, IoPair<A::Mem, B>), BringUpError> {
        self.reset(reset_reason::NORMAL)?;
        let v = self.regs.read32(regs::CONTROLLER_VERSION);
        let (major, minor, subminor) = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
        if (major, minor, subminor) < (0, 0, 1) {
            return Err(BringUpError::UnsupportedVersion {
                major,
                minor,
                subminor,
            });
        }
        if !(32..=64).contains(&self.dma_width) {
            return Err(BringUpError::BadDmaWidth(self.dma_width));
        }

        let sq = self.alloc.alloc(ADMIN_DEPTH as usize * 64);
        let cq = self.alloc.alloc(ADMIN_DEPTH as usize * 64);
        let q = AdminQueue::new(sq, cq, ADMIN_DEPTH, self.admin_timeout_us);
        q.program(&mut self.regs);
        self.admin = Some(q);
        // ena_com_admin_init_aenq: the ring, then the head at its depth.
        let aenq = self.alloc.alloc(AENQ_DEPTH as usize * 64);
        self.regs.write32(regs::AENQ_BASE_LO, aenq.phys() as u32);
        self.regs
            .write32(regs::AENQ_BASE_HI, (aenq.phys() >> 32) as u32);
        self.regs
            .write32(regs::AENQ_CAPS, AENQ_DEPTH as u32 | 64 << 16);
        self.regs.write32(regs::AENQ_HEAD_DB, AENQ_DEPTH as u32);
        self.aenq = Some(Aenq::new(aenq, AENQ_DEPTH, self.clock.now_us()));

        let attrs: DeviceAttrFeatureDesc = self
            .get_feature("get device attributes", feature::DEVICE_ATTRIBUTES)?
            .feature();
        let (mac, max_mtu) = (attrs.mac_addr, attrs.max_mtu);

        let queues: QueueFeatureDesc = self
            .get_feature("get max queues", feature::MAX_QUEUES_NUM)?
            .feature();
        let max_queue_depth = queues.max_sq_depth.min(queues.max_cq_depth);
        if depth as u32 > max_queue_depth {
            return Err(BringUpError::QueueTooDeep {
                asked: depth,
                max: max_queue_depth,
            });
        }
        // ena_com_get_dev_attr_feat asks for LLQ with the other features;
        // only worth asking with somewhere to put the entries.
        let llq_offered = attrs.supported_features & 1 << feature::LLQ != 0;
        let offer: Option<FeatureLlqDesc> =
            if llq_offered && self.bar2.is_some() && self.llq_policy != LlqPolicy::Off {
                Some(self.get_feature("get LLQ", feature::LLQ)?.feature())
            } else {
                None
            };

        // Host info: a page the device reads (OS type, driver version).
        let mut host = self.alloc.alloc(4096);
        let mut info = HostInfo {
            os_type: OS_LINUX,
            ..Default::default()
        };
        info.os_dist_str[..8].copy_from_slice(b"ena-core");
        info.driver_version = 2 | 15 << 8; // 2.15.0, the C original's version
        let mut page = [0u8; HostInfo::SIZE];
        info.encode(&mut page);
        host.write(0, &page);
        let (lo, hi) = split_addr(host.phys());
        let mut cmd = FeatCmd {
            feature_id: feature::HOST_ATTR_CONFIG,
            ..Default::default()
        };
        cmd.raw = to_raw(&SetFeatureHostAttrDesc {
            os_info_ba_lo: lo,
            os_info_ba_hi: hi,
            ..Default::default()
        });
        self.admin(
            "set host info",
            &Command::from_wire(opcode::SET_FEATURE, &cmd),
        )?;

        let aenq_feat: FeatureAenqDesc = self
            .get_feature("get AENQ groups", feature::AENQ_CONFIG)?
            .feature();
        let groups = aenq_feat.supported_groups & wanted_groups;
        let mut cmd = FeatCmd {
            feature_id: feature::AENQ_CONFIG,
            ..Default::default()
        };
        cmd.raw = to_raw(&FeatureAenqDesc {
            supported_groups: 0,
            enabled_groups: groups,
        });
        self.admin(
            "set AENQ groups",
            &Command::from_wire(opcode::SET_FEATURE, &cmd),
        )?;

        if let Some(offer) = offer {
            self.set_llq(&offer, depth)?;
        }

        let pair = self.create_pair(depth)?;
        Ok((
            DeviceInfo {
                mac,
                max_mtu,
                dma_width: self.dma_width,
                aenq_groups: groups,
                max_sq_num: queues.max_sq_num,
                max_queue_depth,
            },
            pair,
        ))
    }

    /// `ena_set_llq_configurations` and `ena_com_config_dev_mode`: the
    /// layout chosen from the offer and set with the device. An offer the
    /// driver cannot use, or a choice the device refuses, leaves host
    /// placement, as `ena_set_queues_placement_policy` falls back; an admin
    /// queue that stops answering stops bring-up, and a ring deeper than LLQ
    /// allows is refused.
    fn set_llq(&mut self, offer: &FeatureLlqDesc, depth: u16) -> Result<(), BringUpError> {
        if offer.max_llq_num == 0 {
            return Ok(());
        }
        let wish = LlqWish::linux_defaults(offer, self.llq_policy);
        let Ok(info) = llq_config::choose(offer, &wish) else {
            return Ok(());
        };
        let mut cmd = FeatCmd {
            feature_id: feature::LLQ,
            ..Default::default()
        };
        cmd.raw = to_raw(&llq_config::set_feature_desc(&info));
        match self.admin("set LLQ", &Command::from_wire(opcode::SET_FEATURE, &cmd)) {
            Ok(_) => {}
            Err(BringUpError::Admin {
                error: AdminError::IllegalParameter | AdminError::UnsupportedOpcode,
                ..
            }) => return Ok(()),
            Err(e) => return Err(e),
        }
        // ena_calc_io_queue_size: LLQ's own depth, and for 256-byte entries
        // the wide depth (half the ring when the device gives none).
        let mut max = offer.max_llq_depth;
        if info.desc_list_entry_size == 256 {
            max = match offer.max_wide_llq_depth {
                0 => max / 2,
                wide => max.min(wide as u32),
            };
        }
        if depth as u32 > max {
            return Err(BringUpError::QueueTooDeep { asked: depth, max });
        }
        self.llq = Some(info);
        Ok(())
    }

    fn create_cq(
        &mut self,
        depth: u16,
        entry_words: u8,
        vector: Option<u16>,
        mem: &A::Mem,
    ) -> Result<CreateCqResp, BringUpError> {
        let (lo, hi) = split_addr(mem.phys());
        // Polled unless a vector is given: then interrupt_mode_enabled.
        let cmd = CreateCqCmd {
            cq_caps_1: if vector.is_some() {
                create_cq::INTERRUPT_MODE_ENABLED_MASK
            } else {
                0
            },
            cq_caps_2: entry_words & create_cq::CQ_ENTRY_SIZE_WORDS_MASK,
            cq_depth: depth,
            msix_vector: vector.unwrap_or(0) as u32,
            cq_ba_lo: lo,
            cq_ba_hi: hi,
            ..Default::default()
        };
        Ok(self
            .admin(
                "create completion queue",
                &Command::from_wire(opcode::CREATE_CQ, &cmd),
            )?
            .decode())
    }

    /// A submission queue in host memory at `mem`, or (None) in the
    /// device's memory, where the device says in its answer.
    fn create_sq(
        &mut self,
        depth: u16,
        tx: bool,
        cq_idx: u16,
        mem: Option<&A::Mem>,
    ) -> Result<CreateSqResp, BringUpError> {
        let direction = if tx {
            create_sq::DIRECTION_TX
        } else {
            create_sq::DIRECTION_RX
        };
        let (placement, (lo, hi)) = match mem {
            Some(m) => (create_sq::PLACEMENT_HOST, split_addr(m.phys())),
            None => (create_sq::PLACEMENT_DEV, (0, 0)),
        };
        // Completion per descriptor, one contiguous ring.
        let cmd = CreateSqCmd {
            sq_identity: direction << create_sq::SQ_DIRECTION_SHIFT,
            sq_caps_2: placement | create_sq::COMPLETION_DESC << create_sq::COMPLETION_POLICY_SHIFT,
            sq_caps_3: create_sq::IS_PHYSICALLY_CONTIGUOUS_MASK,
            cq_idx,
            sq_depth: depth,
            sq_ba_lo: lo,
            sq_ba_hi: hi,
            ..Default::default()
        };
        Ok(self
            .admin(
                "create submission queue",
                &Command::from_wire(opcode::CREATE_SQ, &cmd),
            )?
            .decode())
    }

    /// `ena_com_create_io_queue` for a Tx and an Rx queue, each with its
    /// CQ, both polled; the Tx queue in device placement when bring-up set
    /// an LLQ layout.
    pub fn create_pair(&mut self, depth: u16) -> Result<IoPair<A::Mem, B>, BringUpError> {
        self.create_pair_on(depth, None)
    }

    /// The same pair, its CQs raising MSI-X `vector` (the kernel driver's
    /// mode: one vector per queue pair, masked by the device after each
    /// interrupt until [`Ena::unmask`]).
    pub fn create_pair_on(
        &mut self,
        depth: u16,
        vector: Option<u16>,
    ) -> Result<IoPair<A::Mem, B>, BringUpError> {
        let tx_cq_mem = self.alloc.alloc(depth as usize * 8);
        let tx_cq_idx = self.create_cq(depth, 2, vector, &tx_cq_mem)?.cq_idx;
        let bits = self.dma_width;
        let (mut tx, tx_sq) = match (self.llq, self.bar2.clone()) {
            (Some(info), Some(bar)) => {
                let r = self.create_sq(depth, true, tx_cq_idx, None)?;
                let base = r.llq_descriptors_offset as usize;
                let q = TxQueue::llq(bar, base, depth, bits, info.max_header(), info);
                (q, r)
            }
            _ => {
                let tx_mem = self.alloc.alloc(depth as usize * 16);
                let r = self.create_sq(depth, true, tx_cq_idx, Some(&tx_mem))?;
                (TxQueue::host(tx_mem, depth, bits, HOST_MAX_HEADER), r)
            }
        };
        tx.set_doorbell(tx_sq.sq_doorbell_offset);
        let (tx_sq_idx, tx_doorbell) = (tx_sq.sq_idx, tx_sq.sq_doorbell_offset);
        let rx_cq_mem = self.alloc.alloc(depth as usize * 16);
        let rx_cq = self.create_cq(depth, 4, vector, &rx_cq_mem)?;
        let rx_cq_idx = rx_cq.cq_idx;
        let rx_mem = self.alloc.alloc(depth as usize * 16);
        let rx_sq = self.create_sq(depth, false, rx_cq_idx, Some(&rx_mem))?;
        let (rx_sq_idx, rx_doorbell) = (rx_sq.sq_idx, rx_sq.sq_doorbell_offset);
        Ok(IoPair {
            tx,
            tx_done: TxCompletions::new(tx_cq_mem, depth),
            rx: RxQueue::new(rx_mem, depth, self.dma_width),
            rx_done: RxCompletions::new(rx_cq_mem, depth, 16),
            tx_doorbell,
            rx_doorbell,
            tx_sq_idx,
            rx_sq_idx,
            tx_cq_idx,
            rx_cq_idx,
            vector,
            unmask_reg: rx_cq.cq_interrupt_unmask_register_offset,
        })
    }

    /// `ena_com_set_dev_mtu`: the largest frame the device sends and
    /// takes from now on is `mtu` plus the Ethernet header (the device
    /// refuses an MTU above its maximum: an admin error).
    pub fn set_mtu(&mut self, mtu: u32) -> Result<(), BringUpError> {
        let mut cmd = FeatCmd {
            feature_id: feature::MTU,
            ..Default::default()
        };
        cmd.raw = to_raw(&MtuDesc { mtu });
        self.admin("set MTU", &Command::from_wire(opcode::SET_FEATURE, &cmd))?;
        Ok(())
    }

    /// `ena_rss_init_default` then `ena_com_indirect_table_set`: entry `i`
    /// of the indirection table names Rx submission queue
    /// `rx_sqs[i % rx_sqs.len()]` (`ethtool_rxfh_indir_default`; the
    /// device's index, as `ena_com_ind_tbl_convert_to_device` turns queue
    /// numbers into `io_sq->idx`). The table's size is Linux's 2^7 unless
    /// the device's GET_FEATURE range excludes it; it goes to the device
    /// in a control buffer. Returns the number of entries set.
    ///
    /// # Panics
    /// With no queue to spread over.
    pub fn set_rss_table(&mut self, rx_sqs: &[u16]) -> Result<usize, BringUpError> {
        assert!(!rx_sqs.is_empty(), "an RSS table needs at least one queue");
        let range: RssIndTable = self
            .get_feature("get RSS table range", feature::RSS_INDIRECTION_TABLE_CONFIG)?
            .feature();
        let log = RSS_TABLE_LOG_SIZE.clamp(range.min_size, range.max_size.max(range.min_size));
        let entries = 1usize << log;
        let mut table = self.alloc.alloc(entries * RSS_ENTRY_SIZE);
        for i in 0..entries {
            let q = rx_sqs[i % rx_sqs.len()];
            table.write(i * RSS_ENTRY_SIZE, &[q as u8, (q >> 8) as u8, 0, 0]);
        }
        let (lo, hi) = split_addr(table.phys());
        let mut cmd = FeatCmd {
            feature_id: feature::RSS_INDIRECTION_TABLE_CONFIG,
            control_buffer_length: (entries * RSS_ENTRY_SIZE) as u32,
            control_buffer_lo: lo,
            control_buffer_hi: hi,
            ..Default::default()
        };
        cmd.raw = to_raw(&RssIndTable {
            size: log,
            inline_index: u32::MAX,
            ..Default::default()
        });
        self.admin(
            "set RSS table",
            &Command::from_wire(opcode::SET_FEATURE, &cmd).indirect(),
        )?;
        Ok(entries)
    }

    /// `ena_com_unmask_intr`: the pair is serviced, its vector may fire again.
    pub fn unmask(&mut self, pair: &IoPair<A::Mem, B>) {
        self.regs.write32(pair.unmask_reg, INTR_UNMASK);
    }

    /// Runs one admin command (after bring-up set the queue up).
    pub fn admin_command(&mut self, cmd: &Command) -> Result<Completion, AdminError> {
        let q = self.admin.as_mut().ok_or(AdminError::QueueFull)?;
        q.execute(&mut self.regs, &mut self.clock, cmd)
    }

    /// Handles posted device events (the AENQ interrupt or the timer).
    pub fn poll_events(&mut self, on_event: impl FnMut(Event)) -> usize {
        let now = self.clock.now_us();
        match self.aenq.as_mut() {
            Some(q) => q.poll(&mut self.regs, now, on_event),
            None => 0,
        }
    }

    /// The keep-alive watchdog (`check_for_missing_keep_alive`): true when the
    /// device has been silent for `timeout_us`; the driver then resets it.
    pub fn keep_alive_missing(&self, timeout_us: u64) -> bool {
        self.aenq
            .as_ref()
            .is_some_and(|q| q.keep_alive_missing(self.clock.now_us(), timeout_us))
    }

    /// Rings a submission queue's doorbell with its tail.
    pub fn doorbell(&mut self, offset: u32, tail: u16) {
        self.regs.write32(offset, tail as u32);
    }
}
