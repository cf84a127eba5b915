//! The admin and AENQ formats of `ena_admin_defs.h` and `ena_common_defs.h`:
//! the 64-byte entries, the commands bring-up sends and the feature
//! descriptors it reads. Nested C structs are flattened; each field's doc
//! names its C path when it differs (`cq_ba.mem_addr_low` becomes `cq_ba_lo`).
//! Commands and responses start with their common descriptor, as in C, and
//! are zero-padded to [`ENTRY_SIZE`] on the ring.

use crate::wire::{wire_struct, Wire};

/// Every admin submission, completion and AENQ entry is 64 bytes.
pub const ENTRY_SIZE: usize = 64;

wire_struct!(
    /// `struct ena_admin_aq_entry`: one admin submission slot.
    AqEntry, 64, {
        /// `aq_common_descriptor.command_id` (11:0)
        command_id: u16,
        /// `aq_common_descriptor.opcode`
        opcode: u8,
        /// `aq_common_descriptor.flags`: phase 0, ctrl_data 1, ctrl_data_indirect 2
        flags: u8,
        /// `u.inline_data_w1`
        inline_data_w1: [u32; 3],
        inline_data_w4: [u32; 12],
    }
);

wire_struct!(
    /// `struct ena_admin_acq_entry`: one admin completion slot.
    AcqEntry, 64, {
        /// `acq_common_descriptor.command` (command id 11:0)
        command: u16,
        /// `acq_common_descriptor.status`: `enum ena_admin_aq_completion_status`
        status: u8,
        /// `acq_common_descriptor.flags`: phase 0
        flags: u8,
        /// `acq_common_descriptor.extended_status`
        extended_status: u16,
        /// `acq_common_descriptor.sq_head_indx`
        sq_head_indx: u16,
        response_specific_data: [u32; 14],
    }
);

wire_struct!(
    /// `struct ena_admin_aenq_entry`: one asynchronous event.
    AenqEntry, 64, {
        /// `aenq_common_desc.group`: `enum ena_admin_aenq_group`
        group: u16,
        /// `aenq_common_desc.syndrome`
        syndrome: u16,
        /// `aenq_common_desc.flags`: phase 0
        flags: u8,
        /// `aenq_common_desc.reserved1`
        reserved1: [u8; 3],
        /// `aenq_common_desc.timestamp_low`
        timestamp_low: u32,
        /// `aenq_common_desc.timestamp_high`
        timestamp_high: u32,
        inline_data_w4: [u32; 12],
    }
);

wire_struct!(
    /// `struct ena_admin_get_feat_cmd` (and `set_feat_cmd`: same layout, `u`
    /// as raw dwords).
    FeatCmd, 64, {
        command_id: u16,
        opcode: u8,
        flags: u8,
        /// `control_buffer.length`
        control_buffer_length: u32,
        /// `control_buffer.address.mem_addr_low`
        control_buffer_lo: u32,
        /// `control_buffer.address.mem_addr_high`
        control_buffer_hi: u16,
        /// `control_buffer.address.reserved16`
        control_buffer_reserved16: u16,
        /// `feat_common.flags`
        feat_flags: u8,
        /// `feat_common.feature_id`: `enum ena_admin_aq_feature_id`
        feature_id: u8,
        /// `feat_common.feature_version`
        feature_version: u8,
        /// `feat_common.reserved8`
        feat_reserved8: u8,
        /// `raw` / `u.raw`: the feature's own descriptor
        raw: [u32; 11],
    }
);

