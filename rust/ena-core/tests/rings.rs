//! The rings as specifications: phase bits flip once per lap, descriptors
//! carry first/last/comp_req where the device expects them, request ids come
//! back in any order, and frames cross a loopback device byte for byte.

use ena_core::defs::{rx_desc, tx_desc, RxCdesc, RxDesc, TxCdesc, TxDesc};
use ena_core::dma::{DmaMemory, HostMem};
use ena_core::reqid::ReqIds;
use ena_core::rx::{RxBuf, RxCompletions, RxQueue};
use ena_core::tx::{TxBuf, TxCompletions, TxCtx, TxQueue};
use ena_core::Error;
use proptest::prelude::*;

fn phase_of_slot(absolute: u64, depth: u16) -> u32 {
    ((absolute / depth as u64) % 2 == 0) as u32
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Over many laps, every descriptor of every packet has the phase of the
    /// lap it was written in; the first has FIRST and COMP_REQ, the last LAST.
    #[test]
    fn tx_phase_flips_once_per_lap(depth_log in 3u32..8, sizes in prop::collection::vec(1usize..5, 50..400)) {
        let depth = 1u16 << depth_log;
        let mut q = TxQueue::new(HostMem::new(depth as usize * 16, 0), depth, 48, 128);
        let mut absolute: u64 = 0;
        for (n, size) in sizes.iter().enumerate() {
            let bufs: Vec<TxBuf> = (0..*size).map(|i| TxBuf { paddr: 0x1000 * (n * 8 + i) as u64, len: 100 + i as u16 }).collect();
            let used = q.prepare(&TxCtx { bufs: &bufs, req_id: (n % depth as usize) as u16, ..Default::default() });
            let used = match used {
                Err(Error::NoSpace) => { q.ack(q.used()); q.prepare(&TxCtx { bufs: &bufs, req_id: 0, ..Default::default() }).unwrap() }
                r => r.unwrap(),
            };
            prop_assert_eq!(used as usize, *size);
            for k in 0..*size {
                let slot = ((absolute + k as u64) % depth as u64) as usize;
                let d: TxDesc = q.ring().load(slot * 16);
                prop_assert_eq!((d.len_ctrl & tx_desc::PHASE_MASK) >> tx_desc::PHASE_SHIFT, phase_of_slot(absolute + k as u64, depth));
                prop_assert_eq!(d.len_ctrl & tx_desc::FIRST_MASK != 0, k == 0);
                prop_assert_eq!(d.len_ctrl & tx_desc::COMP_REQ_MASK != 0, k == 0);
                prop_assert_eq!(d.len_ctrl & tx_desc::LAST_MASK != 0, k == size - 1);
                prop_assert_eq!(d.len_ctrl & tx_desc::LENGTH_MASK, 100 + k as u32);
            }
            absolute += *size as u64;
            prop_assert_eq!(q.phase() as u32, phase_of_slot(absolute, depth));
        }
    }

    /// Request ids split across the descriptor (10 low bits, 6 high bits)
    /// come back whole.
    #[test]
    fn req_id_split_round_trips(id in any::<u16>()) {
        let mut q = TxQueue::new(HostMem::new(8 * 16, 0), 8, 48, 128);
        q.prepare(&TxCtx { bufs: &[TxBuf { paddr: 1, len: 1 }], req_id: id, ..Default::default() }).unwrap();
        let d: TxDesc = q.ring().load(0);
        let lo = (d.meta_ctrl & tx_desc::REQ_ID_LO_MASK) >> tx_desc::REQ_ID_LO_SHIFT;
        let hi = (d.len_ctrl & tx_desc::REQ_ID_HI_MASK) >> tx_desc::REQ_ID_HI_SHIFT;
        prop_assert_eq!((hi << 10 | lo) as u16, id);
    }

    /// Ids handed out and given back in any order are all handed out again,
    /// never twice at once; an id given back twice is refused.
    #[test]
    fn req_ids_come_back_in_any_order(order in Just((0u16..64).collect::<Vec<_>>()).prop_shuffle()) {
        let mut ids = ReqIds::new(64);
        let taken: Vec<u16> = (0..64).map(|_| ids.take().unwrap()).collect();
        prop_assert_eq!(ids.take(), None);
        for i in &order { prop_assert!(ids.give_back(taken[*i as usize])); }
        prop_assert!(!ids.give_back(taken[0]));
        let mut again: Vec<u16> = (0..64).map(|_| ids.take().unwrap()).collect();
        again.sort();
        prop_assert_eq!(again, (0..64).collect::<Vec<_>>());
    }
}

