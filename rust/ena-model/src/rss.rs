//! Receive-side scaling as the device does it: a Toeplitz hash of the
//! IPv4 addresses and TCP/UDP ports, and the indirection table the driver
//! sets (`ena_com_indirect_table_set`) mapping the hash to an Rx queue.
//! The hash function and its inputs are the device's own: the model does
//! not offer RSS_HASH_FUNCTION or RSS_HASH_INPUT, and the drivers accept
//! that (-EOPNOTSUPP) and keep the table.

/// The key Microsoft's RSS specification uses in its verification suite,
/// and many NICs by default.
pub const DEFAULT_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Log2 of the table size the device offers (MAX and MIN): 128 entries.
pub const TABLE_LOG_SIZE: u16 = 7;

/// The Toeplitz hash of `input` under `key`: for every set bit of the
/// input, XOR in the 32 key bits starting at that bit position.
pub fn toeplitz(key: &[u8; 40], input: &[u8]) -> u32 {
    let mut hash = 0u32;
    // The key window, refilled one byte at a time as the input advances.
    let mut window = u64::from_be_bytes(key[..8].try_into().unwrap());
    for (i, byte) in input.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= (window >> (32 - bit)) as u32;
            }
        }
        window = window << 8 | *key.get(i + 8).unwrap_or(&0) as u64;
    }
    hash
}

/// The hash input of a frame: IPv4 source and destination, then the TCP or
/// UDP ports of an unfragmented packet; None for anything else (it goes to
/// entry 0, as a device puts non-IP traffic on a default queue).
pub fn flow_input(frame: &[u8]) -> Option<Vec<u8>> {
    let mut off = 12;
    let mut ethertype = u16::from_be_bytes(frame.get(off..off + 2)?.try_into().ok()?);
    if ethertype == 0x8100 {
        off += 4;
        ethertype = u16::from_be_bytes(frame.get(off..off + 2)?.try_into().ok()?);
    }
    if ethertype != 0x0800 {
        return None;
    }
    let ip = frame.get(off + 2..)?;
    let ihl = (*ip.first()? & 0x0f) as usize * 4;
    if ihl < 20 || ip.len() < ihl {
        return None;
    }
    let mut input = ip[12..20].to_vec();
    let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    if matches!(ip[9], 6 | 17) && !fragment {
        input.extend_from_slice(ip.get(ihl..ihl + 4)?);
    }
    Some(input)
}

/// The indirection table: entry `hash % size` names the Rx queue (the
/// device's SQ index, which the driver writes as `cq_idx`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Indirection {
    pub entries: Vec<u16>,
}

impl Indirection {
    /// The queue for a frame and the hash the Rx completion reports, or
    /// None before the driver set a table.
    pub fn steer(&self, frame: &[u8]) -> Option<(u16, u32)> {
        if self.entries.is_empty() {
            return None;
        }
        let hash = flow_input(frame).map_or(0, |input| toeplitz(&DEFAULT_KEY, &input));
        Some((self.entries[hash as usize & (self.entries.len() - 1)], hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Source, destination, ports, and the hashes without and with ports.
    type Vector = ([u8; 4], [u8; 4], u16, u16, u32, u32);

    /// Microsoft's RSS verification suite, IPv4 with and without TCP ports.
    #[test]
    fn toeplitz_matches_the_published_verification_vectors() {
        let cases: [Vector; 3] = [
            (
                [66, 9, 149, 187],
                [161, 142, 100, 80],
                2794,
                1766,
                0x323e8fc2,
                0x51ccc178,
            ),
            (
                [199, 92, 111, 2],
                [65, 69, 140, 83],
                14230,
                4739,
                0xd718262a,
                0xc626b0ea,
            ),
            (
                [24, 19, 198, 95],
                [12, 22, 207, 184],
                12898,
                38024,
                0xd2d0a5de,
                0x5c2b394a,
            ),
        ];
        for (src, dst, sport, dport, ip_only, with_ports) in cases {
            let mut input = [src, dst].concat();
            assert_eq!(
                toeplitz(&DEFAULT_KEY, &input),
                ip_only,
                "{src:?} -> {dst:?}"
            );
            input.extend_from_slice(&sport.to_be_bytes());
            input.extend_from_slice(&dport.to_be_bytes());
            assert_eq!(
                toeplitz(&DEFAULT_KEY, &input),
                with_ports,
                "{src:?}:{sport} -> {dst:?}:{dport}"
            );
        }
    }

    fn tcp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags_frag: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[14 + 6..14 + 8].copy_from_slice(&flags_frag.to_be_bytes());
        f[14 + 9] = 6;
        f[14 + 12..14 + 16].copy_from_slice(&src);
        f[14 + 16..14 + 20].copy_from_slice(&dst);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn a_flow_keeps_its_queue_and_fragments_hash_on_addresses_only() {
        let t = Indirection {
            entries: (0..128).map(|i| [3, 5][i % 2]).collect(),
        };
        let f = tcp_frame([66, 9, 149, 187], [161, 142, 100, 80], 2794, 1766, 0);
        let (q, hash) = t.steer(&f).unwrap();
        assert_eq!(hash, 0x51ccc178);
        assert_eq!(q, t.entries[0x51ccc178 & 127]);
        let frag = tcp_frame([66, 9, 149, 187], [161, 142, 100, 80], 2794, 1766, 0x2000);
        assert_eq!(
            t.steer(&frag).unwrap().1,
            0x323e8fc2,
            "a fragment has no ports to hash"
        );
        let arp = [&[0u8; 12][..], &0x0806u16.to_be_bytes()].concat();
        assert_eq!(t.steer(&arp), Some((3, 0)), "non-IP: entry 0");
        assert_eq!(Indirection::default().steer(&f), None, "no table yet");
        assert_eq!(
            flow_input(&f[..20]),
            None,
            "a runt frame is not parsed past its end"
        );
    }
}
