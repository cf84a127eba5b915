//! Rust (`ena-core`) against the C original (`ena_eth_com.c`) on identical
//! inputs: the same descriptor bytes (in host memory, or entries in device
//! memory for LLQ), the same parsed results, the same ring state, doorbell
//! decisions and errors, over many randomized cases.

use std::cell::RefCell;
use std::rc::Rc;

use ena_core::admin_defs::llq;
use ena_core::defs::{RxCdesc, RxDesc, TxCdesc, TxDesc, TxMetaDesc};
use ena_core::devmem::DeviceMemory;
use ena_core::dma::{DmaMemory, HostMem};
use ena_core::llq::LlqInfo;
use ena_core::regs::Registers;
use ena_core::rx::{RxBuf, RxCompletions, RxQueue};
use ena_core::tx::{TxBuf, TxCompletions, TxCtx, TxMeta, TxQueue};
use ena_core::wire::Wire;
use ena_core::Error;
use ena_cref::{c_layout, CQueues, LlqIn, RxBufInfo, TxIn};

/// xorshift64*: small, deterministic, good enough to vary inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const ENOMEM: i32 = -12;
const EINVAL: i32 = -22;
const EFAULT: i32 = -14;
const ENOSPC: i32 = -28;
const EIO: i32 = -5;
const EAGAIN: i32 = -11;

/// `(C name, offset, size)` rows of one struct: its size, then each field
/// by its C path and the Rust field that stands for it.
macro_rules! layout {
    ($c:literal, $t:ty, [$($cf:literal => $rf:ident),* $(,)?]) => {{
        let rows: Vec<(&str, usize, usize)> =
            vec![($c, 0, size_of::<$t>()), $((concat!($c, ".", $cf), offset_of!($t, $rf), size_of_val(&<$t>::default().$rf))),*];
        rows
    }};
}