wire_struct!(
    /// `struct ena_admin_device_attr_feature_desc`: what the device is.
    DeviceAttrFeatureDesc, 36, {
        impl_id: u32,
        device_version: u32,
        supported_features: u32,
        capabilities: u32,
        phys_addr_width: u32,
        virt_addr_width: u32,
        mac_addr: [u8; 6],
        flow_steering_max_entries: u16,
        max_mtu: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_queue_feature_desc`: MAX_QUEUES_NUM.
    QueueFeatureDesc, 32, {
        max_sq_num: u32,
        max_sq_depth: u32,
        max_cq_num: u32,
        max_cq_depth: u32,
        max_legacy_llq_num: u32,
        max_legacy_llq_depth: u32,
        max_header_size: u32,
        max_packet_tx_descs: u16,
        max_packet_rx_descs: u16,
    }
);

wire_struct!(
    /// `struct ena_admin_feature_llq_desc`: LLQ, the device-placement Tx
    /// queues. GET reads what the device supports (bit fields of the
    /// [`llq`] enums), SET sends the driver's choice in the `_enabled`
    /// fields. `accel_mode` is `supported_flags` and `max_tx_burst_size`
    /// on GET, `enabled_flags` on SET.
    FeatureLlqDesc, 36, {
        max_llq_num: u32,
        max_llq_depth: u32,
        header_location_ctrl_supported: u16,
        header_location_ctrl_enabled: u16,
        entry_size_ctrl_supported: u16,
        entry_size_ctrl_enabled: u16,
        desc_num_before_header_supported: u16,
        desc_num_before_header_enabled: u16,
        descriptors_stride_ctrl_supported: u16,
        descriptors_stride_ctrl_enabled: u16,
        feature_version: u8,
        /// `enum ena_admin_llq_ring_entry_size`: what the device would rather have
        entry_size_recommended: u8,
        /// 0 when the device has no own limit for 256-byte entries
        max_wide_llq_depth: u16,
        /// `accel_mode.u.get.supported_flags` / `u.set.enabled_flags`
        accel_mode_flags: u16,
        /// `accel_mode.u.get.max_tx_burst_size`, in bytes
        accel_mode_max_tx_burst_size: u16,
        accel_mode_reserved: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_feature_aenq_desc`: AENQ_CONFIG.
    FeatureAenqDesc, 8, {
        supported_groups: u32,
        enabled_groups: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_set_feature_host_attr_desc`: where the host info page is.
    SetFeatureHostAttrDesc, 20, {
        /// `os_info_ba.mem_addr_low`
        os_info_ba_lo: u32,
        /// `os_info_ba.mem_addr_high`
        os_info_ba_hi: u16,
        /// `os_info_ba.reserved16`
        os_info_ba_reserved16: u16,
        /// `debug_ba.mem_addr_low`
        debug_ba_lo: u32,
        /// `debug_ba.mem_addr_high`
        debug_ba_hi: u16,
        /// `debug_ba.reserved16`
        debug_ba_reserved16: u16,
        debug_area_size: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_host_info`: the page the device reads about the host.
    HostInfo, 196, {
        /// `enum ena_admin_os_type`
        os_type: u32,
        os_dist_str: [u8; 128],
        os_dist: u32,
        kernel_ver_str: [u8; 32],
        kernel_ver: u32,
        /// major 7:0, minor 15:8, sub_minor 23:16, module_type 31:24
        driver_version: u32,
        supported_network_features: [u32; 2],
        ena_spec_version: u16,
        bdf: u16,
        num_cpus: u16,
        reserved: u16,
        driver_supported_features: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_aq_create_cq_cmd`
    CreateCqCmd, 20, {
        command_id: u16,
        opcode: u8,
        flags: u8,
        /// interrupt_mode_enabled 5
        cq_caps_1: u8,
        /// cq_entry_size_words 4:0
        cq_caps_2: u8,
        cq_depth: u16,
        msix_vector: u32,
        /// `cq_ba.mem_addr_low`
        cq_ba_lo: u32,
        /// `cq_ba.mem_addr_high`
        cq_ba_hi: u16,
        /// `cq_ba.reserved16`
        cq_ba_reserved16: u16,
    }
);

wire_struct!(
    /// `struct ena_admin_acq_create_cq_resp_desc`
    CreateCqResp, 24, {
        command: u16,
        status: u8,
        flags: u8,
        extended_status: u16,
        sq_head_indx: u16,
        cq_idx: u16,
        cq_actual_depth: u16,
        numa_node_register_offset: u32,
        cq_head_db_register_offset: u32,
        cq_interrupt_unmask_register_offset: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_aq_create_sq_cmd`
    CreateSqCmd, 36, {
        command_id: u16,
        opcode: u8,
        flags: u8,
        /// sq_direction 7:5
        sq_identity: u8,
        reserved8_w1: u8,
        /// placement_policy 3:0, completion_policy 6:4
        sq_caps_2: u8,
        /// is_physically_contiguous 0
        sq_caps_3: u8,
        cq_idx: u16,
        sq_depth: u16,
        /// `sq_ba.mem_addr_low`
        sq_ba_lo: u32,
        /// `sq_ba.mem_addr_high`
        sq_ba_hi: u16,
        /// `sq_ba.reserved16`
        sq_ba_reserved16: u16,
        /// `sq_head_writeback.mem_addr_low`
        sq_head_writeback_lo: u32,
        /// `sq_head_writeback.mem_addr_high`
        sq_head_writeback_hi: u16,
        /// `sq_head_writeback.reserved16`
        sq_head_writeback_reserved16: u16,
        reserved0_w7: u32,
        reserved0_w8: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_acq_create_sq_resp_desc`
    CreateSqResp, 24, {
        command: u16,
        status: u8,
        flags: u8,
        extended_status: u16,
        sq_head_indx: u16,
        sq_idx: u16,
        reserved: u16,
        sq_doorbell_offset: u32,
        llq_descriptors_offset: u32,
        llq_headers_offset: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_aq_destroy_sq_cmd`
    DestroySqCmd, 8, {
        command_id: u16,
        opcode: u8,
        flags: u8,
        /// `sq.sq_idx`
        sq_idx: u16,
        /// `sq.sq_identity`: sq_direction 7:5
        sq_identity: u8,
        /// `sq.reserved1`
        sq_reserved1: u8,
    }
);

wire_struct!(
    /// `struct ena_admin_aq_destroy_cq_cmd`
    DestroyCqCmd, 8, {
        command_id: u16,
        opcode: u8,
        flags: u8,
        cq_idx: u16,
        reserved1: u16,
    }
);

wire_struct!(
    /// `struct ena_admin_aq_get_stats_cmd`
    GetStatsCmd, 32, {
        command_id: u16,
        opcode: u8,
        flags: u8,
        /// `u.control_buffer.length`
        control_buffer_length: u32,
        /// `u.control_buffer.address.mem_addr_low`
        control_buffer_lo: u32,
        /// `u.control_buffer.address.mem_addr_high`
        control_buffer_hi: u16,
        /// `u.control_buffer.address.reserved16`
        control_buffer_reserved16: u16,
        /// `enum ena_admin_get_stats_type`
        stats_type: u8,
        /// `enum ena_admin_get_stats_scope`
        scope: u8,
        reserved3: u16,
        queue_idx: u16,
        device_id: u16,
        requested_metrics: u64,
    }
);

wire_struct!(
    /// `struct ena_admin_basic_stats`: `u.basic_stats` of a GET_STATS
    /// response, each counter low dword first.
    BasicStats, 56, {
        tx_bytes_low: u32,
        tx_bytes_high: u32,
        tx_pkts_low: u32,
        tx_pkts_high: u32,
        rx_bytes_low: u32,
        rx_bytes_high: u32,
        rx_pkts_low: u32,
        rx_pkts_high: u32,
        rx_drops_low: u32,
        rx_drops_high: u32,
        tx_drops_low: u32,
        tx_drops_high: u32,
        rx_overruns_low: u32,
        rx_overruns_high: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_eni_stats`: `u.eni_stats`, what EC2 shaped.
    EniStats, 40, {
        bw_in_allowance_exceeded: u64,
        bw_out_allowance_exceeded: u64,
        pps_allowance_exceeded: u64,
        conntrack_allowance_exceeded: u64,
        linklocal_allowance_exceeded: u64,
    }
);

wire_struct!(
    /// `struct ena_admin_get_feature_link_desc`: LINK_CONFIG.
    LinkDesc, 12, {
        /// Mb/s
        speed: u32,
        /// `enum ena_admin_link_types` bits
        supported: u32,
        /// autoneg 0, duplex (full) 1
        flags: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_set_feature_mtu_desc`: MTU, L2 excluded.
    MtuDesc, 4, {
        mtu: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_feature_rss_ind_table`: RSS_INDIRECTION_TABLE_CONFIG.
    RssIndTable, 16, {
        /// log2 of the smallest table
        min_size: u16,
        max_size: u16,
        /// log2 of the table set
        size: u16,
        /// one_entry_update 0
        flags: u8,
        reserved: u8,
        /// the inline entry's index; u32::MAX: none, the table is in the
        /// control buffer
        inline_index: u32,
        /// `inline_entry.cq_idx`
        inline_cq_idx: u16,
        /// `inline_entry.reserved`
        inline_reserved: u16,
    }
);

wire_struct!(
    /// `struct ena_admin_queue_ext_feature_desc`: MAX_QUEUES_EXT (version 1),
    /// Tx and Rx queues counted and sized apart (`max_queue_ext.*`).
    QueueExtFeatureDesc, 44, {
        version: u8,
        reserved1: [u8; 3],
        max_tx_sq_num: u32,
        max_tx_cq_num: u32,
        max_rx_sq_num: u32,
        max_rx_cq_num: u32,
        max_tx_sq_depth: u32,
        max_tx_cq_depth: u32,
        max_rx_sq_depth: u32,
        max_rx_cq_depth: u32,
        max_tx_header_size: u32,
        /// meta descriptor included
        max_per_packet_tx_descs: u16,
        max_per_packet_rx_descs: u16,
    }
);

wire_struct!(
    /// `struct ena_admin_feature_offload_desc`: STATELESS_OFFLOAD_CONFIG,
    /// [`offload`] bits.
    OffloadDesc, 12, {
        tx: u32,
        rx_supported: u32,
        rx_enabled: u32,
    }
);

wire_struct!(
    /// `struct ena_admin_feature_intr_moder_desc`: INTERRUPT_MODERATION.
    IntrModerDesc, 4, {
        /// microseconds per unit of the unmask register's delays
        intr_delay_resolution: u16,
        reserved: u16,
    }
);

wire_struct!(
    /// `struct ena_admin_ena_hw_hints`: HW_HINTS, and the data of an
    /// UPDATE_HINTS notification. Timeouts in ms; 0xffff: none.
    HwHints, 32, {
        mmio_read_timeout: u16,
        driver_watchdog_timeout: u16,
        missing_tx_completion_timeout: u16,
        missed_tx_completion_count_threshold_to_reset: u16,
        admin_completion_tx_timeout: u16,
        netdev_wd_timeout: u16,
        max_tx_sgl_size: u16,
        max_rx_sgl_size: u16,
        reserved: [u16; 8],
    }
);

wire_struct!(
    /// `struct ena_admin_customer_metrics`: `u.customer_metrics` of a
    /// GET_STATS response, the metrics reported (one bit each, in
    /// `enum ena_admin_customer_metrics_id` order).
    CustomerMetrics, 8, {
        reported_metrics: u64,
    }
);

/// `ENA_ADMIN_FEATURE_OFFLOAD_DESC_*`
pub mod offload {
    pub const TX_L3_CSUM_IPV4: u32 = 1 << 0;
    /// The checksum field holds the pseudo-header sum; the device finishes it.
    pub const TX_L4_IPV4_CSUM_PART: u32 = 1 << 1;
    pub const TX_L4_IPV6_CSUM_PART: u32 = 1 << 3;
    pub const RX_L3_CSUM_IPV4: u32 = 1 << 0;
    pub const RX_L4_IPV4_CSUM: u32 = 1 << 1;
    pub const RX_L4_IPV6_CSUM: u32 = 1 << 2;
    pub const RX_HASH: u32 = 1 << 3;
}

/// `driver_supported_features` bits of the host info page.
pub mod host_feature {
    pub const RX_OFFSET: u32 = 1 << 1;
    pub const INTERRUPT_MODERATION: u32 = 1 << 2;
}

impl BasicStats {
    /// The six counters, as the device keeps them.
    pub fn new(
        tx_bytes: u64,
        tx_pkts: u64,
        rx_bytes: u64,
        rx_pkts: u64,
        rx_drops: u64,
        tx_drops: u64,
    ) -> Self {
        Self {
            tx_bytes_low: tx_bytes as u32,
            tx_bytes_high: (tx_bytes >> 32) as u32,
            tx_pkts_low: tx_pkts as u32,
            tx_pkts_high: (tx_pkts >> 32) as u32,
            rx_bytes_low: rx_bytes as u32,
            rx_bytes_high: (rx_bytes >> 32) as u32,
            rx_pkts_low: rx_pkts as u32,
            rx_pkts_high: (rx_pkts >> 32) as u32,
            rx_drops_low: rx_drops as u32,
            rx_drops_high: (rx_drops >> 32) as u32,
            tx_drops_low: tx_drops as u32,
            tx_drops_high: (tx_drops >> 32) as u32,
            rx_overruns_low: 0,
            rx_overruns_high: 0,
        }
    }
}

/// `ENA_ADMIN_AQ_CREATE_CQ_CMD_*`
pub mod create_cq {
    pub const INTERRUPT_MODE_ENABLED_MASK: u8 = 1 << 5;
    pub const CQ_ENTRY_SIZE_WORDS_MASK: u8 = 0x1f;
}

/// `ENA_ADMIN_AQ_CREATE_SQ_CMD_*` and `enum ena_admin_placement_policy_type`,
/// `ena_admin_completion_policy_type`, `ena_admin_q_direction`.
pub mod create_sq {
    pub const SQ_DIRECTION_SHIFT: u8 = 5;
    pub const SQ_DIRECTION_MASK: u8 = 0x7 << 5;
    pub const PLACEMENT_POLICY_MASK: u8 = 0xf;
    pub const COMPLETION_POLICY_SHIFT: u8 = 4;
    pub const COMPLETION_POLICY_MASK: u8 = 0x7 << 4;
    pub const IS_PHYSICALLY_CONTIGUOUS_MASK: u8 = 1;
    pub const PLACEMENT_HOST: u8 = 1;
    pub const PLACEMENT_DEV: u8 = 3;
    pub const COMPLETION_DESC: u8 = 0;
    pub const DIRECTION_TX: u8 = 1;
    pub const DIRECTION_RX: u8 = 2;
}

/// The LLQ enums of `ena_admin_defs.h`; each value is also its bit in the
/// `_supported` fields.
pub mod llq {
    /// `enum ena_admin_llq_header_location`
    pub const INLINE_HEADER: u16 = 1;
    pub const HEADER_RING: u16 = 2;
    /// `enum ena_admin_llq_ring_entry_size`
    pub const ENTRY_SIZE_128B: u16 = 1;
    pub const ENTRY_SIZE_192B: u16 = 2;
    pub const ENTRY_SIZE_256B: u16 = 4;
    /// `enum ena_admin_llq_num_descs_before_header`: the value is the count
    pub const DESCS_BEFORE_HEADER_0: u16 = 0;
    pub const DESCS_BEFORE_HEADER_1: u16 = 1;
    pub const DESCS_BEFORE_HEADER_2: u16 = 2;
    pub const DESCS_BEFORE_HEADER_4: u16 = 4;
    pub const DESCS_BEFORE_HEADER_8: u16 = 8;
    /// `enum ena_admin_llq_stride_ctrl`
    pub const SINGLE_DESC_PER_ENTRY: u16 = 1;
    pub const MULTIPLE_DESCS_PER_ENTRY: u16 = 2;
    /// `enum ena_admin_accel_mode_feat`, as bits
    pub const DISABLE_META_CACHING: u16 = 1 << 0;
    pub const LIMIT_TX_BURST: u16 = 1 << 1;
    /// `ENA_ADMIN_LLQ_FEATURE_VERSION_1`
    pub const FEATURE_VERSION_1: u8 = 1;

    /// The bytes of an entry size code, None for a code that is not one size.
    pub fn entry_bytes(code: u16) -> Option<usize> {
        match code {
            ENTRY_SIZE_128B => Some(128),
            ENTRY_SIZE_192B => Some(192),
            ENTRY_SIZE_256B => Some(256),
            _ => None,
        }
    }
}

/// `enum ena_admin_os_type`
pub const OS_LINUX: u32 = 1;

/// Encodes a wire struct into a zeroed 64-byte entry.
pub fn to_entry<T: Wire>(v: &T) -> [u8; ENTRY_SIZE] {
    let mut e = [0u8; ENTRY_SIZE];
    v.encode(&mut e[..T::SIZE]);
    e
}

/// A feature descriptor as the raw dwords of a command's `u.raw` union.
pub fn to_raw<T: Wire, const N: usize>(v: &T) -> [u32; N] {
    let mut b = [0u8; ENTRY_SIZE];
    v.encode(&mut b[..T::SIZE]);
    core::array::from_fn(|i| {
        u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    })
}

/// Splits a 64-bit bus address the way `ena_com_mem_addr_set` does: the low
/// 32 bits and the next 16 (ENA addresses are at most 48 bits wide).
pub fn split_addr(addr: u64) -> (u32, u16) {
    (addr as u32, (addr >> 32) as u16)
}

/// The inverse of [`split_addr`].
pub fn join_addr(lo: u32, hi: u16) -> u64 {
    lo as u64 | (hi as u64) << 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_sq_encodes_fields_at_their_c_offsets() {
        let c = CreateSqCmd {
            opcode: 1,
            sq_identity: 1 << 5,
            cq_idx: 0x0203,
            sq_depth: 0x0405,
            sq_ba_lo: 0x0a0b0c0d,
            sq_ba_hi: 0x0e0f,
            ..Default::default()
        };
        let e = to_entry(&c);
        assert_eq!(e[2], 1);
        assert_eq!(e[4], 0x20);
        assert_eq!(&e[8..12], &[0x03, 0x02, 0x05, 0x04]);
        assert_eq!(&e[12..18], &[0x0d, 0x0c, 0x0b, 0x0a, 0x0f, 0x0e]);
        assert!(
            e[36..].iter().all(|&b| b == 0),
            "padding to 64 bytes stays zero"
        );
        assert_eq!(CreateSqCmd::decode(&e), c);
    }

    #[test]
    fn device_attributes_decode_mac_and_mtu() {
        let mut b = [0u8; 36];
        b[24..30].copy_from_slice(&[2, 0, 0, 0xaa, 0xbb, 0xcc]);
        b[32..36].copy_from_slice(&9001u32.to_le_bytes());
        let d = DeviceAttrFeatureDesc::decode(&b);
        assert_eq!(d.mac_addr, [2, 0, 0, 0xaa, 0xbb, 0xcc]);
        assert_eq!(d.max_mtu, 9001);
    }

    #[test]
    fn addresses_split_into_32_and_16_bits() {
        let a = 0x0000_1234_5678_9abc;
        assert_eq!(split_addr(a), (0x5678_9abc, 0x1234));
        assert_eq!(join_addr(0x5678_9abc, 0x1234), a);
    }
}
