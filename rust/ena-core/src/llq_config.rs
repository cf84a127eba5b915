//! Choosing the LLQ layout from what the device offers (GET_FEATURE LLQ):
//! `ena_com_config_llq_info`, fed the wishes of the Linux driver's
//! `ena_set_llq_configurations` (2.15: the header inline, two descriptors
//! before it, several descriptors per entry, 256-byte entries when the
//! device recommends them). A wish the device does not offer falls back
//! the way ena_com falls back, in the same order.

use crate::admin_defs::{llq, FeatureLlqDesc};
use crate::defs::TxDesc;
use crate::llq::LlqInfo;
use crate::wire::Wire;

/// `enum ena_llq_header_size_policy`, and "no LLQ at all" (DPDK's
/// `enable_llq=0` devarg): what bring-up asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlqPolicy {
    /// Host placement even when the device offers LLQ.
    Off,
    /// 256-byte entries when the device recommends them, else 128 (the
    /// 2.15 default, `ENA_LLQ_HEADER_SIZE_POLICY_UNSPECIFIED`).
    #[default]
    Recommended,
    /// 128-byte entries: headers up to 96 bytes.
    Normal,
    /// 256-byte entries when offered (`force_large_llq_header=1`): headers
    /// up to 224 bytes.
    Large,
}

/// `struct ena_llq_configurations`: the layout the driver would like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlqWish {
    pub header_location: u16,
    /// Entry size code, and its bytes.
    pub entry_size: u16,
    pub entry_size_value: u16,
    pub stride_ctrl: u16,
    pub descs_before_header: u16,
}

impl LlqWish {
    /// `ena_set_llq_configurations` under `policy`. Large entries need the
    /// device to offer them; left to the device, also to recommend them.
    pub fn linux_defaults(offer: &FeatureLlqDesc, policy: LlqPolicy) -> Self {
        let large_offered = offer.entry_size_ctrl_supported & llq::ENTRY_SIZE_256B != 0;
        let large = large_offered
            && match policy {
                LlqPolicy::Large => true,
                LlqPolicy::Recommended => {
                    offer.entry_size_recommended as u16 == llq::ENTRY_SIZE_256B
                }
                LlqPolicy::Normal | LlqPolicy::Off => false,
            };
        let (entry_size, entry_size_value) = if large {
            (llq::ENTRY_SIZE_256B, 256)
        } else {
            (llq::ENTRY_SIZE_128B, 128)
        };
        Self {
            header_location: llq::INLINE_HEADER,
            entry_size,
            entry_size_value,
            stride_ctrl: llq::MULTIPLE_DESCS_PER_ENTRY,
            descs_before_header: llq::DESCS_BEFORE_HEADER_2,
        }
    }
}

/// Why an offer cannot be used: the `-EINVAL`s of `ena_com_config_llq_info`
/// and `ena_com_config_dev_mode` (the driver then stays in host placement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlqConfigError {
    /// The wished header location is not offered (no fallback exists).
    HeaderLocation {
        supported: u16,
    },
    /// None of the offered strides, entry sizes or descriptor counts is one
    /// the driver knows.
    Stride {
        supported: u16,
    },
    EntrySize {
        supported: u16,
    },
    DescsBeforeHeader {
        supported: u16,
    },
    /// `__iowrite64_copy` writes 8 bytes at a time.
    EntryNotWords(u16),
    /// The descriptors before the header fill the whole entry.
    NoRoomForHeader,
}

/// The first offered of `order`, or None.
fn first_offered(supported: u16, order: &[u16]) -> Option<u16> {
    order.iter().copied().find(|v| supported & v != 0)
}

