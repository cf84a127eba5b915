//! Stateless offloads, as STATELESS_OFFLOAD_CONFIG offers them: on Tx the
//! device finishes the L4 checksum the driver left partial (the pseudo
//! header's sum already in the field, `ena_tx_csum`) at the place the meta
//! descriptor names; on Rx it tells the driver what each frame is (L3 and L4
//! protocol, fragment) and whether its checksums hold, the fields
//! `ena_com_rx_set_flags` reads and `ena_rx_checksum` acts on.

use ena_core::admin_defs::offload;
use ena_core::defs::{proto, rx_cdesc, tx_desc, tx_meta_desc, TxDesc};

/// What the device offers: IPv4 and IPv6 L4 checksums finished on Tx (no
/// TSO, as on EC2); every checksum checked and the hash computed on Rx.
pub(super) const TX_OFFLOADS: u32 =
    offload::TX_L3_CSUM_IPV4 | offload::TX_L4_IPV4_CSUM_PART | offload::TX_L4_IPV6_CSUM_PART;
pub(super) const RX_OFFLOADS: u32 = offload::RX_L3_CSUM_IPV4
    | offload::RX_L4_IPV4_CSUM
    | offload::RX_L4_IPV6_CSUM
    | offload::RX_HASH;

const ETH_HLEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// `struct ena_com_tx_meta` as a meta descriptor carries it, kept by the
/// queue when the descriptor says META_STORE (the driver then omits it
/// while it does not change: meta caching).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TxMeta {
    pub l3_hdr_len: usize,
    pub l3_hdr_off: usize,
    pub store: bool,
}

impl TxMeta {
    pub fn decode(d: &TxDesc) -> Self {
        // Word 2 of `ena_eth_io_tx_meta_desc` is where a data descriptor
        // keeps its buffer's low address.
        let w2 = d.buff_addr_lo;
        Self {
            l3_hdr_len: (w2 & tx_meta_desc::L3_HDR_LEN_MASK) as usize,
            l3_hdr_off: ((w2 & tx_meta_desc::L3_HDR_OFF_MASK) >> tx_meta_desc::L3_HDR_OFF_SHIFT)
                as usize,
            store: d.len_ctrl & tx_meta_desc::META_STORE_MASK != 0,
        }
    }
}

/// What a packet's first data descriptor asks of the device (`meta_ctrl`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TxRequest {
    pub l3_proto: u8,
    pub l4_proto: u8,
    pub l3_csum: bool,
    pub l4_csum: bool,
    pub l4_partial: bool,
}

impl TxRequest {
    pub fn decode(d: &TxDesc) -> Self {
        let m = d.meta_ctrl;
        Self {
            l3_proto: (m & tx_desc::L3_PROTO_IDX_MASK) as u8,
            l4_proto: ((m & tx_desc::L4_PROTO_IDX_MASK) >> tx_desc::L4_PROTO_IDX_SHIFT) as u8,
            l3_csum: m & tx_desc::L3_CSUM_EN_MASK != 0,
            l4_csum: m & tx_desc::L4_CSUM_EN_MASK != 0,
            l4_partial: m & tx_desc::L4_CSUM_PARTIAL_MASK != 0,
        }
    }
}