/// A minimal loopback device: it plays the hardware side of both rings.
struct Loopback {
    tx_seen: u64,
    tx_done: u64,
    rx_seen: u64,
    rx_done: u64,
}

impl Loopback {
    /// Consumes the Tx descriptors of one packet (if a whole one is there),
    /// posts its completion and delivers the frame into the next Rx buffer.
    fn step(
        &mut self,
        depth: u16,
        txq: &TxQueue<HostMem>,
        txc: &mut TxCompletions<HostMem>,
        rxq: &RxQueue<HostMem>,
        rxc: &mut RxCompletions<HostMem>,
        mem: &mut HostMem,
    ) -> bool {
        let mut frame = Vec::new();
        let mut k = self.tx_seen;
        let req_id;
        loop {
            let d: TxDesc = txq.ring().load((k % depth as u64) as usize * 16);
            if (d.len_ctrl & tx_desc::PHASE_MASK) >> tx_desc::PHASE_SHIFT != phase_of_slot(k, depth)
                || k - self.tx_seen >= depth as u64
            {
                return false;
            }
            let len = (d.len_ctrl & tx_desc::LENGTH_MASK) as usize;
            let addr = d.buff_addr_lo as usize;
            let mut part = vec![0u8; len];
            mem.read(addr, &mut part);
            frame.extend_from_slice(&part);
            k += 1;
            if d.len_ctrl & tx_desc::LAST_MASK != 0 {
                let first: TxDesc = txq.ring().load((self.tx_seen % depth as u64) as usize * 16);
                req_id = ((first.len_ctrl & tx_desc::REQ_ID_HI_MASK) >> 6
                    | (first.meta_ctrl & tx_desc::REQ_ID_LO_MASK) >> 22)
                    as u16;
                break;
            }
        }
        self.tx_seen = k;
        let cd = TxCdesc {
            req_id,
            flags: phase_of_slot(self.tx_done, depth) as u8,
            ..Default::default()
        };
        txc.ring_mut()
            .store((self.tx_done % depth as u64) as usize * 8, &cd);
        self.tx_done += 1;
        // Deliver into the next offered Rx buffer.
        let rd: RxDesc = rxq.ring().load((self.rx_seen % depth as u64) as usize * 16);
        assert_eq!(
            rd.ctrl & rx_desc::PHASE_MASK,
            phase_of_slot(self.rx_seen, depth) as u8,
            "no Rx buffer offered"
        );
        assert!(frame.len() <= rd.length as usize);
        mem.write(rd.buff_addr_lo as usize, &frame);
        self.rx_seen += 1;
        let rc = RxCdesc {
            status: (phase_of_slot(self.rx_done, depth) << 24) | (1 << 26) | (1 << 27),
            length: frame.len() as u16,
            req_id: rd.req_id,
            ..Default::default()
        };
        rxc.ring_mut()
            .store((self.rx_done % depth as u64) as usize * 16, &rc);
        self.rx_done += 1;
        true
    }
}