#[test]
fn wire_layouts_match_the_c_headers() {
    use ena_core::admin_defs::*;
    use std::mem::{offset_of, size_of, size_of_val};
    let mut rust: Vec<(&str, usize, usize)> = vec![
        ("ena_eth_io_tx_desc", 0, size_of::<TxDesc>()),
        (
            "ena_eth_io_tx_desc.len_ctrl",
            offset_of!(TxDesc, len_ctrl),
            4,
        ),
        (
            "ena_eth_io_tx_desc.meta_ctrl",
            offset_of!(TxDesc, meta_ctrl),
            4,
        ),
        (
            "ena_eth_io_tx_desc.buff_addr_lo",
            offset_of!(TxDesc, buff_addr_lo),
            4,
        ),
        (
            "ena_eth_io_tx_desc.buff_addr_hi_hdr_sz",
            offset_of!(TxDesc, buff_addr_hi_hdr_sz),
            4,
        ),
        ("ena_eth_io_tx_meta_desc", 0, size_of::<TxMetaDesc>()),
        (
            "ena_eth_io_tx_meta_desc.len_ctrl",
            offset_of!(TxMetaDesc, len_ctrl),
            4,
        ),
        (
            "ena_eth_io_tx_meta_desc.word1",
            offset_of!(TxMetaDesc, word1),
            4,
        ),
        (
            "ena_eth_io_tx_meta_desc.word2",
            offset_of!(TxMetaDesc, word2),
            4,
        ),
        (
            "ena_eth_io_tx_meta_desc.reserved",
            offset_of!(TxMetaDesc, reserved),
            4,
        ),
        ("ena_eth_io_tx_cdesc", 0, size_of::<TxCdesc>()),
        ("ena_eth_io_tx_cdesc.req_id", offset_of!(TxCdesc, req_id), 2),
        ("ena_eth_io_tx_cdesc.status", offset_of!(TxCdesc, status), 1),
        ("ena_eth_io_tx_cdesc.flags", offset_of!(TxCdesc, flags), 1),
        (
            "ena_eth_io_tx_cdesc.sub_qid",
            offset_of!(TxCdesc, sub_qid),
            2,
        ),
        (
            "ena_eth_io_tx_cdesc.sq_head_idx",
            offset_of!(TxCdesc, sq_head_idx),
            2,
        ),
        ("ena_eth_io_rx_desc", 0, size_of::<RxDesc>()),
        ("ena_eth_io_rx_desc.length", offset_of!(RxDesc, length), 2),
        (
            "ena_eth_io_rx_desc.reserved2",
            offset_of!(RxDesc, reserved2),
            1,
        ),
        ("ena_eth_io_rx_desc.ctrl", offset_of!(RxDesc, ctrl), 1),
        ("ena_eth_io_rx_desc.req_id", offset_of!(RxDesc, req_id), 2),
        (
            "ena_eth_io_rx_desc.reserved6",
            offset_of!(RxDesc, reserved6),
            2,
        ),
        (
            "ena_eth_io_rx_desc.buff_addr_lo",
            offset_of!(RxDesc, buff_addr_lo),
            4,
        ),
        (
            "ena_eth_io_rx_desc.buff_addr_hi",
            offset_of!(RxDesc, buff_addr_hi),
            2,
        ),
        (
            "ena_eth_io_rx_desc.reserved16_w3",
            offset_of!(RxDesc, reserved16_w3),
            2,
        ),
        ("ena_eth_io_rx_cdesc_base", 0, size_of::<RxCdesc>()),
        (
            "ena_eth_io_rx_cdesc_base.status",
            offset_of!(RxCdesc, status),
            4,
        ),
        (
            "ena_eth_io_rx_cdesc_base.length",
            offset_of!(RxCdesc, length),
            2,
        ),
        (
            "ena_eth_io_rx_cdesc_base.req_id",
            offset_of!(RxCdesc, req_id),
            2,
        ),
        (
            "ena_eth_io_rx_cdesc_base.hash",
            offset_of!(RxCdesc, hash),
            4,
        ),
        (
            "ena_eth_io_rx_cdesc_base.sub_qid",
            offset_of!(RxCdesc, sub_qid),
            2,
        ),
        (
            "ena_eth_io_rx_cdesc_base.offset",
            offset_of!(RxCdesc, offset),
            1,
        ),
        (
            "ena_eth_io_rx_cdesc_base.reserved",
            offset_of!(RxCdesc, reserved),
            1,
        ),
    ];
    // admin, feature and AENQ formats (ena_admin_defs.h)
    rust.extend(layout!("ena_admin_aq_entry", AqEntry, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "u.inline_data_w1" => inline_data_w1,
        "inline_data_w4" => inline_data_w4,
    ]));
    rust.extend(layout!("ena_admin_acq_entry", AcqEntry, [
        "acq_common_descriptor.command" => command, "acq_common_descriptor.status" => status,
        "acq_common_descriptor.flags" => flags, "acq_common_descriptor.extended_status" => extended_status,
        "acq_common_descriptor.sq_head_indx" => sq_head_indx, "response_specific_data" => response_specific_data,
    ]));
    rust.extend(layout!("ena_admin_aenq_entry", AenqEntry, [
        "aenq_common_desc.group" => group, "aenq_common_desc.syndrome" => syndrome,
        "aenq_common_desc.flags" => flags, "aenq_common_desc.reserved1" => reserved1,
        "aenq_common_desc.timestamp_low" => timestamp_low, "aenq_common_desc.timestamp_high" => timestamp_high,
        "inline_data_w4" => inline_data_w4,
    ]));
    rust.extend(layout!("ena_admin_get_feat_cmd", FeatCmd, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "control_buffer.length" => control_buffer_length,
        "control_buffer.address.mem_addr_low" => control_buffer_lo,
        "control_buffer.address.mem_addr_high" => control_buffer_hi,
        "control_buffer.address.reserved16" => control_buffer_reserved16, "feat_common.flags" => feat_flags,
        "feat_common.feature_id" => feature_id, "feat_common.feature_version" => feature_version,
        "feat_common.reserved8" => feat_reserved8, "raw" => raw,
    ]));
    rust.extend(layout!("ena_admin_set_feat_cmd", FeatCmd, [
        "aq_common_descriptor.command_id" => command_id, "control_buffer.length" => control_buffer_length,
        "feat_common.feature_id" => feature_id, "u.raw" => raw,
    ]));
    rust.extend(layout!("ena_admin_device_attr_feature_desc", DeviceAttrFeatureDesc, [
        "impl_id" => impl_id, "device_version" => device_version, "supported_features" => supported_features,
        "capabilities" => capabilities, "phys_addr_width" => phys_addr_width, "virt_addr_width" => virt_addr_width,
        "mac_addr" => mac_addr, "flow_steering_max_entries" => flow_steering_max_entries, "max_mtu" => max_mtu,
    ]));
    rust.extend(layout!("ena_admin_queue_feature_desc", QueueFeatureDesc, [
        "max_sq_num" => max_sq_num, "max_sq_depth" => max_sq_depth, "max_cq_num" => max_cq_num,
        "max_cq_depth" => max_cq_depth, "max_legacy_llq_num" => max_legacy_llq_num,
        "max_legacy_llq_depth" => max_legacy_llq_depth, "max_header_size" => max_header_size,
        "max_packet_tx_descs" => max_packet_tx_descs, "max_packet_rx_descs" => max_packet_rx_descs,
    ]));
    rust.extend(layout!("ena_admin_feature_llq_desc", FeatureLlqDesc, [
        "max_llq_num" => max_llq_num, "max_llq_depth" => max_llq_depth,
        "header_location_ctrl_supported" => header_location_ctrl_supported,
        "header_location_ctrl_enabled" => header_location_ctrl_enabled,
        "entry_size_ctrl_supported" => entry_size_ctrl_supported,
        "entry_size_ctrl_enabled" => entry_size_ctrl_enabled,
        "desc_num_before_header_supported" => desc_num_before_header_supported,
        "desc_num_before_header_enabled" => desc_num_before_header_enabled,
        "descriptors_stride_ctrl_supported" => descriptors_stride_ctrl_supported,
        "descriptors_stride_ctrl_enabled" => descriptors_stride_ctrl_enabled,
        "feature_version" => feature_version, "entry_size_recommended" => entry_size_recommended,
        "max_wide_llq_depth" => max_wide_llq_depth,
        "accel_mode.u.get.supported_flags" => accel_mode_flags,
        "accel_mode.u.get.max_tx_burst_size" => accel_mode_max_tx_burst_size,
        "accel_mode.u.set.enabled_flags" => accel_mode_flags,
    ]));
    rust.extend(layout!("ena_admin_feature_aenq_desc", FeatureAenqDesc, [
        "supported_groups" => supported_groups, "enabled_groups" => enabled_groups,
    ]));
    rust.extend(layout!("ena_admin_set_feature_host_attr_desc", SetFeatureHostAttrDesc, [
        "os_info_ba.mem_addr_low" => os_info_ba_lo, "os_info_ba.mem_addr_high" => os_info_ba_hi,
        "os_info_ba.reserved16" => os_info_ba_reserved16, "debug_ba.mem_addr_low" => debug_ba_lo,
        "debug_ba.mem_addr_high" => debug_ba_hi, "debug_ba.reserved16" => debug_ba_reserved16,
        "debug_area_size" => debug_area_size,
    ]));
    rust.extend(layout!("ena_admin_host_info", HostInfo, [
        "os_type" => os_type, "os_dist_str" => os_dist_str, "os_dist" => os_dist, "kernel_ver_str" => kernel_ver_str,
        "kernel_ver" => kernel_ver, "driver_version" => driver_version,
        "supported_network_features" => supported_network_features, "ena_spec_version" => ena_spec_version,
        "bdf" => bdf, "num_cpus" => num_cpus, "reserved" => reserved,
        "driver_supported_features" => driver_supported_features,
    ]));
    rust.extend(layout!("ena_admin_aq_create_cq_cmd", CreateCqCmd, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "cq_caps_1" => cq_caps_1, "cq_caps_2" => cq_caps_2,
        "cq_depth" => cq_depth, "msix_vector" => msix_vector, "cq_ba.mem_addr_low" => cq_ba_lo,
        "cq_ba.mem_addr_high" => cq_ba_hi, "cq_ba.reserved16" => cq_ba_reserved16,
    ]));
    rust.extend(layout!("ena_admin_acq_create_cq_resp_desc", CreateCqResp, [
        "acq_common_desc.command" => command, "acq_common_desc.status" => status, "acq_common_desc.flags" => flags,
        "acq_common_desc.extended_status" => extended_status, "acq_common_desc.sq_head_indx" => sq_head_indx,
        "cq_idx" => cq_idx, "cq_actual_depth" => cq_actual_depth,
        "numa_node_register_offset" => numa_node_register_offset,
        "cq_head_db_register_offset" => cq_head_db_register_offset,
        "cq_interrupt_unmask_register_offset" => cq_interrupt_unmask_register_offset,
    ]));
    rust.extend(layout!("ena_admin_aq_create_sq_cmd", CreateSqCmd, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "sq_identity" => sq_identity, "reserved8_w1" => reserved8_w1,
        "sq_caps_2" => sq_caps_2, "sq_caps_3" => sq_caps_3, "cq_idx" => cq_idx, "sq_depth" => sq_depth,
        "sq_ba.mem_addr_low" => sq_ba_lo, "sq_ba.mem_addr_high" => sq_ba_hi, "sq_ba.reserved16" => sq_ba_reserved16,
        "sq_head_writeback.mem_addr_low" => sq_head_writeback_lo,
        "sq_head_writeback.mem_addr_high" => sq_head_writeback_hi,
        "sq_head_writeback.reserved16" => sq_head_writeback_reserved16, "reserved0_w7" => reserved0_w7,
        "reserved0_w8" => reserved0_w8,
    ]));
    rust.extend(layout!("ena_admin_acq_create_sq_resp_desc", CreateSqResp, [
        "acq_common_desc.command" => command, "acq_common_desc.status" => status, "acq_common_desc.flags" => flags,
        "acq_common_desc.extended_status" => extended_status, "acq_common_desc.sq_head_indx" => sq_head_indx,
        "sq_idx" => sq_idx, "reserved" => reserved, "sq_doorbell_offset" => sq_doorbell_offset,
        "llq_descriptors_offset" => llq_descriptors_offset, "llq_headers_offset" => llq_headers_offset,
    ]));
    rust.extend(layout!("ena_admin_aq_destroy_sq_cmd", DestroySqCmd, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "sq.sq_idx" => sq_idx, "sq.sq_identity" => sq_identity,
        "sq.reserved1" => sq_reserved1,
    ]));
    rust.extend(layout!("ena_admin_aq_destroy_cq_cmd", DestroyCqCmd, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "cq_idx" => cq_idx, "reserved1" => reserved1,
    ]));
    rust.extend(layout!("ena_admin_aq_get_stats_cmd", GetStatsCmd, [
        "aq_common_descriptor.command_id" => command_id, "aq_common_descriptor.opcode" => opcode,
        "aq_common_descriptor.flags" => flags, "u.control_buffer.length" => control_buffer_length,
        "u.control_buffer.address.mem_addr_low" => control_buffer_lo,
        "u.control_buffer.address.mem_addr_high" => control_buffer_hi,
        "u.control_buffer.address.reserved16" => control_buffer_reserved16, "type" => stats_type,
        "scope" => scope, "reserved3" => reserved3, "queue_idx" => queue_idx, "device_id" => device_id,
        "requested_metrics" => requested_metrics,
    ]));
    rust.extend(layout!("ena_admin_basic_stats", BasicStats, [
        "tx_bytes_low" => tx_bytes_low, "tx_bytes_high" => tx_bytes_high, "tx_pkts_low" => tx_pkts_low,
        "tx_pkts_high" => tx_pkts_high, "rx_bytes_low" => rx_bytes_low, "rx_bytes_high" => rx_bytes_high,
        "rx_pkts_low" => rx_pkts_low, "rx_pkts_high" => rx_pkts_high, "rx_drops_low" => rx_drops_low,
        "rx_drops_high" => rx_drops_high, "tx_drops_low" => tx_drops_low, "tx_drops_high" => tx_drops_high,
        "rx_overruns_low" => rx_overruns_low, "rx_overruns_high" => rx_overruns_high,
    ]));
    rust.extend(layout!("ena_admin_eni_stats", EniStats, [
        "bw_in_allowance_exceeded" => bw_in_allowance_exceeded,
        "bw_out_allowance_exceeded" => bw_out_allowance_exceeded,
        "pps_allowance_exceeded" => pps_allowance_exceeded,
        "conntrack_allowance_exceeded" => conntrack_allowance_exceeded,
        "linklocal_allowance_exceeded" => linklocal_allowance_exceeded,
    ]));
    rust.extend(layout!("ena_admin_get_feature_link_desc", LinkDesc, [
        "speed" => speed, "supported" => supported, "flags" => flags,
    ]));
    rust.extend(layout!("ena_admin_set_feature_mtu_desc", MtuDesc, ["mtu" => mtu]));
    rust.extend(layout!("ena_admin_feature_rss_ind_table", RssIndTable, [
        "min_size" => min_size, "max_size" => max_size, "size" => size, "flags" => flags,
        "reserved" => reserved, "inline_index" => inline_index, "inline_entry.cq_idx" => inline_cq_idx,
        "inline_entry.reserved" => inline_reserved,
    ]));
    rust.extend(layout!("ena_admin_queue_ext_feature_desc", QueueExtFeatureDesc, [
        "version" => version, "reserved1" => reserved1,
        "max_queue_ext.max_tx_sq_num" => max_tx_sq_num, "max_queue_ext.max_tx_cq_num" => max_tx_cq_num,
        "max_queue_ext.max_rx_sq_num" => max_rx_sq_num, "max_queue_ext.max_rx_cq_num" => max_rx_cq_num,
        "max_queue_ext.max_tx_sq_depth" => max_tx_sq_depth,
        "max_queue_ext.max_tx_cq_depth" => max_tx_cq_depth,
        "max_queue_ext.max_rx_sq_depth" => max_rx_sq_depth,
        "max_queue_ext.max_rx_cq_depth" => max_rx_cq_depth,
        "max_queue_ext.max_tx_header_size" => max_tx_header_size,
        "max_queue_ext.max_per_packet_tx_descs" => max_per_packet_tx_descs,
        "max_queue_ext.max_per_packet_rx_descs" => max_per_packet_rx_descs,
    ]));
    rust.extend(layout!("ena_admin_feature_offload_desc", OffloadDesc, [
        "tx" => tx, "rx_supported" => rx_supported, "rx_enabled" => rx_enabled,
    ]));
    rust.extend(
        layout!("ena_admin_feature_intr_moder_desc", IntrModerDesc, [
            "intr_delay_resolution" => intr_delay_resolution, "reserved" => reserved,
        ]),
    );
    rust.extend(layout!("ena_admin_ena_hw_hints", HwHints, [
        "mmio_read_timeout" => mmio_read_timeout, "driver_watchdog_timeout" => driver_watchdog_timeout,
        "missing_tx_completion_timeout" => missing_tx_completion_timeout,
        "missed_tx_completion_count_threshold_to_reset" => missed_tx_completion_count_threshold_to_reset,
        "admin_completion_tx_timeout" => admin_completion_tx_timeout,
        "netdev_wd_timeout" => netdev_wd_timeout, "max_tx_sgl_size" => max_tx_sgl_size,
        "max_rx_sgl_size" => max_rx_sgl_size, "reserved" => reserved,
    ]));
    rust.extend(layout!("ena_admin_customer_metrics", CustomerMetrics, [
        "reported_metrics" => reported_metrics,
    ]));
    let c = c_layout();
    assert_eq!(
        c.len(),
        rust.len(),
        "the C and Rust field lists differ in length"
    );
    for ((cn, co, cs), (rn, ro, rs)) in c.iter().zip(rust.iter()) {
        assert_eq!((cn.as_str(), *co, *cs), (*rn, *ro, *rs), "layout differs");
    }
}

