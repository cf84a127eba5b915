//! Which Tx queue a frame from the TAP goes to: one flow (addresses and
//! ports) always to the same queue, so its packets leave in order, and
//! many flows over all queues. Frames without an IPv4/IPv6 flow (ARP, say)
//! take queue 0.

const ETH_HDR: usize = 14;

/// FNV-1a over the flow's identity: its addresses and, for unfragmented
/// TCP and UDP, its ports.
pub fn flow_hash(frame: &[u8]) -> Option<u32> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = frame.get(ETH_HDR..)?;
    let (addrs, proto, l4) = match ethertype {
        0x0800 => {
            let hdr = ip.get(..20)?;
            let fragmented = u16::from_be_bytes([hdr[6], hdr[7]]) & 0x3fff != 0;
            let ihl = (hdr[0] & 0x0f) as usize * 4;
            (&hdr[12..20], hdr[9], (!fragmented).then_some(ihl))
        }
        0x86dd => {
            let hdr = ip.get(..40)?;
            (&hdr[8..40], hdr[6], Some(40))
        }
        _ => return None,
    };
    let ports = match (proto, l4) {
        (6 | 17, Some(off)) => ip.get(off..off + 4).unwrap_or(&[]),
        _ => &[],
    };
    let mut h: u32 = 0x811c_9dc5;
    for &b in addrs.iter().chain(ports) {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    Some(h)
}

/// The Tx queue of `frame` among `queues`: the hash scaled to the queue
/// count (multiply and shift), which takes its well-mixed high bits. A
/// modulo would take FNV's low bits, and bit 0 is the parity of the bytes'
/// low bits: Linux gives connect() even ports, so every flow of one
/// address pair would land on the same queue of two.
pub fn tx_queue(frame: &[u8], queues: usize) -> usize {
    match flow_hash(frame) {
        Some(h) if queues > 1 => ((h as u64 * queues as u64) >> 32) as usize,
        _ => 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IPv4 TCP frame from port `sport` to 5201.
    pub fn tcp4(sport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = 6;
        f[26..30].copy_from_slice(&[198, 51, 100, 20]);
        f[30..34].copy_from_slice(&[198, 51, 100, 10]);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&5201u16.to_be_bytes());
        f
    }

    #[test]
    fn a_flow_keeps_its_queue_and_sixteen_flows_use_every_queue() {
        let f = tcp4(40000);
        let q = tx_queue(&f, 4);
        let mut later = f.clone();
        later.extend_from_slice(&[0xaa; 100]); // payload does not count
        assert_eq!(tx_queue(&later, 4), q);
        let used: std::collections::BTreeSet<usize> =
            (0..16).map(|i| tx_queue(&tcp4(40000 + i), 4)).collect();
        assert_eq!(used.len(), 4, "sixteen flows over four queues: {used:?}");
        let hits: std::collections::BTreeSet<usize> =
            (0..16).map(|i| tx_queue(&tcp4(40000 + i), 2)).collect();
        assert_eq!(hits.len(), 2);
        // Linux's connect() takes even ports: sixteen of them still
        // spread, and fairly.
        let mut per = [0usize; 2];
        for i in 0..16 {
            per[tx_queue(&tcp4(40000 + 2 * i), 2)] += 1;
        }
        assert!(
            per.iter().all(|&n| n >= 4),
            "even ports over two queues: {per:?}"
        );
    }

    #[test]
    fn frames_without_a_flow_take_queue_zero() {
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(tx_queue(&arp, 4), 0);
        assert_eq!(tx_queue(&[0u8; 10], 4), 0, "a runt");
        assert_eq!(tx_queue(&tcp4(1), 1), 0, "one queue");
        // A fragment is hashed by its addresses alone: every fragment of a
        // datagram goes the same way, whatever the ports of the first.
        let (mut a, mut b) = (tcp4(1), tcp4(2));
        for f in [&mut a, &mut b] {
            f[20] = 0x20; // more fragments
        }
        assert_eq!(flow_hash(&a), flow_hash(&b));
        assert_ne!(flow_hash(&tcp4(1)), flow_hash(&tcp4(2)));
    }
}
