//! The device model: registers, reset, admin commands, AENQ events and the
//! IO queues with a loopback or a wire to a second model.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use ena_core::admin::{feature, opcode, ENTRY_SIZE};
use ena_core::defs::{rx_desc, tx_desc, RxCdesc, RxDesc, TxCdesc, TxDesc};
use ena_core::device::aenq_group;
use ena_core::regs::{self, dev_ctl, dev_sts, Registers};
use ena_core::wire::Wire;

use crate::bus::Bus;

/// Doorbells of submission queue `i` are at `SQ_DOORBELL_BASE + 4 * i`.
pub const SQ_DOORBELL_BASE: u32 = 0x1000;
/// Interrupt unmask registers of completion queue `i`.
pub const CQ_UNMASK_BASE: u32 = 0x2000;

/// What the device reports about itself.
#[derive(Clone, Copy, Debug)]
pub struct ModelConfig {
    pub mac: [u8; 6],
    pub max_mtu: u32,
    pub dma_width: u8,
    /// CAPS reset timeout and admin timeout, in 100 ms units.
    pub reset_timeout: u8,
    pub admin_timeout: u8,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { mac: [0x02, 0xe1, 0xab, 0x00, 0x00, 0x01], max_mtu: 9216, dma_width: 48, reset_timeout: 5, admin_timeout: 2 }
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
    /// No keep-alive events (the driver's `check_for_missing_keep_alive` fires).
    pub no_keep_alive: bool,
    /// Read-less register reads are never answered (`ena_com_reg_bar_read32` times out).
    pub no_readless_answer: bool,
}

/// Counters, as `ena_com_get_dev_basic_stats` would report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub tx_pkts: u64,
    pub rx_pkts: u64,
    pub rx_drops: u64,
    pub admin_commands: u64,
    pub unsupported: u64,
    pub resets: u64,
}

#[derive(Clone, Copy, Default)]
struct Ring {
    base: u64,
    depth: u16,
    index: u16,
    phase: u8,
}

impl Ring {
    fn new(base: u64, depth: u16) -> Self {
        Self { base, depth, index: 0, phase: 1 }
    }
    fn slot(&self) -> u64 {
        (self.index & (self.depth.max(1) - 1)) as u64
    }
    fn advance(&mut self) {
        self.index = self.index.wrapping_add(1);
        if self.index & (self.depth - 1) == 0 {
            self.phase ^= 1;
        }
    }
}

struct Cq {
    ring: Ring,
    entry_size: u64,
}

struct Sq {
    ring: Ring,
    tx: bool,
    cq: usize,
    /// Last tail the driver rang the doorbell with.
    tail: u16,
}

/// The software ENA.
pub struct Model {
    bus: Bus,
    pub config: ModelConfig,
    pub faults: Faults,
    pub stats: Stats,
    /// Every admin command seen: (opcode, feature id or 0, status answered).
    pub admin_log: Vec<(u8, u8, u8)>,
    resetting: bool,
    aq: Ring,
    acq: Ring,
    aenq: Ring,
    enabled_groups: u32,
    host_os_type: Option<u32>,
    cqs: Vec<Option<Cq>>,
    sqs: Vec<Option<Sq>>,
    link_up: bool,
    /// Where read-less answers go (MMIO_RESP_LO/HI).
    readless_resp: u64,
    /// Frames for a peer model (a wire), or None: loopback to our own Rx.
    peer: Option<Rc<RefCell<VecDeque<Vec<u8>>>>>,
    inbox: Rc<RefCell<VecDeque<Vec<u8>>>>,
}