/// A random packet: mostly 1–5 buffers, now and then none or up to 16; one
/// of a few recurring offload contexts or a random one, so the meta cache
/// is both hit and missed; a header mostly within `max_header`, now and
/// then past it; a request id mostly within the queue.
fn random_tx(rng: &mut Rng, depth: u16, max_header: u16, bufs: &mut Vec<TxBuf>) -> TxIn {
    let n = if rng.chance(5) {
        0
    } else if rng.chance(2) {
        6 + rng.below(11) as usize
    } else {
        1 + rng.below(5) as usize
    };
    bufs.clear();
    let mut inp = TxIn::default();
    for i in 0..n {
        let b = TxBuf {
            paddr: rng.next(),
            len: rng.next() as u16,
        };
        inp.paddr[i] = b.paddr;
        inp.len[i] = b.len;
        bufs.push(b);
    }
    let meta = match rng.below(4) {
        0 => TxMeta {
            mss: 1448,
            l3_hdr_len: 20,
            l3_hdr_offset: 14,
            l4_hdr_len: 5,
        },
        1 => TxMeta {
            mss: 8949,
            l3_hdr_len: 40,
            l3_hdr_offset: 14,
            l4_hdr_len: 8,
        },
        _ => TxMeta {
            mss: rng.next() as u16,
            l3_hdr_len: rng.next() as u16,
            l3_hdr_offset: rng.next() as u16,
            l4_hdr_len: rng.next() as u16,
        },
    };
    inp.num_bufs = n as u16;
    inp.req_id = if rng.chance(90) {
        rng.below(depth as u64) as u16
    } else {
        rng.next() as u16
    };
    inp.header_len = if rng.chance(5) {
        max_header + 1 + rng.below(100) as u16
    } else {
        rng.below(max_header as u64 + 1) as u16
    };
    inp.mss = meta.mss;
    inp.l3_hdr_len = meta.l3_hdr_len;
    inp.l3_hdr_offset = meta.l3_hdr_offset;
    inp.l4_hdr_len = meta.l4_hdr_len;
    inp.l3_proto = rng.below(32) as u8;
    inp.l4_proto = rng.below(32) as u8;
    inp.meta_valid = rng.chance(60) as u8;
    inp.tso = rng.chance(50) as u8;
    inp.l3_csum = rng.chance(50) as u8;
    inp.l4_csum = rng.chance(50) as u8;
    inp.l4_csum_partial = rng.chance(20) as u8;
    inp.df = rng.chance(50) as u8;
    inp
}