/// `ena_com_config_llq_info` (the SET_FEATURE it ends with is
/// [`set_feature_desc`], sent by the caller) and the header room check of
/// `ena_com_config_dev_mode`.
pub fn choose(offer: &FeatureLlqDesc, wish: &LlqWish) -> Result<LlqInfo, LlqConfigError> {
    use llq::*;
    let mut info = LlqInfo::default();

    let supported = offer.header_location_ctrl_supported;
    if supported & wish.header_location == 0 {
        return Err(LlqConfigError::HeaderLocation { supported });
    }
    info.header_location_ctrl = wish.header_location;

    // The stride only means something for an inline header.
    if info.header_location_ctrl == INLINE_HEADER {
        let supported = offer.descriptors_stride_ctrl_supported;
        info.desc_stride_ctrl = if supported & wish.stride_ctrl != 0 {
            wish.stride_ctrl
        } else {
            first_offered(
                supported,
                &[MULTIPLE_DESCS_PER_ENTRY, SINGLE_DESC_PER_ENTRY],
            )
            .ok_or(LlqConfigError::Stride { supported })?
        };
    }

    let supported = offer.entry_size_ctrl_supported;
    if supported & wish.entry_size != 0 {
        info.desc_list_entry_size_ctrl = wish.entry_size;
        info.desc_list_entry_size = wish.entry_size_value;
    } else {
        let code = first_offered(
            supported,
            &[ENTRY_SIZE_128B, ENTRY_SIZE_192B, ENTRY_SIZE_256B],
        )
        .ok_or(LlqConfigError::EntrySize { supported })?;
        info.desc_list_entry_size_ctrl = code;
        info.desc_list_entry_size = entry_bytes(code).unwrap_or(0) as u16;
    }
    if info.desc_list_entry_size & 0x7 != 0 {
        return Err(LlqConfigError::EntryNotWords(info.desc_list_entry_size));
    }

    info.descs_per_entry = if info.desc_stride_ctrl == MULTIPLE_DESCS_PER_ENTRY {
        info.desc_list_entry_size / TxDesc::SIZE as u16
    } else {
        1
    };

    let supported = offer.desc_num_before_header_supported;
    info.descs_num_before_header = if supported & wish.descs_before_header != 0 {
        wish.descs_before_header
    } else {
        first_offered(
            supported,
            &[
                DESCS_BEFORE_HEADER_2,
                DESCS_BEFORE_HEADER_1,
                DESCS_BEFORE_HEADER_4,
                DESCS_BEFORE_HEADER_8,
            ],
        )
        .ok_or(LlqConfigError::DescsBeforeHeader { supported })?
    };

    let flags = offer.accel_mode_flags;
    info.disable_meta_caching = flags & DISABLE_META_CACHING != 0;
    if flags & LIMIT_TX_BURST != 0 {
        // Divided by the wished entry size, not the chosen one: as ena_com.
        info.max_entries_in_tx_burst = offer
            .accel_mode_max_tx_burst_size
            .checked_div(wish.entry_size_value)
            .unwrap_or(0);
    }

    if info.max_header() == 0 {
        return Err(LlqConfigError::NoRoomForHeader);
    }
    Ok(info)
}