/// Ones' complement sum of `data` as big-endian 16-bit words, on `acc`.
fn sum(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        acc += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        acc += (*b as u32) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Where a TCP or UDP header keeps its checksum.
fn l4_csum_at(l4_proto: u8) -> Option<usize> {
    match l4_proto {
        proto::L4_TCP => Some(16),
        proto::L4_UDP => Some(6),
        _ => None,
    }
}

/// The device's part of Tx checksum offload, on the frame about to leave.
/// A request the frame cannot satisfy (no meta, headers past its end) is
/// sent as it is: the peer's checksum check then refuses it, as a
/// receiver of a broken packet from hardware would.
pub(super) fn finish_tx_checksums(frame: &mut [u8], req: TxRequest, meta: Option<TxMeta>) {
    let Some(m) = meta else { return };
    let l4 = m.l3_hdr_off + m.l3_hdr_len;
    if req.l3_csum && req.l3_proto == proto::L3_IPV4 && l4 <= frame.len() {
        let ip = &mut frame[m.l3_hdr_off..l4];
        ip[10..12].fill(0);
        let c = !fold(sum(ip, 0));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    if !req.l4_csum || !req.l4_partial {
        return;
    }
    let (Some(at), Some(end)) = (l4_csum_at(req.l4_proto), ip_end(frame, m.l3_hdr_off)) else {
        return;
    };
    if l4 + at + 2 > end {
        return;
    }
    // The field holds the pseudo header's sum: summing over it finishes it.
    let mut c = !fold(sum(&frame[l4..end], 0));
    if c == 0 && req.l4_proto == proto::L4_UDP {
        c = 0xffff; // UDP's "no checksum" is 0
    }
    frame[l4 + at..l4 + at + 2].copy_from_slice(&c.to_be_bytes());
}

/// The end of the IP packet that starts at `l3` (frames may be padded).
fn ip_end(frame: &[u8], l3: usize) -> Option<usize> {
    let ip = frame.get(l3..)?;
    let len = match ip.first()? >> 4 {
        4 => u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]) as usize,
        6 => 40 + u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]) as usize,
        _ => return None,
    };
    (len <= ip.len()).then_some(l3 + len)
}

/// The status bits of a received frame's completions (`rx_cdesc_base`):
/// L3 and L4 protocol indices, the IPv4 fragment bit, and the checksum
/// verdicts. A checksum is checked only where the header defines the
/// verdict: the IPv4 header's always, the L4 one for whole TCP/UDP
/// packets (a UDP checksum of 0 was never computed: left unchecked).
pub(super) fn rx_status(frame: &[u8]) -> u32 {
    let Some(&[a, b]) = frame.get(12..ETH_HLEN) else {
        return 0;
    };
    let ip = &frame[ETH_HLEN..];
    match u16::from_be_bytes([a, b]) {
        ETHERTYPE_IPV4 => ipv4_status(ip),
        ETHERTYPE_IPV6 => ipv6_status(ip),
        _ => 0,
    }
}

fn ipv4_status(ip: &[u8]) -> u32 {
    let ihl = (ip.first().copied().unwrap_or(0) & 0xf) as usize * 4;
    if ihl < 20 || ip.len() < ihl {
        return 0;
    }
    let mut s = proto::L3_IPV4 as u32;
    if fold(sum(&ip[..ihl], 0)) != 0xffff {
        s |= rx_cdesc::L3_CSUM_ERR_MASK;
    }
    let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0; // MF or an offset
    if frag {
        s |= rx_cdesc::IPV4_FRAG_MASK;
    }
    let total = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
    let l4 = &ip[ihl..total.max(ihl)];
    let pseudo = sum(&ip[12..20], l4.len() as u32 + ip[9] as u32);
    s | l4_status(ip[9], l4, pseudo, frag)
}

fn ipv6_status(ip: &[u8]) -> u32 {
    if ip.len() < 40 {
        return 0;
    }
    let len = (u16::from_be_bytes([ip[4], ip[5]]) as usize).min(ip.len() - 40);
    let l4 = &ip[40..40 + len];
    let pseudo = sum(&ip[8..40], l4.len() as u32 + ip[6] as u32);
    proto::L3_IPV6 as u32 | l4_status(ip[6], l4, pseudo, false)
}