impl Model {
    pub fn new(bus: &Bus, config: ModelConfig) -> Self {
        Self {
            bus: bus.clone(),
            config,
            faults: Faults::default(),
            stats: Stats::default(),
            admin_log: Vec::new(),
            resetting: false,
            aq: Ring::default(),
            acq: Ring::default(),
            aenq: Ring::default(),
            enabled_groups: 0,
            host_os_type: None,
            cqs: Vec::new(),
            sqs: Vec::new(),
            link_up: true,
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
        (self.sqs.iter().flatten().count(), self.cqs.iter().flatten().count())
    }

    /// `ena_com_dev_reset` as the device sees it: everything the driver set
    /// up is forgotten.
    fn reset(&mut self) {
        self.stats.resets += 1;
        self.aq = Ring::default();
        self.acq = Ring::default();
        self.aenq = Ring::default();
        self.enabled_groups = 0;
        self.cqs.clear();
        self.sqs.clear();
    }

    // ---- admin queue (ena_com_execute_admin_command) ----

    fn process_admin(&mut self, tail: u16) {
        while self.aq.index != tail && self.aq.depth != 0 {
            let mut e = [0u8; ENTRY_SIZE];
            self.bus.read(self.aq.base + self.aq.slot() * ENTRY_SIZE as u64, &mut e);
            if e[3] & 1 != self.aq.phase {
                break;
            }
            self.aq.advance();
            self.stats.admin_commands += 1;
            let id = u16::from_le_bytes([e[0], e[1]]) & 0xfff;
            let (status, mut resp) = self.execute(&e);
            self.admin_log.push((e[2], if matches!(e[2], opcode::GET_FEATURE | opcode::SET_FEATURE) { e[17] } else { 0 }, status));
            if std::mem::take(&mut self.faults.withhold_completion) {
                continue;
            }
            let id = if std::mem::take(&mut self.faults.wrong_completion_id) { (id + 1) & 0xfff } else { id };
            resp[0..2].copy_from_slice(&id.to_le_bytes());
            resp[2] = status;
            resp[3] = self.acq.phase;
            self.bus.write(self.acq.base + self.acq.slot() * ENTRY_SIZE as u64, &resp);
            self.acq.advance();
        }
    }

    fn execute(&mut self, e: &[u8; ENTRY_SIZE]) -> (u8, [u8; ENTRY_SIZE]) {
        const OK: u8 = 0;
        const BAD_OPCODE: u8 = 2;
        const UNSUPPORTED: u8 = 3;
        const MALFORMED: u8 = 4;
        let u16_at = |o: usize| u16::from_le_bytes([e[o], e[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
        let addr_at = |o: usize| u32_at(o) as u64 | (u16_at(o + 4) as u64) << 32;
        let mut r = [0u8; ENTRY_SIZE];
        let status = match e[2] {
            opcode::GET_FEATURE => match e[17] {
                feature::DEVICE_ATTRIBUTES => {
                    r[16..20].copy_from_slice(&0u32.to_le_bytes()); // supported_features
                    r[24..28].copy_from_slice(&(self.config.dma_width as u32).to_le_bytes());
                    r[28..32].copy_from_slice(&48u32.to_le_bytes());
                    r[32..38].copy_from_slice(&self.config.mac);
                    r[40..44].copy_from_slice(&self.config.max_mtu.to_le_bytes());
                    OK
                }
                feature::AENQ_CONFIG => {
                    let supported = aenq_group::LINK_CHANGE | aenq_group::NOTIFICATION | aenq_group::KEEP_ALIVE;
                    r[8..12].copy_from_slice(&supported.to_le_bytes());
                    r[12..16].copy_from_slice(&self.enabled_groups.to_le_bytes());
                    OK
                }
                // LLQ and the rest: answered honestly as unsupported, so the
                // driver takes host placement.
                _ => UNSUPPORTED,
            },
            opcode::SET_FEATURE => match e[17] {
                feature::HOST_ATTR_CONFIG => {
                    self.host_os_type = Some(self.bus.read_u32(addr_at(20)));
                    OK
                }
                feature::AENQ_CONFIG => {
                    self.enabled_groups = u32_at(24);
                    OK
                }
                _ => UNSUPPORTED,
            },
            opcode::CREATE_CQ => {
                let depth = u16_at(6);
                if !depth.is_power_of_two() {
                    MALFORMED
                } else {
                    let idx = self.cqs.len();
                    self.cqs.push(Some(Cq { ring: Ring::new(addr_at(12), depth), entry_size: (e[4] & 0x1f) as u64 * 4 }));
                    r[8..10].copy_from_slice(&(idx as u16).to_le_bytes());
                    r[10..12].copy_from_slice(&depth.to_le_bytes());
                    r[20..24].copy_from_slice(&(CQ_UNMASK_BASE + 4 * idx as u32).to_le_bytes());
                    OK
                }
            }
            opcode::CREATE_SQ => {
                let (direction, placement, cq, depth) = (e[4] >> 5, e[6] & 0xf, u16_at(8) as usize, u16_at(10));
                if placement != 1 {
                    UNSUPPORTED // only host placement: no LLQ here
                } else if !depth.is_power_of_two() || !matches!(direction, 1 | 2) || self.cqs.get(cq).is_none_or(|c| c.is_none()) {
                    MALFORMED
                } else {
                    let idx = self.sqs.len();
                    self.sqs.push(Some(Sq { ring: Ring::new(addr_at(12), depth), tx: direction == 1, cq, tail: 0 }));
                    r[8..10].copy_from_slice(&(idx as u16).to_le_bytes());
                    r[12..16].copy_from_slice(&(SQ_DOORBELL_BASE + 4 * idx as u32).to_le_bytes());
                    OK
                }
            }
            opcode::DESTROY_SQ => match self.sqs.get_mut(u16_at(4) as usize) {
                Some(s @ Some(_)) => {
                    *s = None;
                    OK
                }
                _ => MALFORMED,
            },
            opcode::DESTROY_CQ => match self.cqs.get_mut(u16_at(4) as usize) {
                Some(c @ Some(_)) => {
                    *c = None;
                    OK
                }
                _ => MALFORMED,
            },
            opcode::GET_STATS => UNSUPPORTED,
            _ => BAD_OPCODE,
        };
        if status == UNSUPPORTED {
            self.stats.unsupported += 1;
        }
        (status, r)
    }

    // ---- AENQ (ena_com_aenq_intr_handler reads these) ----

    fn post_event(&mut self, group_bit: u32, group: u16, syndrome: u16, data: &[u8]) {
        if self.aenq.depth == 0 || self.enabled_groups & group_bit == 0 {
            return;
        }
        let mut e = [0u8; ENTRY_SIZE];
        e[0..2].copy_from_slice(&group.to_le_bytes());
        e[2..4].copy_from_slice(&syndrome.to_le_bytes());
        e[4] = self.aenq.phase;
        e[16..16 + data.len()].copy_from_slice(data);
        self.bus.write(self.aenq.base + self.aenq.slot() * ENTRY_SIZE as u64, &e);
        self.aenq.advance();
    }

    /// One keep-alive event (`ena_keep_alive_wd` in the driver), unless the
    /// fault withholds it.
    pub fn keep_alive(&mut self) {
        if !self.faults.no_keep_alive {
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
        let Some(Some(sq)) = self.sqs.get_mut(sqi) else { return };
        sq.tail = tail;
        loop {
            let Some(Some(sq)) = self.sqs.get(sqi) else { return };
            let mut ring = sq.ring;
            if ring.index == sq.tail {
                return;
            }
            let (cqi, depth) = (sq.cq, ring.depth);
            let mut frame = Vec::new();
            let mut req_id = 0u16;
            let mut first = true;
            loop {
                let mut b = [0u8; 16];
                self.bus.read(ring.base + ring.slot() * 16, &mut b);
                let d = TxDesc::decode(&b);
                if (d.len_ctrl & tx_desc::PHASE_MASK) >> tx_desc::PHASE_SHIFT != ring.phase as u32 {
                    return; // not written yet
                }
                ring.advance();
                if d.len_ctrl & tx_desc::META_DESC_MASK != 0 {
                    continue; // offload metadata: nothing to send
                }
                if first {
                    req_id = (((d.len_ctrl & tx_desc::REQ_ID_HI_MASK) >> tx_desc::REQ_ID_HI_SHIFT) << 10
                        | (d.meta_ctrl & tx_desc::REQ_ID_LO_MASK) >> tx_desc::REQ_ID_LO_SHIFT) as u16;
                    first = false;
                }
                let len = (d.len_ctrl & tx_desc::LENGTH_MASK) as usize;
                let addr = d.buff_addr_lo as u64 | ((d.buff_addr_hi_hdr_sz & tx_desc::ADDR_HI_MASK) as u64) << 32;
                let mut part = vec![0u8; len];
                self.bus.read(addr, &mut part);
                frame.extend_from_slice(&part);
                if d.len_ctrl & tx_desc::LAST_MASK != 0 {
                    break;
                }
            }
            if let Some(Some(sq)) = self.sqs.get_mut(sqi) {
                sq.ring = ring;
            }
            let req_id = if self.faults.bad_tx_req_id { depth + 1 } else { req_id };
            if let Some(Some(cq)) = self.cqs.get_mut(cqi) {
                let c = TxCdesc { req_id, flags: cq.ring.phase, ..Default::default() };
                let mut b = [0u8; 8];
                c.encode(&mut b);
                self.bus.write(cq.ring.base + cq.ring.slot() * cq.entry_size, &b);
                cq.ring.advance();
            }
            self.stats.tx_pkts += 1;
            match &self.peer {
                Some(p) if self.link_up => p.borrow_mut().push_back(frame),
                Some(_) => {}
                None => self.inbox.borrow_mut().push_back(frame),
            }
            self.deliver();
        }
    }

    /// Puts waiting frames into the Rx buffers the driver offered.
    pub fn deliver(&mut self) {
        loop {
            let Some(rx) = self.sqs.iter().position(|s| matches!(s, Some(s) if !s.tx)) else { return };
            let sq = self.sqs[rx].as_mut().unwrap();
            if self.inbox.borrow().is_empty() {
                return;
            }
            if sq.ring.index == sq.tail {
                self.inbox.borrow_mut().pop_front();
                self.stats.rx_drops += 1; // no buffer: the device drops
                continue;
            }
            let frame = self.inbox.borrow_mut().pop_front().unwrap();
            let mut b = [0u8; 16];
            self.bus.read(sq.ring.base + sq.ring.slot() * 16, &mut b);
            let d = RxDesc::decode(&b);
            sq.ring.advance();
            let cqi = sq.cq;
            debug_assert_eq!(d.ctrl & rx_desc::FIRST_MASK, rx_desc::FIRST_MASK);
            let len = frame.len().min(d.length as usize);
            let addr = d.buff_addr_lo as u64 | (d.buff_addr_hi as u64) << 32;
            self.bus.write(addr, &frame[..len]);
            if let Some(Some(cq)) = self.cqs.get_mut(cqi) {
                let c = RxCdesc { status: (cq.ring.phase as u32) << 24 | 1 << 26 | 1 << 27, length: len as u16, req_id: d.req_id, ..Default::default() };
                let mut b = [0u8; 16];
                c.encode(&mut b);
                self.bus.write(cq.ring.base + cq.ring.slot() * cq.entry_size, &b);
                cq.ring.advance();
            }
            self.stats.rx_pkts += 1;
        }
    }
}

impl Registers for Model {
    fn read32(&mut self, off: u32) -> u32 {
        let c = &self.config;
        match off {
            regs::VERSION => 0x0000_0201,
            regs::CONTROLLER_VERSION => 0x0001_0001,
            regs::CAPS => (c.reset_timeout as u32 & 0x1f) << 1 | (c.dma_width as u32) << 8 | (c.admin_timeout as u32 & 0xf) << 16,
            regs::DEV_STS => dev_sts::READY_MASK | if self.resetting { dev_sts::RESET_IN_PROGRESS_MASK } else { 0 },
            regs::AQ_CAPS => self.aq.depth as u32,
            _ => 0,
        }
    }

    fn write32(&mut self, off: u32, v: u32) {
        match off {
            regs::DEV_CTL => {
                if v & dev_ctl::DEV_RESET_MASK != 0 {
                    self.resetting = true;
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
            regs::AENQ_BASE_HI => self.aenq.base = (self.aenq.base & 0xffff_ffff) | (v as u64) << 32,
            regs::AENQ_CAPS => self.aenq = Ring::new(self.aenq.base, v as u16),
            regs::AQ_DB => self.process_admin(v as u16),
            regs::MMIO_RESP_LO => self.readless_resp = (self.readless_resp & !0xffff_ffff) | v as u64,
            regs::MMIO_RESP_HI => self.readless_resp = (self.readless_resp & 0xffff_ffff) | (v as u64) << 32,
            regs::MMIO_REG_READ if !self.faults.no_readless_answer => {
                // ena_com_reg_bar_read32: answer by DMA with the register's value.
                let (req_id, reg) = (v as u16, v >> 16);
                let value = self.read32(reg);
                let mut b = [0u8; 8];
                b[0..2].copy_from_slice(&req_id.to_le_bytes());
                b[2..4].copy_from_slice(&(reg as u16).to_le_bytes());
                b[4..8].copy_from_slice(&value.to_le_bytes());
                self.bus.write(self.readless_resp, &b);
            }
            o if (SQ_DOORBELL_BASE..CQ_UNMASK_BASE).contains(&o) => {
                let i = ((o - SQ_DOORBELL_BASE) / 4) as usize;
                match self.sqs.get_mut(i) {
                    Some(Some(sq)) if sq.tx => self.process_tx(i, v as u16),
                    Some(Some(sq)) => {
                        sq.tail = v as u16;
                        self.deliver();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}
