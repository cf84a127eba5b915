//! The device's view, in the words of the C headers: register names and
//! fields (`ena_regs_defs.h`), admin commands and their completions field by
//! field (`ena_admin_defs.h`), LLQ entries, AENQ events. The device trace
//! and the ena-trace CLI both print through these.

use ena_core::admin::{feature, opcode, stats_type, ENTRY_SIZE};
use ena_core::admin_defs::{
    create_cq, create_sq, join_addr, llq, AcqEntry, CreateCqCmd, CreateCqResp, CreateSqCmd,
    CreateSqResp, DestroyCqCmd, DestroySqCmd, DeviceAttrFeatureDesc, FeatCmd, FeatureAenqDesc,
    FeatureLlqDesc, GetStatsCmd, MtuDesc, QueueExtFeatureDesc, QueueFeatureDesc,
};
use ena_core::regs;
use ena_core::wire::Wire;

use crate::{CQ_UNMASK_BASE, SQ_DOORBELL_BASE};

/// A BAR0 register by its `ENA_REGS_*_OFF` name.
pub fn reg_name(off: u32) -> String {
    let n = match off {
        regs::VERSION => "VERSION",
        regs::CONTROLLER_VERSION => "CONTROLLER_VERSION",
        regs::CAPS => "CAPS",
        regs::AQ_BASE_LO => "AQ_BASE_LO",
        regs::AQ_BASE_HI => "AQ_BASE_HI",
        regs::AQ_CAPS => "AQ_CAPS",
        regs::ACQ_BASE_LO => "ACQ_BASE_LO",
        regs::ACQ_BASE_HI => "ACQ_BASE_HI",
        regs::ACQ_CAPS => "ACQ_CAPS",
        regs::AQ_DB => "AQ_DB",
        regs::AENQ_CAPS => "AENQ_CAPS",
        regs::AENQ_BASE_LO => "AENQ_BASE_LO",
        regs::AENQ_BASE_HI => "AENQ_BASE_HI",
        regs::AENQ_HEAD_DB => "AENQ_HEAD_DB",
        regs::DEV_CTL => "DEV_CTL",
        regs::DEV_STS => "DEV_STS",
        regs::INTR_MASK => "INTR_MASK",
        regs::MMIO_REG_READ => "MMIO_REG_READ",
        regs::MMIO_RESP_LO => "MMIO_RESP_LO",
        regs::MMIO_RESP_HI => "MMIO_RESP_HI",
        o if (SQ_DOORBELL_BASE..CQ_UNMASK_BASE).contains(&o) => {
            return format!("SQ{}_DOORBELL", (o - SQ_DOORBELL_BASE) / 4)
        }
        o if (CQ_UNMASK_BASE..CQ_UNMASK_BASE + 0x1000).contains(&o) => {
            return format!("CQ{}_UNMASK", (o - CQ_UNMASK_BASE) / 4)
        }
        o => return format!("{o:#06x}"),
    };
    n.to_string()
}

