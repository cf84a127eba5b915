//! Per-packet cost of the data path, Rust (`ena-core`) beside the C original
//! (`ena_eth_com.c`) on the same workload, in one run:
//! - Tx: prepare a 2-buffer packet (offload metadata changing every 64
//!   packets), then take its completion and free its descriptors;
//! - Rx: parse a 1-buffer packet's completion and refill the buffer.
//!
//! The device's writes (completions) are the same plain stores on both sides.
//! Best of 5 rounds.
use std::hint::black_box;
use std::time::Instant;

use ena_core::defs::{RxCdesc, TxCdesc};
use ena_core::dma::{DmaMemory, HostMem};
use ena_core::rx::{RxBuf, RxCompletions, RxQueue};
use ena_core::tx::{TxBuf, TxCompletions, TxCtx, TxMeta, TxQueue};
use ena_core::wire::Wire;
use ena_cref::{CQueues, RxBufInfo, TxIn};

const DEPTH: u16 = 1024;
const PACKETS: u64 = 2_000_000;

fn meta(n: u64) -> TxMeta {
    TxMeta {
        mss: 1448 + ((n / 64) % 4) as u16,
        l3_hdr_len: 20,
        l3_hdr_offset: 14,
        l4_hdr_len: 5,
    }
}

fn tx_cdesc(n: u64) -> TxCdesc {
    TxCdesc {
        req_id: (n % DEPTH as u64) as u16,
        flags: (n / DEPTH as u64).is_multiple_of(2) as u8,
        ..Default::default()
    }
}

fn rx_cdesc(n: u64) -> RxCdesc {
    RxCdesc {
        status: ((n / DEPTH as u64).is_multiple_of(2) as u32) << 24
            | 1 << 26
            | 1 << 27
            | 8
            | 12 << 8,
        length: 1500,
        req_id: (n % DEPTH as u64) as u16,
        hash: n as u32,
        ..Default::default()
    }
}

fn rust_tx() -> f64 {
    let mut q = TxQueue::new(HostMem::new(DEPTH as usize * 16, 0), DEPTH, 48, 128);
    let mut c = TxCompletions::new(HostMem::new(DEPTH as usize * 8, 0), DEPTH);
    let t = Instant::now();
    for n in 0..PACKETS {
        let bufs = [
            TxBuf {
                paddr: 0x1_0000_0000 + n * 4096,
                len: 54,
            },
            TxBuf {
                paddr: 0x2_0000_0000 + n * 4096,
                len: 1400,
            },
        ];
        let ctx = TxCtx {
            meta: meta(n),
            bufs: &bufs,
            req_id: (n % DEPTH as u64) as u16,
            header_len: 54,
            meta_valid: true,
            l3_csum: true,
            l4_csum: true,
            l3_proto: 8,
            l4_proto: 12,
            ..Default::default()
        };
        let used = q.prepare(black_box(&ctx)).unwrap();
        c.ring_mut()
            .store((n % DEPTH as u64) as usize * 8, &tx_cdesc(n));
        black_box(c.next_completed().unwrap());
        q.ack(used);
    }
    t.elapsed().as_nanos() as f64 / PACKETS as f64
}

fn c_tx() -> f64 {
    let mut q = CQueues::tx(DEPTH, 48, 128, false);
    let t = Instant::now();
    for n in 0..PACKETS {
        let m = meta(n);
        let mut inp = TxIn {
            num_bufs: 2,
            req_id: (n % DEPTH as u64) as u16,
            header_len: 54,
            mss: m.mss,
            l3_hdr_len: 20,
            l3_hdr_offset: 14,
            l4_hdr_len: 5,
            meta_valid: 1,
            l3_csum: 1,
            l4_csum: 1,
            l3_proto: 8,
            l4_proto: 12,
            ..Default::default()
        };
        inp.paddr[0] = 0x1_0000_0000 + n * 4096;
        inp.len[0] = 54;
        inp.paddr[1] = 0x2_0000_0000 + n * 4096;
        inp.len[1] = 1400;
        let used = q.prepare_tx(black_box(&inp)).unwrap();
        let off = (n % DEPTH as u64) as usize * 8;
        tx_cdesc(n).encode(&mut q.cq_ring_mut()[off..off + 8]);
        black_box(q.tx_comp().unwrap());
        q.comp_ack(used);
    }
    t.elapsed().as_nanos() as f64 / PACKETS as f64
}

fn rust_rx() -> f64 {
    let mut sq = RxQueue::new(HostMem::new(DEPTH as usize * 16, 0), DEPTH, 48);
    let mut cq = RxCompletions::new(HostMem::new(DEPTH as usize * 16, 0), DEPTH, 16);
    for i in 0..DEPTH - 1 {
        sq.add(0x3_0000_0000 + i as u64 * 2048, 2048, i).unwrap();
    }
    let mut bufs = [RxBuf::default(); 4];
    let t = Instant::now();
    for n in 0..PACKETS {
        cq.ring_mut()
            .store((n % DEPTH as u64) as usize * 16, &rx_cdesc(n));
        let p = cq.receive(&mut sq, black_box(&mut bufs)).unwrap();
        black_box(p);
        sq.add(
            0x3_0000_0000 + bufs[0].req_id as u64 * 2048,
            2048,
            bufs[0].req_id,
        )
        .unwrap();
    }
    t.elapsed().as_nanos() as f64 / PACKETS as f64
}

fn c_rx() -> f64 {
    let mut q = CQueues::rx(DEPTH, 48, 16);
    for i in 0..DEPTH - 1 {
        q.rx_add(0x3_0000_0000 + i as u64 * 2048, 2048, i).unwrap();
    }
    let mut bufs = [RxBufInfo::default(); 4];
    let t = Instant::now();
    for n in 0..PACKETS {
        let off = (n % DEPTH as u64) as usize * 16;
        rx_cdesc(n).encode(&mut q.cq_ring_mut()[off..off + 16]);
        let p = q.rx_pkt(black_box(&mut bufs)).unwrap();
        black_box(p);
        q.rx_add(
            0x3_0000_0000 + bufs[0].req_id as u64 * 2048,
            2048,
            bufs[0].req_id,
        )
        .unwrap();
    }
    t.elapsed().as_nanos() as f64 / PACKETS as f64
}

fn best(f: fn() -> f64) -> f64 {
    (0..5).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let (rt, ct, rr, cr) = (best(rust_tx), best(c_tx), best(rust_rx), best(c_rx));
    println!("ENA data path, {PACKETS} packets per round, queue depth {DEPTH}, best of 5 (ns per packet)");
    println!("  {:<40} {:>8} {:>8} {:>14}", "", "Rust", "C", "C/Rust");
    println!(
        "  {:<40} {:>8.1} {:>8.1} {:>13.2}x",
        "Tx prepare + completion + ack",
        rt,
        ct,
        ct / rt
    );
    println!(
        "  {:<40} {:>8.1} {:>8.1} {:>13.2}x",
        "Rx completion parse + refill",
        rr,
        cr,
        cr / rr
    );
    println!("  (C/Rust above 1.00x: Rust is faster)");
}