fn l4_status(ipproto: u8, l4: &[u8], pseudo: u32, frag: bool) -> u32 {
    let (idx, at) = match ipproto {
        IPPROTO_TCP => (proto::L4_TCP, 16),
        IPPROTO_UDP => (proto::L4_UDP, 6),
        _ => return 0,
    };
    let s = (idx as u32) << rx_cdesc::L4_PROTO_IDX_SHIFT;
    let unchecked = l4.len() < at + 2 || (ipproto == IPPROTO_UDP && l4[at..at + 2] == [0, 0]);
    if frag || unchecked {
        return s;
    }
    let ok = fold(sum(l4, pseudo)) == 0xffff;
    s | rx_cdesc::L4_CSUM_CHECKED_MASK | if ok { 0 } else { rx_cdesc::L4_CSUM_ERR_MASK }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + UDP frame with correct checksums.
    fn udp4(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let total = 20 + 8 + payload.len();
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, IPPROTO_UDP, 0, 0];
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip.extend([198, 51, 100, 10, 198, 51, 100, 20]);
        let c = !fold(sum(&ip, 0));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend(&ip);
        let mut udp = vec![0x30, 0x39, 0x14, 0x51, 0, 0, 0, 0];
        udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        udp.extend(payload);
        let c = !fold(sum(&udp, sum(&ip[12..20], udp.len() as u32 + 17)));
        udp[6..8].copy_from_slice(&c.to_be_bytes());
        f.extend(udp);
        f
    }

    #[test]
    fn a_good_udp_frame_is_ipv4_udp_checked_without_errors() {
        let s = rx_status(&udp4(b"hello"));
        assert_eq!(s & rx_cdesc::L3_PROTO_IDX_MASK, proto::L3_IPV4 as u32);
        assert_eq!(
            (s & rx_cdesc::L4_PROTO_IDX_MASK) >> rx_cdesc::L4_PROTO_IDX_SHIFT,
            proto::L4_UDP as u32
        );
        assert_ne!(s & rx_cdesc::L4_CSUM_CHECKED_MASK, 0);
        assert_eq!(
            s & (rx_cdesc::L3_CSUM_ERR_MASK | rx_cdesc::L4_CSUM_ERR_MASK),
            0
        );
    }

    #[test]
    fn a_flipped_payload_bit_is_an_l4_error_and_a_flipped_header_bit_an_l3_one() {
        let mut f = udp4(b"hello");
        let n = f.len();
        f[n - 1] ^= 1;
        assert_ne!(rx_status(&f) & rx_cdesc::L4_CSUM_ERR_MASK, 0);
        let mut f = udp4(b"hello");
        f[14 + 8] ^= 1; // TTL
        assert_ne!(rx_status(&f) & rx_cdesc::L3_CSUM_ERR_MASK, 0);
    }

    #[test]
    fn a_fragment_is_flagged_and_its_l4_checksum_left_unchecked() {
        let mut f = udp4(b"hello");
        f[14 + 6] |= 0x20; // more fragments
        let s = rx_status(&f);
        assert_ne!(s & rx_cdesc::IPV4_FRAG_MASK, 0);
        assert_eq!(s & rx_cdesc::L4_CSUM_CHECKED_MASK, 0);
    }

    #[test]
    fn padding_after_the_ip_packet_is_not_summed() {
        let mut f = udp4(b"x");
        f.resize(60, 0xaa);
        assert_eq!(rx_status(&f) & rx_cdesc::L4_CSUM_ERR_MASK, 0);
    }

    #[test]
    fn the_device_finishes_a_partial_udp_checksum_the_way_the_receiver_checks_it() {
        let good = udp4(b"payload!");
        // What the stack hands a device with checksum offload: the
        // pseudo header's sum, not complemented, in the field.
        let mut f = good.clone();
        let pseudo = fold(sum(&f[26..34], 16 + 17));
        f[40..42].copy_from_slice(&pseudo.to_be_bytes());
        let req = TxRequest {
            l3_proto: proto::L3_IPV4,
            l4_proto: proto::L4_UDP,
            l4_csum: true,
            l4_partial: true,
            ..Default::default()
        };
        let meta = TxMeta {
            l3_hdr_len: 20,
            l3_hdr_off: 14,
            store: true,
        };
        finish_tx_checksums(&mut f, req, Some(meta));
        assert_eq!(f, good);
        // Without a meta descriptor, nothing says where the headers are.
        let mut g = good.clone();
        g[40..42].copy_from_slice(&pseudo.to_be_bytes());
        finish_tx_checksums(&mut g, req, None);
        assert_ne!(g, good);
    }

    #[test]
    fn other_ethertypes_carry_no_protocol_bits() {
        let mut f = udp4(b"x");
        f[12..14].copy_from_slice(&0x0806u16.to_be_bytes()); // ARP
        assert_eq!(rx_status(&f), 0);
    }
}