/// The same packet as ena-core takes it.
fn ctx<'a>(inp: &TxIn, bufs: &'a [TxBuf], push_header: Option<&'a [u8]>) -> TxCtx<'a> {
    TxCtx {
        meta: TxMeta {
            mss: inp.mss,
            l3_hdr_len: inp.l3_hdr_len,
            l3_hdr_offset: inp.l3_hdr_offset,
            l4_hdr_len: inp.l4_hdr_len,
        },
        bufs,
        push_header,
        l3_proto: inp.l3_proto,
        l4_proto: inp.l4_proto,
        req_id: inp.req_id,
        header_len: inp.header_len,
        meta_valid: inp.meta_valid != 0,
        tso: inp.tso != 0,
        l3_csum: inp.l3_csum != 0,
        l4_csum: inp.l4_csum != 0,
        l4_csum_partial: inp.l4_csum_partial != 0,
        df: inp.df != 0,
    }
}

fn errno(e: Error) -> i32 {
    match e {
        Error::NoSpace => ENOMEM,
        Error::HeaderTooLarge { .. } | Error::InvalidReqId(_) | Error::NoPushHeader => EINVAL,
        Error::MalformedCompletion | Error::HeaderPastEntry => EFAULT,
        Error::NotReady => EAGAIN,
        Error::BurstExceeded => ENOSPC,
    }
}