#[test]
fn frames_cross_a_loopback_device_byte_for_byte_over_many_laps() {
    let depth = 8u16;
    let mut txq = TxQueue::new(HostMem::new(depth as usize * 16, 0), depth, 48, 128);
    let mut txc = TxCompletions::new(HostMem::new(depth as usize * 8, 0), depth);
    let mut rxq = RxQueue::new(HostMem::new(depth as usize * 16, 0), depth, 48);
    let mut rxc = RxCompletions::new(HostMem::new(depth as usize * 16, 0), depth, 16);
    // Packet memory: Tx buffers at 0..64K, Rx buffers at 64K.. (slot * 2K).
    let mut mem = HostMem::new(128 * 1024, 0);
    let mut dev = Loopback {
        tx_seen: 0,
        tx_done: 0,
        rx_seen: 0,
        rx_done: 0,
    };
    let mut tx_ids = ReqIds::new(depth);
    let mut rx_ids = ReqIds::new(depth);
    for _ in 0..depth - 1 {
        let id = rx_ids.take().unwrap();
        rxq.add(65536 + id as u64 * 2048, 2048, id).unwrap();
    }
    let mut sent = 0usize;
    for n in 0..500usize {
        // A frame of 1..3 buffers with recognisable bytes.
        let parts = 1 + n % 3;
        let payload: Vec<u8> = (0..(60 + n % 700)).map(|i| (i * 31 + n) as u8).collect();
        let chunk = payload.len().div_ceil(parts);
        let id = tx_ids.take().expect("a free Tx request id");
        let mut bufs = Vec::new();
        for (p, piece) in payload.chunks(chunk).enumerate() {
            let addr = (id as usize * 8 + p) * 1024;
            mem.write(addr, piece);
            bufs.push(TxBuf {
                paddr: addr as u64,
                len: piece.len() as u16,
            });
        }
        let used = txq
            .prepare(&TxCtx {
                bufs: &bufs,
                req_id: id,
                ..Default::default()
            })
            .unwrap();
        assert!(
            dev.step(depth, &txq, &mut txc, &rxq, &mut rxc, &mut mem),
            "device saw no packet {n}"
        );
        // Driver: Tx completion frees the id and the descriptors.
        let done = txc.next_completed().unwrap();
        assert_eq!(done, id);
        assert!(tx_ids.give_back(done));
        txq.ack(used);
        // Driver: Rx completion yields the frame, the buffer is refilled.
        let mut rb = [RxBuf::default(); 4];
        let pkt = rxc.receive(&mut rxq, &mut rb).unwrap();
        assert_eq!(pkt.descs, 1);
        let mut got = vec![0u8; rb[0].len as usize];
        mem.read(65536 + rb[0].req_id as usize * 2048, &mut got);
        assert_eq!(got, payload, "frame {n} changed on the way");
        assert!(rx_ids.give_back(rb[0].req_id));
        let id = rx_ids.take().unwrap();
        rxq.add(65536 + id as u64 * 2048, 2048, id).unwrap();
        sent += 1;
    }
    assert_eq!(sent, 500);
    assert!(
        dev.tx_seen > 8 * depth as u64,
        "too few laps to prove the phase flips"
    );
}

#[test]
fn a_full_queue_refuses_and_a_long_header_is_refused() {
    let mut q = TxQueue::new(HostMem::new(8 * 16, 0), 8, 48, 96);
    let bufs = [TxBuf { paddr: 0, len: 64 }; 3];
    assert_eq!(
        q.prepare(&TxCtx {
            bufs: &bufs,
            header_len: 97,
            ..Default::default()
        }),
        Err(Error::HeaderTooLarge { len: 97, max: 96 })
    );
    assert_eq!(
        q.prepare(&TxCtx {
            bufs: &bufs,
            ..Default::default()
        }),
        Ok(3)
    );
    assert_eq!(
        q.prepare(&TxCtx {
            bufs: &bufs,
            ..Default::default()
        }),
        Ok(3)
    );
    // 6 of 8 used, one slot always stays empty: 3 + 1 for a meta do not fit.
    assert_eq!(
        q.prepare(&TxCtx {
            bufs: &bufs,
            ..Default::default()
        }),
        Err(Error::NoSpace)
    );
    q.ack(3);
    assert_eq!(
        q.prepare(&TxCtx {
            bufs: &bufs,
            ..Default::default()
        }),
        Ok(3)
    );
}