/// A register value's fields, " (name value, ...)", or nothing.
pub fn reg_fields(off: u32, v: u32) -> String {
    match off {
        regs::CAPS => format!(
            " (reset timeout {} ms, DMA width {}, admin timeout {} ms)",
            ((v >> 1) & 0x1f) * 100,
            (v >> 8) & 0xff,
            ((v >> 16) & 0xf) * 100
        ),
        regs::DEV_STS => format!(" (ready {}, reset in progress {})", v & 1, (v >> 3) & 1),
        regs::DEV_CTL => format!(
            " (reset {}, reason {}, reason_ext {})",
            v & 1,
            v >> 28,
            (v >> 24) & 0xf
        ),
        regs::MMIO_REG_READ => format!(" (req_id {}, reg_off {})", v & 0xffff, reg_name(v >> 16)),
        regs::AQ_CAPS | regs::ACQ_CAPS | regs::AENQ_CAPS => {
            format!(" (depth {}, entry {} bytes)", v & 0xffff, v >> 16)
        }
        regs::CONTROLLER_VERSION => {
            format!(" ({}.{}.{})", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
        }
        _ => String::new(),
    }
}

/// A command's name from its entry: the feature for GET/SET_FEATURE, the
/// stats type for GET_STATS.
pub fn entry_op_name(e: &[u8; ENTRY_SIZE]) -> String {
    let which = if e[2] == opcode::GET_STATS {
        e[16]
    } else {
        e[17]
    };
    op_name(e[2], which)
}

/// `enum ena_admin_aenq_group`, and the NOTIFICATION syndromes.
pub fn event_name(group: u16, syndrome: u16) -> String {
    let g = match group {
        0 => "LINK_CHANGE",
        1 => "FATAL_ERROR",
        2 => "WARNING",
        3 => "NOTIFICATION",
        4 => "KEEP_ALIVE",
        5 => "REFRESH_CAPABILITIES",
        6 => "CONF_NOTIFICATIONS",
        7 => "DEVICE_REQUEST_RESET",
        _ => "?",
    };
    match (group, syndrome) {
        (3, 2) => format!("{g} UPDATE_HINTS"),
        (3, s) => format!("{g} syndrome {s}"),
        _ => g.to_string(),
    }
}

/// An event's inline data, as its group's descriptor reads.
pub fn event_data(group: u16, syndrome: u16, data: &[u8]) -> String {
    let u64_at = |i: usize| {
        data.get(i..i + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    let u16_at = |i: usize| {
        data.get(i..i + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    match (group, syndrome) {
        (0, _) => format!(" (link {})", if data.first() == Some(&1) { "up" } else { "down" }),
        (4, _) => format!(
            " (rx_drops {}, tx_drops {}, rx_overruns {})",
            u64_at(0),
            u64_at(8),
            u64_at(16)
        ),
        (3, 2) => format!(
            " (mmio_read_timeout {} ms, driver_watchdog_timeout {} ms, missing_tx_completion_timeout {} ms)",
            u16_at(0),
            u16_at(2),
            u16_at(4)
        ),
        _ => String::new(),
    }
}

/// `enum ena_admin_aq_feature_id`
pub fn feature_name(f: u8) -> &'static str {
    match f {
        feature::DEVICE_ATTRIBUTES => "DEVICE_ATTRIBUTES",
        feature::MAX_QUEUES_NUM => "MAX_QUEUES_NUM",
        feature::HW_HINTS => "HW_HINTS",
        feature::LLQ => "LLQ",
        feature::MAX_QUEUES_EXT => "MAX_QUEUES_EXT",
        feature::STATELESS_OFFLOAD_CONFIG => "STATELESS_OFFLOAD_CONFIG",
        feature::RSS_INDIRECTION_TABLE_CONFIG => "RSS_INDIRECTION_TABLE_CONFIG",
        feature::MTU => "MTU",
        feature::INTERRUPT_MODERATION => "INTERRUPT_MODERATION",
        feature::AENQ_CONFIG => "AENQ_CONFIG",
        feature::LINK_CONFIG => "LINK_CONFIG",
        feature::HOST_ATTR_CONFIG => "HOST_ATTR_CONFIG",
        _ => "?",
    }
}

/// An entry's descriptors: a packet's first entry has `before` slots and
/// then the header (its length in the first data descriptor), a further
/// one only descriptors.
pub fn llq_entry(e: &[u8], before: usize) -> String {
    let word = |slot: usize, w: usize| {
        let b = &e[slot * 16 + w * 4..slot * 16 + w * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let first_entry = word(0, 0) & 1 << 26 != 0;
    let slots = if first_entry { before } else { e.len() / 16 };
    let mut out = Vec::new();
    let mut header = None;
    for slot in 0..slots {
        let ctrl = word(slot, 0);
        if ctrl == 0 {
            break;
        }
        let meta = ctrl & 1 << 23 != 0;
        let mut f = vec![if meta { "meta" } else { "data" }];
        for (bit, name) in [(26, "first"), (27, "last"), (28, "comp_req")] {
            if ctrl & 1 << bit != 0 {
                f.push(name);
            }
        }
        if !meta && header.is_none() {
            header = Some(word(slot, 3) >> 24);
        }
        out.push(format!("{} phase {}", f.join("+"), (ctrl >> 24) & 1));
    }
    match header.filter(|_| first_entry) {
        Some(h) => format!(" ({}; header {h} bytes inline)", out.join(", ")),
        None => format!(" ({})", out.join(", ")),
    }
}

fn entry_size(code: u16) -> String {
    match llq::entry_bytes(code) {
        Some(b) => format!("{b} B"),
        None => format!("{code:#x}"),
    }
}

/// The LLQ descriptor fields a GET answers with.
pub fn llq_offer(d: &FeatureLlqDesc) -> String {
    format!(
        "max_llq_num {}, max_llq_depth {}, header_location_ctrl_supported {:#x}, \
         entry_size_ctrl_supported {:#x}, entry_size_recommended {} ({}), \
         desc_num_before_header_supported {:#x}, descriptors_stride_ctrl_supported {:#x}, \
         max_wide_llq_depth {}, accel_mode supported_flags {:#x}, max_tx_burst_size {}",
        d.max_llq_num,
        d.max_llq_depth,
        d.header_location_ctrl_supported,
        d.entry_size_ctrl_supported,
        d.entry_size_recommended,
        entry_size(d.entry_size_recommended as u16),
        d.desc_num_before_header_supported,
        d.descriptors_stride_ctrl_supported,
        d.max_wide_llq_depth,
        d.accel_mode_flags,
        d.accel_mode_max_tx_burst_size
    )
}

/// The layout a SET chooses.
pub fn llq_choice(d: &FeatureLlqDesc) -> String {
    let header = match d.header_location_ctrl_enabled {
        llq::INLINE_HEADER => "inline",
        llq::HEADER_RING => "header ring",
        _ => "?",
    };
    let stride = match d.descriptors_stride_ctrl_enabled {
        llq::SINGLE_DESC_PER_ENTRY => "single",
        llq::MULTIPLE_DESCS_PER_ENTRY => "multiple",
        _ => "?",
    };
    format!(
        "header_location_ctrl_enabled {} ({header}), entry_size_ctrl_enabled {} ({}), \
         desc_num_before_header_enabled {}, descriptors_stride_ctrl_enabled {} ({stride}), \
         accel_mode enabled_flags {:#x}",
        d.header_location_ctrl_enabled,
        d.entry_size_ctrl_enabled,
        entry_size(d.entry_size_ctrl_enabled),
        d.desc_num_before_header_enabled,
        d.descriptors_stride_ctrl_enabled,
        d.accel_mode_flags
    )
}

/// An admin command's name, with its feature or stats type.
pub fn op_name(op: u8, feat: u8) -> String {
    let f = feature_name(feat);
    match op {
        opcode::GET_FEATURE => format!("GET_FEATURE {f}"),
        opcode::SET_FEATURE => format!("SET_FEATURE {f}"),
        opcode::GET_STATS => format!(
            "GET_STATS {}",
            match feat {
                stats_type::BASIC => "BASIC",
                stats_type::EXTENDED => "EXTENDED",
                stats_type::ENI => "ENI",
                stats_type::CUSTOMER_METRICS => "CUSTOMER_METRICS",
                _ => "?",
            }
        ),
        opcode::CREATE_CQ => "CREATE_CQ".into(),
        opcode::CREATE_SQ => "CREATE_SQ".into(),
        opcode::DESTROY_CQ => "DESTROY_CQ".into(),
        opcode::DESTROY_SQ => "DESTROY_SQ".into(),
        o => format!("opcode {o}"),
    }
}

/// The fields of an admin command, decoded with ena-core's typed formats.
/// An admin command's fields.
pub fn command(e: &[u8; ENTRY_SIZE]) -> String {
    let common = format!(
        "id {}, phase {}",
        u16::from_le_bytes([e[0], e[1]]) & 0xfff,
        e[3] & 1
    );
    let rest = match e[2] {
        opcode::GET_FEATURE => format!("feature_id {}", FeatCmd::decode(e).feature_id),
        opcode::SET_FEATURE => {
            let c = FeatCmd::decode(e);
            match c.feature_id {
                feature::HOST_ATTR_CONFIG => format!(
                    "host info page at {:#x}",
                    join_addr(c.raw[0], c.raw[1] as u16)
                ),
                feature::AENQ_CONFIG => format!("enabled_groups {:#x}", c.raw[1]),
                feature::LLQ => llq_choice(&FeatureLlqDesc::decode(&e[20..])),
                feature::MTU => format!("mtu {}", MtuDesc::decode(&e[20..]).mtu),
                f => format!("feature_id {f}"),
            }
        }
        opcode::CREATE_CQ => {
            let c = CreateCqCmd::decode(e);
            format!(
                "cq_entry_size_words {}, cq_depth {}, cq_ba {:#x}",
                c.cq_caps_2 & create_cq::CQ_ENTRY_SIZE_WORDS_MASK,
                c.cq_depth,
                join_addr(c.cq_ba_lo, c.cq_ba_hi)
            )
        }
        opcode::CREATE_SQ => {
            let c = CreateSqCmd::decode(e);
            let dir = match c.sq_identity >> create_sq::SQ_DIRECTION_SHIFT {
                create_sq::DIRECTION_TX => "tx",
                create_sq::DIRECTION_RX => "rx",
                _ => "?",
            };
            format!(
                "sq_direction {dir}, placement_policy {}, cq_idx {}, sq_depth {}, sq_ba {:#x}",
                c.sq_caps_2 & create_sq::PLACEMENT_POLICY_MASK,
                c.cq_idx,
                c.sq_depth,
                join_addr(c.sq_ba_lo, c.sq_ba_hi)
            )
        }
        opcode::GET_STATS => {
            let c = GetStatsCmd::decode(e);
            format!(
                "type {}, requested_metrics {:#x}",
                c.stats_type, c.requested_metrics
            )
        }
        opcode::DESTROY_SQ => format!("sq_idx {}", DestroySqCmd::decode(e).sq_idx),
        opcode::DESTROY_CQ => format!("cq_idx {}", DestroyCqCmd::decode(e).cq_idx),
        _ => String::new(),
    };
    format!("{common}, {rest}")
}

/// The fields of a completion, read as the command's response type.
/// A completion's fields, read as the command's response type.
pub fn completion(cmd: &[u8; ENTRY_SIZE], r: &[u8; ENTRY_SIZE]) -> String {
    let c = AcqEntry::decode(r);
    let common = format!(
        "id {}, status {}, phase {}",
        c.command & 0xfff,
        status_name(c.status),
        c.flags & 1
    );
    let body = &r[8..];
    let rest = match (cmd[2], FeatCmd::decode(cmd).feature_id) {
        _ if c.status != 0 => String::new(),
        (opcode::GET_FEATURE, feature::DEVICE_ATTRIBUTES) => {
            let d = DeviceAttrFeatureDesc::decode(body);
            format!(
                "mac_addr {:02x?}, max_mtu {}, phys_addr_width {}",
                d.mac_addr, d.max_mtu, d.phys_addr_width
            )
        }
        (opcode::GET_FEATURE, feature::MAX_QUEUES_EXT) => {
            let d = QueueExtFeatureDesc::decode(body);
            format!(
                "version {}, max_tx_sq_depth {}, max_rx_sq_depth {}, max_tx_header_size {}",
                d.version, d.max_tx_sq_depth, d.max_rx_sq_depth, d.max_tx_header_size
            )
        }
        (opcode::GET_FEATURE, feature::MAX_QUEUES_NUM) => {
            let d = QueueFeatureDesc::decode(body);
            format!(
                "max_sq_num {}, max_sq_depth {}, max_cq_depth {}, max_packet_tx_descs {}",
                d.max_sq_num, d.max_sq_depth, d.max_cq_depth, d.max_packet_tx_descs
            )
        }
        (opcode::GET_FEATURE, feature::LLQ) => llq_offer(&FeatureLlqDesc::decode(body)),
        (opcode::GET_FEATURE, feature::AENQ_CONFIG) => {
            let d = FeatureAenqDesc::decode(body);
            format!(
                "supported_groups {:#x}, enabled_groups {:#x}",
                d.supported_groups, d.enabled_groups
            )
        }
        (opcode::CREATE_CQ, _) => {
            let d = CreateCqResp::decode(r);
            format!(
                "cq_idx {}, cq_actual_depth {}, cq_interrupt_unmask_register_offset {:#x}",
                d.cq_idx, d.cq_actual_depth, d.cq_interrupt_unmask_register_offset
            )
        }
        (opcode::CREATE_SQ, _) => {
            let d = CreateSqResp::decode(r);
            format!(
                "sq_idx {}, sq_doorbell_offset {:#x}, llq_descriptors_offset {:#x}",
                d.sq_idx, d.sq_doorbell_offset, d.llq_descriptors_offset
            )
        }
        _ => String::new(),
    };
    if rest.is_empty() {
        common
    } else {
        format!("{common}, {rest}")
    }
}

/// `enum ena_admin_aq_completion_status`
pub fn status_name(s: u8) -> &'static str {
    [
        "SUCCESS",
        "RESOURCE_ALLOCATION_FAILURE",
        "BAD_OPCODE",
        "UNSUPPORTED_OPCODE",
        "MALFORMED_REQUEST",
        "ILLEGAL_PARAMETER",
        "UNKNOWN_ERROR",
        "RESOURCE_BUSY",
    ]
    .get(s as usize)
    .copied()
    .unwrap_or("?")
}