/// The device completes some of what is in flight (always when the queue
/// runs low), on both sides alike.
fn complete_some(rng: &mut Rng, r: &mut TxQueue<HostMem, impl DeviceMemory>, c: &mut CQueues) {
    if rng.chance(30) || r.free() < 8 {
        let n = r.tail().wrapping_sub(r.next_to_comp());
        let done = if n == 0 {
            0
        } else {
            1 + rng.below(n as u64) as u16
        };
        r.ack(done);
        c.comp_ack(done);
    }
}

#[test]
fn prepare_tx_writes_the_same_descriptors_as_c() {
    let mut cases = 0;
    for (seed, depth, bits, cache_off) in [
        (1u64, 8u16, 48u8, false),
        (2, 16, 64, false),
        (3, 64, 40, true),
        (4, 1024, 48, false),
        (5, 32, 57, true),
    ] {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut c = CQueues::tx(depth, bits, 128, cache_off);
        let mut r = TxQueue::new(HostMem::new(depth as usize * 16, 0), depth, bits, 128);
        r.set_disable_meta_caching(cache_off);
        let mut bufs = Vec::new();
        for i in 0..20_000 {
            let inp = random_tx(&mut rng, depth, 128, &mut bufs);
            let cr = c.prepare_tx(&inp, None);
            let rr = r.prepare(&ctx(&inp, &bufs, None)).map_err(errno);
            assert_eq!(rr, cr, "seed {seed} packet {i}: result differs ({inp:?})");
            assert_eq!(
                (r.tail(), r.phase(), r.next_to_comp()),
                c.sq_state(),
                "seed {seed} packet {i}: state differs"
            );
            assert_eq!(
                r.ring().bytes(),
                c.sq_ring(),
                "seed {seed} packet {i}: descriptor bytes differ"
            );
            complete_some(&mut rng, &mut r, &mut c);
            cases += 1;
        }
    }
    assert_eq!(cases, 100_000);
}

/// Device memory standing for BAR2, shared with the test to read back.
#[derive(Clone)]
struct Bar2(Rc<RefCell<Vec<u8>>>);

impl DeviceMemory for Bar2 {
    fn write(&mut self, off: usize, entry: &[u8]) {
        self.0.borrow_mut()[off..off + entry.len()].copy_from_slice(entry);
    }
}

/// The Tx doorbell register: the value written last.
#[derive(Default)]
struct Doorbell(u32);

