//! The admin queue (`ena_com_execute_admin_command` on the driver side):
//! each command read from the submission ring is answered by one function
//! below, with a `Status`, and its completion written to the completion
//! ring, in order, with the phase of the lap.

use ena_core::admin::{capability, feature, opcode, stats_type, Status, ENTRY_SIZE};
use ena_core::admin_defs::{
    create_cq, create_sq, join_addr, BasicStats, CreateCqCmd, CreateCqResp, CreateSqCmd,
    CreateSqResp, CustomerMetrics, DestroyCqCmd, DestroySqCmd, DeviceAttrFeatureDesc, EniStats,
    FeatCmd, FeatureAenqDesc, GetStatsCmd, HostInfo, HwHints, IntrModerDesc, LinkDesc, MtuDesc,
    OffloadDesc, QueueExtFeatureDesc, QueueFeatureDesc, RssIndTable, SetFeatureHostAttrDesc,
};
use ena_core::device::aenq_group;
use ena_core::wire::Wire;

use super::aenq::DEVICE_REQUEST_RESET;
use super::offload::{RX_OFFLOADS, TX_OFFLOADS};
use super::{
    check, llq, Cq, Model, Ring, Sq, CQ_UNMASK_BASE, MAX_HEADER, MAX_QUEUES_EXT_VERSION,
    MAX_QUEUE_PAIRS, MAX_RX_BUFS, MAX_TX_DESCS, SQ_DOORBELL_BASE,
};
use crate::rss;

/// A completion: the status and the response bytes after the common
/// descriptor's first word (the caller writes id, status and phase).
type Answer = (Status, [u8; ENTRY_SIZE]);

/// Where a response's own descriptor starts: after `acq_common_desc`.
const RESP: usize = 8;

/// CREATE_CQ's `msix_vector` of a polled queue: DPDK's ENA PMD sets -1.
const NO_VECTOR: u32 = u32::MAX;

/// Features answered by GET_FEATURE, as `supported_features` bits: what
/// `ena_com_check_supported_feature_id` checks before sending. LLQ,
/// MAX_QUEUES_EXT, HW_HINTS and INTERRUPT_MODERATION join them when the
/// device is configured to offer them; the rest are answered honestly as
/// unsupported.
const SUPPORTED_FEATURES: [u8; 8] = [
    feature::DEVICE_ATTRIBUTES,
    feature::MAX_QUEUES_NUM,
    feature::STATELESS_OFFLOAD_CONFIG,
    feature::RSS_INDIRECTION_TABLE_CONFIG,
    feature::MTU,
    feature::AENQ_CONFIG,
    feature::LINK_CONFIG,
    feature::HOST_ATTR_CONFIG,
];

fn answer(status: Status) -> Answer {
    (status, [0u8; ENTRY_SIZE])
}

/// The customer metrics the device reports (`enum
/// ena_admin_customer_metrics_id` 0-5: the five allowance counters and
/// conntrack_allowance_available), and what it reports for the last.
const CUSTOMER_METRICS: u64 = 0x3f;
const CONNTRACK_ALLOWANCE_AVAILABLE: u64 = 300_000;

/// The device's timeouts, in ms (HW_HINTS): those the drivers assume
/// without hints, as EC2's own figures are not published. The test port
/// posts others in an UPDATE_HINTS notification.
pub(super) const HW_HINTS: HwHints = HwHints {
    mmio_read_timeout: 200,
    driver_watchdog_timeout: 6000,
    missing_tx_completion_timeout: 5000,
    missed_tx_completion_count_threshold_to_reset: 128,
    admin_completion_tx_timeout: 3000,
    netdev_wd_timeout: 5000,
    max_tx_sgl_size: MAX_TX_DESCS as u16,
    max_rx_sgl_size: MAX_RX_BUFS as u16,
    reserved: [0; 8],
};

/// A response descriptor encoded after the common descriptor.
fn respond<T: Wire>(d: &T) -> Answer {
    let mut r = [0u8; ENTRY_SIZE];
    d.encode(&mut r[RESP..RESP + T::SIZE]);
    (Status::Success, r)
}

