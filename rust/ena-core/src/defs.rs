//! The IO descriptors and completions of `ena_eth_io_defs.h`, with their bit
//! fields named as in the C header.

use crate::wire::wire_struct;

wire_struct!(
    /// `struct ena_eth_io_tx_desc`: one buffer of a packet to send.
    TxDesc, 16, {
        /// length 15:0, req_id_hi 21:16, meta_desc 23, phase 24, first 26, last 27, comp_req 28
        len_ctrl: u32,
        /// l3_proto_idx 3:0, DF 4, tso_en 7, l4_proto_idx 12:8, l3_csum_en 13, l4_csum_en 14,
        /// ethernet_fcs_dis 15, l4_csum_partial 17, req_id_lo 31:22
        meta_ctrl: u32,
        buff_addr_lo: u32,
        /// addr_hi 15:0, header_length 31:24
        buff_addr_hi_hdr_sz: u32,
    }
);

wire_struct!(
    /// `struct ena_eth_io_tx_meta_desc`: offload metadata ahead of a packet.
    TxMetaDesc, 16, {
        /// req_id_lo 9:0, ext_valid 14, mss_hi 19:16, eth_meta_type 20, meta_store 21,
        /// meta_desc 23, phase 24, first 26, last 27, comp_req 28
        len_ctrl: u32,
        /// req_id_hi 5:0
        word1: u32,
        /// l3_hdr_len 7:0, l3_hdr_off 15:8, l4_hdr_len_in_words 21:16, mss_lo 31:22
        word2: u32,
        reserved: u32,
    }
);

wire_struct!(
    /// `struct ena_eth_io_tx_cdesc`: the device is done with a packet.
    TxCdesc, 8, {
        req_id: u16,
        status: u8,
        /// phase 0, mbz6 7:6
        flags: u8,
        sub_qid: u16,
        sq_head_idx: u16,
    }
);

wire_struct!(
    /// `struct ena_eth_io_rx_desc`: an empty buffer for the device to fill.
    RxDesc, 16, {
        length: u16,
        reserved2: u8,
        /// phase 0, first 2, last 3, comp_req 4
        ctrl: u8,
        req_id: u16,
        reserved6: u16,
        buff_addr_lo: u32,
        buff_addr_hi: u16,
        reserved16_w3: u16,
    }
);

wire_struct!(
    /// `struct ena_eth_io_rx_cdesc_base`: the device filled a buffer.
    RxCdesc, 16, {
        /// l3_proto_idx 4:0, src_vlan_cnt 6:5, mbz7 7, l4_proto_idx 12:8, l3_csum_err 13,
        /// l4_csum_err 14, ipv4_frag 15, l4_csum_checked 16, mbz17 17, phase 24, l3_csum2 25,
        /// first 26, last 27, buffer 30
        status: u32,
        length: u16,
        req_id: u16,
        hash: u32,
        sub_qid: u16,
        offset: u8,
        reserved: u8,
    }
);

/// `ENA_ETH_IO_TX_DESC_*`
pub mod tx_desc {
    pub const LENGTH_MASK: u32 = 0xffff;
    pub const REQ_ID_HI_SHIFT: u32 = 16;
    pub const REQ_ID_HI_MASK: u32 = 0x3f << 16;
    pub const META_DESC_MASK: u32 = 1 << 23;
    pub const PHASE_SHIFT: u32 = 24;
    pub const PHASE_MASK: u32 = 1 << 24;
    pub const FIRST_MASK: u32 = 1 << 26;
    pub const LAST_MASK: u32 = 1 << 27;
    pub const COMP_REQ_MASK: u32 = 1 << 28;
    pub const L3_PROTO_IDX_MASK: u32 = 0xf;
    pub const DF_SHIFT: u32 = 4;
    pub const DF_MASK: u32 = 1 << 4;
    pub const TSO_EN_SHIFT: u32 = 7;
    pub const TSO_EN_MASK: u32 = 1 << 7;
    pub const L4_PROTO_IDX_SHIFT: u32 = 8;
    pub const L4_PROTO_IDX_MASK: u32 = 0x1f << 8;
    pub const L3_CSUM_EN_SHIFT: u32 = 13;
    pub const L3_CSUM_EN_MASK: u32 = 1 << 13;
    pub const L4_CSUM_EN_SHIFT: u32 = 14;
    pub const L4_CSUM_EN_MASK: u32 = 1 << 14;
    pub const L4_CSUM_PARTIAL_SHIFT: u32 = 17;
    pub const L4_CSUM_PARTIAL_MASK: u32 = 1 << 17;
    pub const REQ_ID_LO_SHIFT: u32 = 22;
    pub const REQ_ID_LO_MASK: u32 = 0x3ff << 22;
    pub const ADDR_HI_MASK: u32 = 0xffff;
    pub const HEADER_LENGTH_SHIFT: u32 = 24;
    pub const HEADER_LENGTH_MASK: u32 = 0xff << 24;
}