impl Registers for Doorbell {
    fn read32(&mut self, _off: u32) -> u32 {
        0
    }
    fn write32(&mut self, _off: u32, v: u32) {
        self.0 = v;
    }
}

/// Every layout `ena_com_config_llq_info` can arrive at: 128, 192 and
/// 256-byte entries; 1, 2, 4 or 8 descriptors before the header wherever a
/// header still fits after them; one descriptor per further entry or an
/// entry's worth; meta caching on and off (the device's
/// `DISABLE_META_CACHING`).
fn llq_layouts() -> Vec<LlqInfo> {
    let mut out = Vec::new();
    for (code, entry) in [
        (llq::ENTRY_SIZE_128B, 128u16),
        (llq::ENTRY_SIZE_192B, 192),
        (llq::ENTRY_SIZE_256B, 256),
    ] {
        for before in [1u16, 2, 4, 8].into_iter().filter(|b| b * 16 < entry) {
            for stride in [llq::SINGLE_DESC_PER_ENTRY, llq::MULTIPLE_DESCS_PER_ENTRY] {
                for no_cache in [false, true] {
                    out.push(LlqInfo {
                        header_location_ctrl: llq::INLINE_HEADER,
                        desc_stride_ctrl: stride,
                        desc_list_entry_size_ctrl: code,
                        desc_list_entry_size: entry,
                        descs_num_before_header: before,
                        descs_per_entry: if stride == llq::MULTIPLE_DESCS_PER_ENTRY {
                            entry / 16
                        } else {
                            1
                        },
                        max_entries_in_tx_burst: 0,
                        disable_meta_caching: no_cache,
                    });
                }
            }
        }
    }
    out
}

fn llq_in(i: &LlqInfo) -> LlqIn {
    LlqIn {
        header_location_ctrl: i.header_location_ctrl,
        desc_stride_ctrl: i.desc_stride_ctrl,
        desc_list_entry_size_ctrl: i.desc_list_entry_size_ctrl,
        desc_list_entry_size: i.desc_list_entry_size,
        descs_num_before_header: i.descs_num_before_header,
        descs_per_entry: i.descs_per_entry,
        max_entries_in_tx_burst: i.max_entries_in_tx_burst,
        disable_meta_caching: i.disable_meta_caching as u8,
    }
}

/// A device-placement Tx queue on each side, its device memory zeroed.
fn llq_pair(
    depth: u16,
    bits: u8,
    max_header: u32,
    info: &LlqInfo,
) -> (CQueues, Bar2, TxQueue<HostMem, Bar2>) {
    let bar = Bar2(Rc::new(RefCell::new(vec![
        0;
        depth as usize
            * info.desc_list_entry_size
                as usize
    ])));
    let r = TxQueue::llq(bar.clone(), 0, depth, bits, max_header, *info);
    (
        CQueues::tx_llq(depth, bits, max_header, &llq_in(info)),
        bar,
        r,
    )
}

/// Equal state: ring position, the LLQ writer's slot, slots left and burst
/// budget, the entry being built, and every entry in device memory.
fn assert_same_llq(r: &TxQueue<HostMem, Bar2>, bar: &Bar2, c: &CQueues, what: &str) {
    assert_eq!(
        (r.tail(), r.phase(), r.next_to_comp()),
        c.sq_state(),
        "{what}: ring state differs"
    );
    let l = r.llq_ring().expect("device placement");
    let ((idx, left, burst), bounce) = c.llq_state();
    assert_eq!(
        (
            l.idx(),
            l.descs_left_in_line(),
            l.entries_in_tx_burst_left()
        ),
        (idx, left, burst),
        "{what}: LLQ writer state (slot, slots left, burst left) differs"
    );
    assert_eq!(l.bounce(), bounce, "{what}: the entry being built differs");
    let entry = l.info().desc_list_entry_size as usize;
    let mem = bar.0.borrow();
    if *mem != c.dev_mem() {
        let k = (0..mem.len() / entry)
            .find(|k| mem[k * entry..(k + 1) * entry] != c.dev_mem()[k * entry..(k + 1) * entry])
            .unwrap();
        panic!(
            "{what}: device memory entry {k} differs\n  Rust {:02x?}\n  C    {:02x?}",
            &mem[k * entry..(k + 1) * entry],
            &c.dev_mem()[k * entry..(k + 1) * entry]
        );
    }
}