/// `ena_com_set_llq`: the choice in the `_enabled` fields, and both
/// accelerated-mode bits, always (the device ignores what it did not offer).
pub fn set_feature_desc(info: &LlqInfo) -> FeatureLlqDesc {
    FeatureLlqDesc {
        header_location_ctrl_enabled: info.header_location_ctrl,
        entry_size_ctrl_enabled: info.desc_list_entry_size_ctrl,
        desc_num_before_header_enabled: info.descs_num_before_header,
        descriptors_stride_ctrl_enabled: info.desc_stride_ctrl,
        accel_mode_flags: llq::DISABLE_META_CACHING | llq::LIMIT_TX_BURST,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llq::*;

    /// What a Nitro v4 card offers (the model's figures).
    fn nitro() -> FeatureLlqDesc {
        FeatureLlqDesc {
            max_llq_num: 8,
            max_llq_depth: 1024,
            header_location_ctrl_supported: INLINE_HEADER,
            entry_size_ctrl_supported: ENTRY_SIZE_128B | ENTRY_SIZE_192B | ENTRY_SIZE_256B,
            desc_num_before_header_supported: 1 | 2 | 4 | 8,
            descriptors_stride_ctrl_supported: SINGLE_DESC_PER_ENTRY | MULTIPLE_DESCS_PER_ENTRY,
            entry_size_recommended: ENTRY_SIZE_256B as u8,
            accel_mode_flags: DISABLE_META_CACHING | LIMIT_TX_BURST,
            accel_mode_max_tx_burst_size: 4096,
            ..Default::default()
        }
    }

    #[test]
    fn the_215_defaults_take_the_recommended_entry_size() {
        let offer = nitro();
        let info = choose(
            &offer,
            &LlqWish::linux_defaults(&offer, LlqPolicy::Recommended),
        )
        .unwrap();
        assert_eq!(
            info,
            LlqInfo {
                header_location_ctrl: INLINE_HEADER,
                desc_stride_ctrl: MULTIPLE_DESCS_PER_ENTRY,
                desc_list_entry_size_ctrl: ENTRY_SIZE_256B,
                desc_list_entry_size: 256,
                descs_num_before_header: 2,
                descs_per_entry: 16,
                max_entries_in_tx_burst: 16,
                disable_meta_caching: true,
            }
        );
        assert_eq!(info.max_header(), 224);
        let normal = LlqWish::linux_defaults(&offer, LlqPolicy::Normal);
        let info = choose(&offer, &normal).unwrap();
        assert_eq!(
            (
                info.desc_list_entry_size,
                info.max_header(),
                info.max_entries_in_tx_burst
            ),
            (128, 96, 32)
        );
        let small = FeatureLlqDesc {
            entry_size_recommended: ENTRY_SIZE_128B as u8,
            ..offer
        };
        let wish = LlqWish::linux_defaults(&small, LlqPolicy::Recommended);
        assert_eq!(wish.entry_size, ENTRY_SIZE_128B);
        let no_large = FeatureLlqDesc {
            entry_size_ctrl_supported: ENTRY_SIZE_128B,
            ..offer
        };
        let wish = LlqWish::linux_defaults(&no_large, LlqPolicy::Large);
        assert_eq!(wish.entry_size, ENTRY_SIZE_128B, "large only when offered");
    }

    #[test]
    fn unoffered_wishes_fall_back_in_ena_coms_order() {
        let offer = FeatureLlqDesc {
            entry_size_ctrl_supported: ENTRY_SIZE_192B | ENTRY_SIZE_256B,
            desc_num_before_header_supported: 4 | 8,
            descriptors_stride_ctrl_supported: SINGLE_DESC_PER_ENTRY,
            accel_mode_flags: 0,
            ..nitro()
        };
        let wish = LlqWish::linux_defaults(&offer, LlqPolicy::Normal);
        let info = choose(&offer, &wish).unwrap();
        assert_eq!(
            (
                info.desc_list_entry_size,
                info.descs_num_before_header,
                info.descs_per_entry,
                info.max_entries_in_tx_burst,
                info.disable_meta_caching
            ),
            (192, 4, 1, 0, false)
        );
        for (bad, err) in [
            (
                FeatureLlqDesc {
                    header_location_ctrl_supported: HEADER_RING,
                    ..nitro()
                },
                LlqConfigError::HeaderLocation {
                    supported: HEADER_RING,
                },
            ),
            (
                FeatureLlqDesc {
                    entry_size_ctrl_supported: 0,
                    ..nitro()
                },
                LlqConfigError::EntrySize { supported: 0 },
            ),
            (
                FeatureLlqDesc {
                    descriptors_stride_ctrl_supported: 0,
                    ..nitro()
                },
                LlqConfigError::Stride { supported: 0 },
            ),
            (
                FeatureLlqDesc {
                    desc_num_before_header_supported: 0,
                    ..nitro()
                },
                LlqConfigError::DescsBeforeHeader { supported: 0 },
            ),
        ] {
            let wish = LlqWish::linux_defaults(&bad, LlqPolicy::Recommended);
            assert_eq!(choose(&bad, &wish), Err(err));
        }
        let full = LlqWish {
            entry_size: ENTRY_SIZE_128B,
            entry_size_value: 128,
            descs_before_header: 8,
            ..LlqWish::linux_defaults(&nitro(), LlqPolicy::Normal)
        };
        assert_eq!(
            choose(&nitro(), &full),
            Err(LlqConfigError::NoRoomForHeader)
        );
    }

    #[test]
    fn set_feature_sends_the_choice_and_both_accelerated_bits() {
        let offer = nitro();
        let info = choose(
            &offer,
            &LlqWish::linux_defaults(&offer, LlqPolicy::Recommended),
        )
        .unwrap();
        let d = set_feature_desc(&info);
        assert_eq!(
            (
                d.header_location_ctrl_enabled,
                d.entry_size_ctrl_enabled,
                d.desc_num_before_header_enabled,
                d.descriptors_stride_ctrl_enabled,
                d.accel_mode_flags
            ),
            (
                INLINE_HEADER,
                ENTRY_SIZE_256B,
                2,
                MULTIPLE_DESCS_PER_ENTRY,
                DISABLE_META_CACHING | LIMIT_TX_BURST
            )
        );
    }
}