/// `ENA_ETH_IO_TX_META_DESC_*`
pub mod tx_meta_desc {
    pub const EXT_VALID_MASK: u32 = 1 << 14;
    pub const MSS_HI_SHIFT: u32 = 16;
    pub const MSS_HI_MASK: u32 = 0xf << 16;
    pub const ETH_META_TYPE_MASK: u32 = 1 << 20;
    pub const META_STORE_MASK: u32 = 1 << 21;
    pub const META_DESC_MASK: u32 = 1 << 23;
    pub const PHASE_SHIFT: u32 = 24;
    pub const PHASE_MASK: u32 = 1 << 24;
    pub const FIRST_MASK: u32 = 1 << 26;
    pub const L3_HDR_LEN_MASK: u32 = 0xff;
    pub const L3_HDR_OFF_SHIFT: u32 = 8;
    pub const L3_HDR_OFF_MASK: u32 = 0xff << 8;
    pub const L4_HDR_LEN_IN_WORDS_SHIFT: u32 = 16;
    pub const L4_HDR_LEN_IN_WORDS_MASK: u32 = 0x3f << 16;
    pub const MSS_LO_SHIFT: u32 = 22;
    pub const MSS_LO_MASK: u32 = 0x3ff << 22;
}

/// `ENA_ETH_IO_TX_CDESC_*`
pub mod tx_cdesc {
    pub const PHASE_MASK: u8 = 1;
    pub const MBZ6_MASK: u8 = 0b1100_0000;
}

/// `ENA_ETH_IO_RX_DESC_*`
pub mod rx_desc {
    pub const PHASE_MASK: u8 = 1;
    pub const FIRST_MASK: u8 = 1 << 2;
    pub const LAST_MASK: u8 = 1 << 3;
    pub const COMP_REQ_MASK: u8 = 1 << 4;
}

/// `ENA_ETH_IO_RX_CDESC_BASE_*`
pub mod rx_cdesc {
    pub const L3_PROTO_IDX_MASK: u32 = 0x1f;
    pub const MBZ7_MASK: u32 = 1 << 7;
    pub const L4_PROTO_IDX_SHIFT: u32 = 8;
    pub const L4_PROTO_IDX_MASK: u32 = 0x1f << 8;
    pub const L3_CSUM_ERR_MASK: u32 = 1 << 13;
    pub const L4_CSUM_ERR_MASK: u32 = 1 << 14;
    pub const IPV4_FRAG_MASK: u32 = 1 << 15;
    pub const L4_CSUM_CHECKED_MASK: u32 = 1 << 16;
    pub const MBZ17_MASK: u32 = 1 << 17;
    pub const PHASE_SHIFT: u32 = 24;
    pub const PHASE_MASK: u32 = 1 << 24;
    pub const FIRST_MASK: u32 = 1 << 26;
    pub const LAST_MASK: u32 = 1 << 27;
    /// The completion is for a buffer (0: a metadata descriptor).
    pub const BUFFER_MASK: u32 = 1 << 30;
}

/// `enum ena_eth_io_l3_proto_index` / `l4_proto_index` values the driver uses.
pub mod proto {
    pub const L3_IPV4: u8 = 8;
    pub const L3_IPV6: u8 = 11;
    pub const L4_TCP: u8 = 12;
    pub const L4_UDP: u8 = 13;
}