/// A set-feature command's descriptor (`u` of `ena_admin_set_feat_cmd`).
fn feature_desc<T: Wire>(cmd: &FeatCmd) -> T {
    let mut raw = [0u8; 44];
    for (i, w) in cmd.raw.iter().enumerate() {
        raw[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    T::decode(&raw)
}

impl Model {
    /// The admin doorbell: every command up to `tail`, in order.
    pub(super) fn process_admin(&mut self, tail: u16) {
        if self.resetting {
            self.violate(check::COMMAND_DURING_RESET, 0, 0, tail as u32);
            return;
        }
        while self.aq.index() != tail && self.aq.usable() && self.acq.usable() {
            let mut e = [0u8; ENTRY_SIZE];
            self.dma_in(self.aq.entry(ENTRY_SIZE as u64), &mut e);
            if e[3] & 1 != self.aq.phase() {
                break;
            }
            self.aq.advance();
            self.stats.admin_commands += 1;
            let id = u16::from_le_bytes([e[0], e[1]]) & 0xfff;
            if self.admin_in_flight.contains(&id) {
                self.violate(
                    check::ADMIN_ID_REUSED,
                    id as usize,
                    self.aq.slot() as usize,
                    e[2] as u32,
                );
            }
            if matches!(e[2], opcode::GET_FEATURE | opcode::SET_FEATURE) {
                let f = FeatCmd::decode(&e).feature_id;
                let offered = f == feature::DEVICE_ATTRIBUTES
                    || (f < 32 && self.supported_features() & 1 << f != 0);
                if !offered {
                    self.violate(
                        check::FEATURE_NOT_OFFERED,
                        id as usize,
                        e[2] as usize,
                        f as u32,
                    );
                }
            }
            let (status, mut resp) = self.execute(&e);
            let is_feature = matches!(e[2], opcode::GET_FEATURE | opcode::SET_FEATURE);
            let feature_id = if is_feature {
                FeatCmd::decode(&e).feature_id
            } else {
                0
            };
            if is_feature && feature_id < 32 {
                self.stats.features_asked |= 1 << feature_id;
                if status == Status::UnsupportedOpcode {
                    self.stats.features_refused |= 1 << feature_id;
                }
            }
            if self.config.trace_admin {
                self.admin_log.push((e[2], feature_id, status as u8));
            }
            let withhold = self.faults.withhold_completion.fires();
            let id = if !withhold && self.faults.wrong_completion_id.fires() {
                (id + 1) & 0xfff
            } else {
                id
            };
            resp[0..2].copy_from_slice(&id.to_le_bytes());
            resp[2] = status as u8;
            resp[3] = self.acq.phase();
            if self.config.trace_admin {
                self.admin_trace.push((e, (!withhold).then_some(resp)));
            }
            self.trace_admin(&e, (!withhold).then_some(&resp));
            if withhold {
                self.admin_in_flight.push(id);
                continue;
            }
            self.write_phase_last(self.acq.entry(ENTRY_SIZE as u64), &resp, 3);
            self.acq.advance();
            if !self.admin_intr_masked {
                self.management_interrupt();
            }
        }
    }

    /// One command, by opcode (`enum ena_admin_aq_opcode`).
    fn execute(&mut self, e: &[u8; ENTRY_SIZE]) -> Answer {
        let (status, r) = match e[2] {
            opcode::GET_FEATURE => self.get_feature(&FeatCmd::decode(e)),
            opcode::SET_FEATURE => self.set_feature(&FeatCmd::decode(e)),
            opcode::CREATE_CQ => self.create_cq(&CreateCqCmd::decode(e)),
            opcode::CREATE_SQ => self.create_sq(&CreateSqCmd::decode(e)),
            opcode::DESTROY_SQ => self.destroy_sq(&DestroySqCmd::decode(e)),
            opcode::DESTROY_CQ => self.destroy_cq(&DestroyCqCmd::decode(e)),
            opcode::GET_STATS => self.get_stats(&GetStatsCmd::decode(e)),
            _ => answer(Status::BadOpcode),
        };
        if status == Status::UnsupportedOpcode {
            self.stats.unsupported += 1;
        }
        (status, r)
    }

    // ---- GET_FEATURE, one function per feature ----

    fn get_feature(&mut self, cmd: &FeatCmd) -> Answer {
        match cmd.feature_id {
            feature::DEVICE_ATTRIBUTES => self.device_attributes(),
            feature::MAX_QUEUES_NUM => self.max_queues(),
            feature::MAX_QUEUES_EXT if self.config.max_queues_ext => self.max_queues_ext(cmd),
            feature::AENQ_CONFIG => self.aenq_config(),
            feature::STATELESS_OFFLOAD_CONFIG => respond(&OffloadDesc {
                tx: TX_OFFLOADS,
                rx_supported: RX_OFFLOADS,
                rx_enabled: RX_OFFLOADS,
            }),
            feature::HW_HINTS if self.config.hw_hints => respond(&HW_HINTS),
            feature::INTERRUPT_MODERATION if self.config.intr_delay_resolution > 0 => {
                respond(&IntrModerDesc {
                    intr_delay_resolution: self.config.intr_delay_resolution,
                    reserved: 0,
                })
            }
            feature::RSS_INDIRECTION_TABLE_CONFIG => self.get_rss_table(cmd),
            feature::LINK_CONFIG => self.link_config(),
            feature::LLQ if self.config.llq => respond(&self.llq_offer()),
            _ => answer(Status::UnsupportedOpcode),
        }
    }

    fn supported_features(&self) -> u32 {
        let c = &self.config;
        [
            (c.llq, feature::LLQ),
            (c.max_queues_ext, feature::MAX_QUEUES_EXT),
            (c.hw_hints, feature::HW_HINTS),
            (c.intr_delay_resolution > 0, feature::INTERRUPT_MODERATION),
        ]
        .iter()
        .filter(|(offered, _)| *offered)
        .map(|(_, f)| *f)
        .chain(SUPPORTED_FEATURES)
        .fold(0, |bits, f| bits | 1 << f)
    }

    fn device_attributes(&self) -> Answer {
        respond(&DeviceAttrFeatureDesc {
            phys_addr_width: self.config.dma_width as u32,
            virt_addr_width: 48,
            mac_addr: self.config.mac,
            max_mtu: self.config.max_mtu,
            supported_features: self.supported_features(),
            capabilities: capability::ENI_STATS | capability::CUSTOMER_METRICS,
            ..Default::default()
        })
    }

    /// ena_com_get_dev_attr_feat reads this for queue counts and depths.
    fn max_queues(&self) -> Answer {
        respond(&QueueFeatureDesc {
            max_sq_num: MAX_QUEUE_PAIRS as u32,
            max_sq_depth: self.config.max_queue_depth,
            max_cq_num: MAX_QUEUE_PAIRS as u32,
            max_cq_depth: self.config.max_queue_depth,
            max_header_size: MAX_HEADER as u32,
            max_packet_tx_descs: MAX_TX_DESCS as u16,
            max_packet_rx_descs: MAX_RX_BUFS as u16,
            ..Default::default()
        })
    }

    /// ena_com_get_dev_attr_feat reads this instead of MAX_QUEUES_NUM when
    /// offered: Rx rings may be deeper than Tx ones.
    fn max_queues_ext(&self, cmd: &FeatCmd) -> Answer {
        if cmd.feature_version != MAX_QUEUES_EXT_VERSION {
            return answer(Status::IllegalParameter);
        }
        let (tx, rx) = (self.config.max_queue_depth, self.max_rx_depth());
        respond(&QueueExtFeatureDesc {
            version: MAX_QUEUES_EXT_VERSION,
            max_tx_sq_num: MAX_QUEUE_PAIRS as u32,
            max_tx_cq_num: MAX_QUEUE_PAIRS as u32,
            max_rx_sq_num: MAX_QUEUE_PAIRS as u32,
            max_rx_cq_num: MAX_QUEUE_PAIRS as u32,
            max_tx_sq_depth: tx,
            max_tx_cq_depth: tx,
            max_rx_sq_depth: rx,
            max_rx_cq_depth: rx,
            max_tx_header_size: MAX_HEADER as u32,
            max_per_packet_tx_descs: MAX_TX_DESCS as u16,
            max_per_packet_rx_descs: MAX_RX_BUFS as u16,
            ..Default::default()
        })
    }

    /// The deepest Rx ring (and CQ) the device takes.
    pub(super) fn max_rx_depth(&self) -> u32 {
        if self.config.max_queues_ext {
            self.config
                .max_rx_queue_depth
                .max(self.config.max_queue_depth)
        } else {
            self.config.max_queue_depth
        }
    }

    fn aenq_config(&self) -> Answer {
        respond(&FeatureAenqDesc {
            supported_groups: aenq_group::LINK_CHANGE
                | aenq_group::NOTIFICATION
                | aenq_group::KEEP_ALIVE
                | DEVICE_REQUEST_RESET,
            enabled_groups: self.enabled_groups,
        })
    }

    /// ena_com_indirect_table_allocate reads the sizes;
    /// ena_com_indirect_table_get (ethtool -x) the table itself, through
    /// the control buffer.
    fn get_rss_table(&mut self, cmd: &FeatCmd) -> Answer {
        let table: Vec<u8> = self
            .rss
            .entries
            .iter()
            .flat_map(|q| [q.to_le_bytes(), [0, 0]].concat())
            .collect();
        let len = (cmd.control_buffer_length as usize).min(table.len());
        if len > 0 {
            self.dma_out(
                join_addr(cmd.control_buffer_lo, cmd.control_buffer_hi),
                &table[..len],
            );
        }
        respond(&RssIndTable {
            min_size: rss::TABLE_LOG_SIZE,
            max_size: rss::TABLE_LOG_SIZE,
            size: rss::TABLE_LOG_SIZE,
            inline_index: u32::MAX,
            ..Default::default()
        })
    }

    /// ena_com_get_link_params (ethtool's link settings): the speed, no
    /// autonegotiation, full duplex.
    fn link_config(&self) -> Answer {
        respond(&LinkDesc {
            speed: self.config.link_speed_mbps,
            supported: 0,
            flags: 1 << 1,
        })
    }

    // ---- SET_FEATURE, one function per feature ----

    fn set_feature(&mut self, cmd: &FeatCmd) -> Answer {
        let status = match cmd.feature_id {
            feature::HOST_ATTR_CONFIG => self.set_host_attr(&feature_desc(cmd)),
            feature::AENQ_CONFIG => self.set_aenq_groups(&feature_desc(cmd)),
            feature::RSS_INDIRECTION_TABLE_CONFIG => self.set_rss_table(cmd, &feature_desc(cmd)),
            feature::MTU => self.set_mtu(&feature_desc(cmd)),
            feature::LLQ if self.config.llq => self.llq_choose(&feature_desc(cmd)),
            _ => Status::UnsupportedOpcode,
        };
        answer(status)
    }

    /// The host info page the driver fills (`ena_com_set_host_attributes`).
    fn set_host_attr(&mut self, d: &SetFeatureHostAttrDesc) -> Status {
        let mut page = [0u8; HostInfo::SIZE];
        self.bus
            .dma_read(join_addr(d.os_info_ba_lo, d.os_info_ba_hi), &mut page);
        let info = HostInfo::decode(&page);
        self.host_os_type = Some(info.os_type);
        self.driver_features = info.driver_supported_features;
        Status::Success
    }

    fn set_aenq_groups(&mut self, d: &FeatureAenqDesc) -> Status {
        self.enabled_groups = d.enabled_groups;
        self.report_link();
        Status::Success
    }

    /// ena_com_indirect_table_set: the whole table through the control
    /// buffer, or one inline entry.
    fn set_rss_table(&mut self, cmd: &FeatCmd, d: &RssIndTable) -> Status {
        if d.inline_index != u32::MAX {
            return match self.rss.entries.get_mut(d.inline_index as usize) {
                Some(entry) => {
                    *entry = d.inline_cq_idx;
                    Status::Success
                }
                None => Status::IllegalParameter,
            };
        }
        if d.size != rss::TABLE_LOG_SIZE || (cmd.control_buffer_length as usize) < 4 << d.size {
            return Status::IllegalParameter;
        }
        let mut table = vec![0u8; 4 << d.size];
        self.dma_in(
            join_addr(cmd.control_buffer_lo, cmd.control_buffer_hi),
            &mut table,
        );
        self.rss.entries = table
            .chunks(4)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Status::Success
    }

    /// ena_com_set_dev_mtu (ndo_change_mtu): the longest frame from now on.
    fn set_mtu(&mut self, d: &MtuDesc) -> Status {
        if d.mtu <= self.config.max_mtu {
            self.mtu = Some(d.mtu);
            Status::Success
        } else {
            Status::IllegalParameter
        }
    }

    // ---- IO queues ----

    fn create_cq(&mut self, c: &CreateCqCmd) -> Answer {
        let words = c.cq_caps_2 & create_cq::CQ_ENTRY_SIZE_WORDS_MASK;
        // 2 words: the Tx completion the drivers ask for; 4 and 8: what
        // the header allows (the Rx base completion, the extended one).
        if !c.cq_depth.is_power_of_two()
            || !matches!(words, 2 | 4 | 8)
            || c.cq_depth as u32 > self.max_rx_depth()
        {
            return answer(Status::MalformedRequest);
        }
        let Some(idx) = Self::free_slot(&mut self.cqs) else {
            return answer(Status::ResourceAllocationFailure);
        };
        // A polling driver names no vector with -1 and still sets the mode
        // bit (ena_com always does): DPDK's PMD, which EC2 runs, creates
        // its queues so.
        let vector = (c.cq_caps_1 & create_cq::INTERRUPT_MODE_ENABLED_MASK != 0
            && c.msix_vector != NO_VECTOR)
            .then_some(c.msix_vector as u16);
        if vector.is_some_and(|v| c.msix_vector >= self.config.msix_vectors as u32 || v == 0) {
            // Vector 0 is the management vector; the table ends where it ends.
            self.violate(check::MSIX_OUT_OF_TABLE, 0, 0, c.msix_vector);
        }
        self.cqs[idx] = Some(Cq {
            ring: Ring::new(join_addr(c.cq_ba_lo, c.cq_ba_hi), c.cq_depth),
            entry_size: words as u64 * 4,
            vector,
        });
        Self::full_response(&CreateCqResp {
            cq_idx: idx as u16,
            cq_actual_depth: c.cq_depth,
            cq_interrupt_unmask_register_offset: CQ_UNMASK_BASE + 4 * idx as u32,
            ..Default::default()
        })
    }

    /// Host placement: the ring is in host memory at `sq_ba`. Device
    /// placement (LLQ, Tx only, after SET_FEATURE LLQ): the ring is the
    /// queue's window of BAR2, named in the response.
    fn create_sq(&mut self, c: &CreateSqCmd) -> Answer {
        let direction =
            (c.sq_identity & create_sq::SQ_DIRECTION_MASK) >> create_sq::SQ_DIRECTION_SHIFT;
        let placement = c.sq_caps_2 & create_sq::PLACEMENT_POLICY_MASK;
        let cq = c.cq_idx as usize;
        let tx = direction == create_sq::DIRECTION_TX;
        let dev = match placement {
            create_sq::PLACEMENT_HOST => false,
            create_sq::PLACEMENT_DEV if tx && self.llq_fits(c.sq_depth) => true,
            create_sq::PLACEMENT_DEV if self.config.llq => return answer(Status::IllegalParameter),
            _ => return answer(Status::UnsupportedOpcode),
        };
        if !c.sq_depth.is_power_of_two()
            || c.sq_depth as u32
                > if tx {
                    self.config.max_queue_depth
                } else {
                    self.max_rx_depth()
                }
            || !matches!(direction, create_sq::DIRECTION_TX | create_sq::DIRECTION_RX)
            || self.cqs.get(cq).is_none_or(|c| c.is_none())
        {
            return answer(Status::MalformedRequest);
        }
        let Some(idx) = Self::free_slot(&mut self.sqs) else {
            return answer(Status::ResourceAllocationFailure);
        };
        let window = idx as u64 * llq::LLQ_WINDOW;
        let llq = self.llq.filter(|_| dev).map(|l| (l, window));
        let base = if dev {
            0
        } else {
            join_addr(c.sq_ba_lo, c.sq_ba_hi)
        };
        self.sqs[idx] = Some(Sq {
            ring: Ring::new(base, c.sq_depth),
            tx,
            cq,
            tail: 0,
            llq,
            cached_meta: None,
            ids: vec![0; c.sq_depth as usize],
        });
        Self::full_response(&CreateSqResp {
            sq_idx: idx as u16,
            sq_doorbell_offset: SQ_DOORBELL_BASE + 4 * idx as u32,
            llq_descriptors_offset: if dev { window as u32 } else { 0 },
            ..Default::default()
        })
    }

    fn destroy_sq(&mut self, c: &DestroySqCmd) -> Answer {
        answer(Self::free(&mut self.sqs, c.sq_idx as usize))
    }

    fn destroy_cq(&mut self, c: &DestroyCqCmd) -> Answer {
        let idx = c.cq_idx as usize;
        if let Some(sq) = self
            .sqs
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.cq == idx))
        {
            // ena_destroy_io_queues: the SQ first, then its CQ.
            self.violate(check::CQ_DESTROYED_BEFORE_SQ, idx, sq, c.cq_idx as u32);
        }
        // Completions not yet written die with their queue.
        self.pending_tx.retain(|(_, cqi, _)| *cqi != idx);
        answer(Self::free(&mut self.cqs, idx))
    }

    /// A response that spells its own common descriptor (CREATE_CQ/SQ).
    fn full_response<T: Wire>(d: &T) -> Answer {
        let mut r = [0u8; ENTRY_SIZE];
        d.encode(&mut r[..T::SIZE]);
        (Status::Success, r)
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

    fn free<T>(slots: &mut [Option<T>], idx: usize) -> Status {
        match slots.get_mut(idx) {
            Some(s @ Some(_)) => {
                *s = None;
                Status::Success
            }
            _ => Status::MalformedRequest,
        }
    }

    // ---- GET_STATS (ena_com_get_dev_basic_stats, ena_com_get_eni_stats) ----

    fn get_stats(&mut self, c: &GetStatsCmd) -> Answer {
        let s = &self.stats;
        match c.stats_type {
            stats_type::BASIC => respond(&BasicStats::new(
                s.tx_bytes, s.tx_pkts, s.rx_bytes, s.rx_pkts, s.rx_drops, s.tx_drops,
            )),
            // The allowance-exceeded counters: never exceeded here.
            stats_type::ENI => respond(&EniStats::default()),
            stats_type::CUSTOMER_METRICS => self.customer_metrics(c),
            _ => answer(Status::UnsupportedOpcode),
        }
    }

    /// ena_com_get_customer_metrics: which metrics the device reports
    /// (asked at probe, without a buffer), then their values, one u64 each
    /// in id order, into the control buffer (ethtool -S).
    fn customer_metrics(&mut self, c: &GetStatsCmd) -> Answer {
        let reported = c.requested_metrics & CUSTOMER_METRICS;
        let values: Vec<u8> = (0..64)
            .filter(|i| reported & 1 << i != 0)
            .flat_map(|i| {
                match i {
                    5 => CONNTRACK_ALLOWANCE_AVAILABLE,
                    _ => 0, // the allowances, never exceeded here
                }
                .to_le_bytes()
            })
            .collect();
        let len = (c.control_buffer_length as usize).min(values.len());
        if len > 0 {
            let addr = join_addr(c.control_buffer_lo, c.control_buffer_hi);
            self.dma_out(addr, &values[..len]);
        }
        respond(&CustomerMetrics {
            reported_metrics: reported,
        })
    }
}