#[test]
fn llq_prepare_tx_writes_the_same_entries_to_device_memory_as_c() {
    let mut rng = Rng(0x11c_u64.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let (mut sent, mut entries, mut needed, mut rung) = (0u32, 0u64, 0u32, 0u32);
    let mut errors = std::collections::BTreeMap::<&str, u32>::new();
    let layouts = llq_layouts();
    assert_eq!(layouts.len(), 44);
    for (k, base) in layouts.iter().enumerate() {
        // A burst limit or none; a few the smallest packets overrun.
        let info = LlqInfo {
            max_entries_in_tx_burst: [0, 0, 1, 2, 3, 8, 16, 32][rng.below(8) as usize],
            ..*base
        };
        let depth = [8u16, 16, 32, 64, 128][rng.below(5) as usize];
        let bits = [40u8, 48, 57, 64][rng.below(4) as usize];
        // The header room the layout leaves, as ena_com sets it; in some
        // layouts more, so a header can run past the entry.
        let max_header = if rng.chance(15) {
            info.desc_list_entry_size as u32
        } else {
            info.max_header()
        };
        let (mut c, mut bar, mut r) = llq_pair(depth, bits, max_header, &info);
        let mut db = Doorbell::default();
        let mut bufs = Vec::new();
        for i in 0..2_500 {
            let what = format!("layout {k} ({info:?}, depth {depth}) packet {i}");
            let inp = random_tx(&mut rng, depth, max_header as u16, &mut bufs);
            let header: Vec<u8> = (0..inp.header_len).map(|_| rng.next() as u8).collect();
            // Now and then the caller forgets the header to push.
            let push = (!rng.chance(3)).then_some(&header[..]);
            let tx = ctx(&inp, &bufs, push);

            // ena_xmit_common: the doorbell first when the burst has no room
            // for the packet (now and then not, to meet the limit).
            let need = r.doorbell_needed(&tx);
            assert_eq!(need, c.doorbell_needed(&inp), "{what}: doorbell decision");
            if need && !rng.chance(5) {
                r.write_doorbell(&mut db);
                c.write_doorbell();
                assert_eq!(db.0, c.doorbell(), "{what}: doorbell value");
                needed += 1;
            }

            let before = r.tail();
            let result = r.prepare(&tx);
            let rr = result.map_err(errno);
            let cr = c.prepare_tx(&inp, push);
            assert_eq!(rr, cr, "{what}: result differs ({inp:?})");
            assert_same_llq(&r, &bar, &c, &what);
            match result {
                Ok(n) => {
                    assert_eq!(n, r.tail().wrapping_sub(before), "{what}: entries used");
                    sent += 1;
                    entries += n as u64;
                }
                Err(e) => {
                    let kind = match e {
                        Error::NoSpace => "no space",
                        Error::BurstExceeded => "burst exceeded",
                        Error::HeaderPastEntry => "header past the entry",
                        Error::NoPushHeader => "no push header",
                        Error::HeaderTooLarge { .. } => "header too large",
                        other => panic!("{what}: {other:?} from prepare"),
                    };
                    *errors.entry(kind).or_default() += 1;
                    if e != Error::NoSpace {
                        // Fatal for the driver: it resets the device.
                        (c, bar, r) = llq_pair(depth, bits, max_header, &info);
                        continue;
                    }
                }
            }

            // The end of a burst now and then (no more packets queued).
            if rng.chance(25) {
                r.write_doorbell(&mut db);
                c.write_doorbell();
                assert_eq!(db.0, c.doorbell(), "{what}: doorbell value");
                assert_same_llq(&r, &bar, &c, &what);
                rung += 1;
            }
            complete_some(&mut rng, &mut r, &mut c);
        }
    }
    assert!(
        sent > 70_000 && entries > 120_000 && needed > 10_000 && rung > 15_000,
        "only {sent} packets in {entries} entries, {needed} doorbells for the burst, {rung} at burst ends"
    );
    for kind in [
        "no space",
        "burst exceeded",
        "header past the entry",
        "no push header",
        "header too large",
    ] {
        assert!(
            errors.get(kind).is_some_and(|n| *n > 10),
            "{kind} exercised too rarely: {errors:?}"
        );
    }
}
#[test]
fn tx_completions_parse_as_in_c() {
    for (seed, depth) in [(11u64, 8u16), (12, 256)] {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut c = CQueues::tx(depth, 48, 128, false);
        let mut r = TxCompletions::new(HostMem::new(depth as usize * 8, 0), depth);
        let mut written: u64 = 0;
        let (mut completed, mut errors) = (0u32, 0u32);
        for i in 0..20_000 {
            // Play the device: post a completion now and then, with the
            // phase of its lap; once in a while a bad request id.
            if rng.chance(60) {
                let lap_phase = (written / depth as u64).is_multiple_of(2) as u8;
                let cd = TxCdesc {
                    req_id: if rng.chance(99) {
                        rng.below(depth as u64) as u16
                    } else {
                        depth + rng.below(2) as u16
                    },
                    status: rng.next() as u8,
                    flags: lap_phase | (rng.next() as u8 & 0b0011_1110),
                    sub_qid: rng.next() as u16,
                    sq_head_idx: rng.next() as u16,
                };
                let off = (written % depth as u64) as usize * 8;
                r.ring_mut().store(off, &cd);
                cd.encode(&mut c.cq_ring_mut()[off..off + 8]);
                written += 1;
            }
            let rr = r.next_completed().map_err(errno);
            let cr = c.tx_comp();
            assert_eq!(rr, cr, "seed {seed} step {i}");
            let (h, p, _, _) = c.cq_state();
            assert_eq!(
                (r.head(), r.phase()),
                (h, p),
                "seed {seed} step {i}: state differs"
            );
            if rr.is_err() && rr != Err(EAGAIN) {
                // A bad id makes the driver reset the queue: so do both sides.
                c = CQueues::tx(depth, 48, 128, false);
                r = TxCompletions::new(HostMem::new(depth as usize * 8, 0), depth);
                written = 0;
                errors += 1;
            } else if rr.is_ok() {
                completed += 1;
            }
        }
        assert!(
            completed > 5_000 && errors > 10,
            "seed {seed}: only {completed} completions and {errors} errors exercised"
        );
    }
}

fn rx_errno(e: Error) -> i32 {
    match e {
        Error::NoSpace => ENOSPC,
        Error::InvalidReqId(_) => EIO,
        Error::MalformedCompletion => EFAULT,
        _ => panic!("unexpected Rx error {e:?}"),
    }
}

#[test]
fn rx_descriptors_and_packets_match_c() {
    for (seed, depth, entry) in [
        (21u64, 8u16, 16u8),
        (22, 64, 16),
        (23, 16, 32),
        (24, 512, 16),
    ] {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let new_pair = || {
            (
                CQueues::rx(depth, 48, entry),
                RxQueue::new(HostMem::new(depth as usize * 16, 0), depth, 48),
                RxCompletions::new(
                    HostMem::new(depth as usize * entry as usize, 0),
                    depth,
                    entry as usize,
                ),
            )
        };
        let (mut c, mut sq, mut cq) = new_pair();
        let (mut written, mut in_pkt) = (0u64, false);
        let (mut packets, mut errors) = (0u32, 0u32);
        for i in 0..20_000 {
            // Refill: the same buffers offered to both.
            while rng.chance(70) {
                let (paddr, len, id) = (
                    rng.next(),
                    rng.next() as u16,
                    rng.below(depth as u64) as u16,
                );
                let rr = sq.add(paddr, len, id).map_err(rx_errno);
                let cr = c.rx_add(paddr, len, id);
                assert_eq!(rr, cr, "seed {seed} step {i}: add differs");
                if rr.is_err() {
                    break;
                }
            }
            assert_eq!(
                sq.ring().bytes(),
                c.sq_ring(),
                "seed {seed} step {i}: Rx descriptor bytes differ"
            );
            // The device completes buffers: packets of 1..4 completions, now
            // and then a malformed one (first bit mid-packet) or a request id
            // at or past the queue depth.
            for _ in 0..rng.below(4) {
                let lap_phase = (written / depth as u64).is_multiple_of(2) as u32;
                let last = rng.chance(45);
                let mut status =
                    (rng.next() as u32 & 0x0003_ffff & !(1 << 7) & !(1 << 17)) | (lap_phase << 24);
                if !in_pkt || rng.chance(1) {
                    status |= 1 << 26;
                }
                if last {
                    status |= 1 << 27;
                }
                let cd = RxCdesc {
                    status,
                    length: rng.next() as u16,
                    req_id: if rng.chance(99) {
                        rng.below(depth as u64) as u16
                    } else {
                        depth + rng.below(2) as u16
                    },
                    hash: rng.next() as u32,
                    sub_qid: 0,
                    offset: rng.below(64) as u8,
                    reserved: 0,
                };
                let off = (written % depth as u64) as usize * entry as usize;
                cq.ring_mut().store(off, &cd);
                cd.encode(&mut c.cq_ring_mut()[off..off + 16]);
                written += 1;
                in_pkt = !last;
            }
            let max = 1 + rng.below(4) as usize;
            let mut rb = vec![RxBuf::default(); max];
            let mut cb = vec![RxBufInfo::default(); max];
            let rr = cq.receive(&mut sq, &mut rb).map_err(rx_errno);
            let cr = c.rx_pkt(&mut cb);
            match (rr, cr) {
                (Ok(rp), Ok(cp)) => {
                    assert_eq!(
                        (
                            rp.descs,
                            rp.l3_proto,
                            rp.l4_proto,
                            rp.l3_csum_err as u8,
                            rp.l4_csum_err as u8,
                            rp.l4_csum_checked as u8,
                            rp.frag as u8,
                            rp.hash,
                            rp.pkt_offset
                        ),
                        (
                            cp.descs,
                            cp.l3_proto,
                            cp.l4_proto,
                            cp.l3_csum_err,
                            cp.l4_csum_err,
                            cp.l4_csum_checked,
                            cp.frag,
                            cp.hash,
                            cp.pkt_offset
                        ),
                        "seed {seed} step {i}: packet differs"
                    );
                    for k in 0..rp.descs as usize {
                        assert_eq!(
                            (rb[k].len, rb[k].req_id),
                            (cb[k].len, cb[k].req_id),
                            "seed {seed} step {i}: buffer {k}"
                        );
                    }
                    packets += (rp.descs > 0) as u32;
                }
                (Err(re), Err(ce)) => {
                    assert_eq!(re, ce, "seed {seed} step {i}: error differs");
                    // The driver resets the queues: so do both sides here.
                    errors += 1;
                    (c, sq, cq) = new_pair();
                    (written, in_pkt) = (0, false);
                    continue;
                }
                (a, b) => panic!("seed {seed} step {i}: Rust {a:?}, C {b:?}"),
            }
            let (h, p, _, _) = c.cq_state();
            assert_eq!(
                (cq.head(), cq.phase()),
                (h, p),
                "seed {seed} step {i}: completion state differs"
            );
            assert_eq!(
                (sq.tail(), sq.phase(), sq.next_to_comp()),
                c.sq_state(),
                "seed {seed} step {i}: Rx queue state differs"
            );
        }
        assert!(
            packets > 3_000 && errors > 10,
            "seed {seed}: only {packets} packets and {errors} errors exercised"
        );
    }
}
