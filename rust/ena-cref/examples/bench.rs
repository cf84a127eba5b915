//! Per-packet cost of the data path, Rust (`ena-core`) beside the C original
//! (`ena_eth_com.c`), on one pre-generated workload, in one run:
//! - Tx, host placement and LLQ: the doorbell when the LLQ burst has no room,
//!   prepare the packet, a doorbell at the end of every burst of 16, the
//!   device completing each packet at once;
//! - Rx: the device writes a completion, the driver parses it and posts the
//!   buffer again.
//!
//! Both loops are the same code in each language: the C one is `c/bench.c`
//! (compiled at -O2, calling `ena_com_prepare_tx` as ena_netdev.c does),
//! run by one call per round, the Rust one below. Both write device memory
//! (LLQ entries) as plain copies after the same store fence, and doorbells
//! as a store. Rounds alternate between the two; the figure is the median.
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use ena_core::admin_defs::{llq, FeatureLlqDesc};
use ena_core::defs::RxCdesc;
use ena_core::devmem::DeviceMemory;
use ena_core::dma::{DmaMemory, HostMem};
use ena_core::llq::LlqInfo;
use ena_core::llq_config::{choose, LlqPolicy, LlqWish};
use ena_core::regs::Registers;
use ena_core::rx::{RxBuf, RxCompletions, RxQueue};
use ena_core::tx::{TxBuf, TxCtx, TxMeta, TxQueue};
use ena_core::wire::Wire;
use ena_cref::{bench_rx, wmb, CBench, CQueues, LlqIn, TxIn};

const HOST_DEPTH: u16 = 1024;
/// 256-byte entries: the ring is halved, as 2.15 does on Nitro v4.
const LLQ_DEPTH: u16 = 512;
const RX_DEPTH: u16 = 1024;
/// Distinct packets in the workload, replayed round after round.
const PACKETS: usize = 1024;
const HEADER_STRIDE: usize = 128;
const ITERS: u32 = 2_000_000;
const BURST: u32 = 16;
const ROUNDS: usize = 9;

/// xorshift64*: the workload is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// TCP segments as a stack sends them: a header of 54–86 bytes, one to
/// three buffers, the offload context changing every 64 packets; and each
/// packet's header bytes, for LLQ to push.
fn workload() -> (Vec<TxIn>, Vec<u8>) {
    let mut rng = Rng(0x5eed_0e4a);
    let mut headers = vec![0u8; PACKETS * HEADER_STRIDE];
    headers.iter_mut().for_each(|b| *b = rng.next() as u8);
    let pkts = (0..PACKETS)
        .map(|i| {
            let mut p = TxIn {
                num_bufs: 1 + (rng.next() % 3) as u16,
                req_id: i as u16,
                header_len: [54, 66, 74, 86][(rng.next() % 4) as usize],
                mss: 1448 - ((i / 64) % 4) as u16 * 8,
                l3_hdr_len: 20,
                l3_hdr_offset: 14,
                l4_hdr_len: 5,
                l3_proto: 8,
                l4_proto: 12,
                meta_valid: 1,
                tso: 1,
                l3_csum: 1,
                l4_csum: 1,
                ..Default::default()
            };
            for k in 0..p.num_bufs as usize {
                p.paddr[k] = 0x1_0000_0000 + (i * 4 + k) as u64 * 4096;
                p.len[k] = 1 + (rng.next() % 4096) as u16;
            }
            p
        })
        .collect();
    (pkts, headers)
}

/// The Rust contexts for the same packets; `push`: with their headers.
fn contexts<'a>(
    pkts: &[TxIn],
    bufs: &'a [Vec<TxBuf>],
    headers: &'a [u8],
    push: bool,
) -> Vec<TxCtx<'a>> {
    pkts.iter()
        .zip(bufs)
        .enumerate()
        .map(|(i, (p, b))| TxCtx {
            meta: TxMeta {
                mss: p.mss,
                l3_hdr_len: p.l3_hdr_len,
                l3_hdr_offset: p.l3_hdr_offset,
                l4_hdr_len: p.l4_hdr_len,
            },
            bufs: b,
            push_header: push.then(|| &headers[i * HEADER_STRIDE..(i + 1) * HEADER_STRIDE]),
            l3_proto: p.l3_proto,
            l4_proto: p.l4_proto,
            req_id: p.req_id,
            header_len: p.header_len,
            meta_valid: p.meta_valid != 0,
            tso: p.tso != 0,
            l3_csum: p.l3_csum != 0,
            l4_csum: p.l4_csum != 0,
            l4_csum_partial: p.l4_csum_partial != 0,
            df: p.df != 0,
        })
        .collect()
}

/// Device memory as the shim has it: a buffer, each entry copied in after
/// the shim's `wmb()`.
struct Window(Vec<u8>);
impl DeviceMemory for Window {
    #[inline(always)]
    fn write(&mut self, off: usize, entry: &[u8]) {
        wmb();
        self.0[off..off + entry.len()].copy_from_slice(entry);
    }
}

/// The doorbell register: a store that stays, as the shim's volatile one.
static DOORBELL: AtomicU32 = AtomicU32::new(0);
struct Bar0;
impl Registers for Bar0 {
    fn read32(&mut self, _off: u32) -> u32 {
        0
    }
    #[inline(always)]
    fn write32(&mut self, _off: u32, v: u32) {
        DOORBELL.store(v, Ordering::Relaxed);
    }
}

/// `c/bench.c`'s `cref_bench_tx`, in Rust.
#[inline(never)]
fn rust_tx<B: DeviceMemory>(q: &mut TxQueue<HostMem, B>, ctxs: &[TxCtx<'_>]) -> i64 {
    let mut used = 0i64;
    let n = ctxs.len();
    for i in 0..ITERS {
        let ctx = &ctxs[i as usize & (n - 1)];
        if q.doorbell_needed(ctx) {
            q.write_doorbell(&mut Bar0);
        }
        let nb = match q.prepare(ctx) {
            Ok(nb) => nb,
            Err(e) => panic!("Rust prepare: {e:?}"),
        };
        if i & (BURST - 1) == BURST - 1 {
            q.write_doorbell(&mut Bar0);
        }
        q.ack(nb);
        used += nb as i64;
    }
    used
}

/// `c/bench.c`'s `cref_bench_rx`, in Rust.
#[inline(never)]
fn rust_rx(sq: &mut RxQueue<HostMem>, cq: &mut RxCompletions<HostMem>, cdescs: &[[u8; 16]]) -> i64 {
    let mut bufs = [RxBuf::default(); 4];
    let mut got = 0i64;
    let n = cdescs.len();
    for i in 0..ITERS as usize {
        let k = i & (n - 1);
        cq.ring_mut()
            .write((k & (RX_DEPTH as usize - 1)) * 16, &cdescs[k]);
        let p = cq.receive(sq, &mut bufs).expect("Rust Rx");
        let id = bufs[0].req_id;
        sq.add(0x3_0000_0000 + id as u64 * 2048, 2048, id)
            .expect("Rust refill");
        got += p.descs as i64;
    }
    got
}

/// Two laps of completions, each with its lap's phase.
fn rx_cdescs() -> Vec<[u8; 16]> {
    (0..2 * RX_DEPTH as u64)
        .map(|n| {
            let c = RxCdesc {
                status: ((n / RX_DEPTH as u64).is_multiple_of(2) as u32) << 24
                    | 1 << 26
                    | 1 << 27
                    | 8
                    | 12 << 8,
                length: 1500,
                req_id: (n % RX_DEPTH as u64) as u16,
                hash: n as u32,
                ..Default::default()
            };
            let mut b = [0u8; 16];
            c.encode(&mut b);
            b
        })
        .collect()
}

/// The 2.15 defaults against what a Nitro v4 card offers (the model's).
fn nitro_llq() -> LlqInfo {
    let offer = FeatureLlqDesc {
        max_llq_num: 8,
        max_llq_depth: 1024,
        header_location_ctrl_supported: llq::INLINE_HEADER,
        entry_size_ctrl_supported: llq::ENTRY_SIZE_128B
            | llq::ENTRY_SIZE_192B
            | llq::ENTRY_SIZE_256B,
        desc_num_before_header_supported: 1 | 2 | 4 | 8,
        descriptors_stride_ctrl_supported: llq::SINGLE_DESC_PER_ENTRY
            | llq::MULTIPLE_DESCS_PER_ENTRY,
        entry_size_recommended: llq::ENTRY_SIZE_256B as u8,
        max_wide_llq_depth: 512,
        accel_mode_flags: llq::DISABLE_META_CACHING | llq::LIMIT_TX_BURST,
        accel_mode_max_tx_burst_size: 4096,
        ..Default::default()
    };
    choose(
        &offer,
        &LlqWish::linux_defaults(&offer, LlqPolicy::Recommended),
    )
    .expect("the defaults fit the offer")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ns per packet of `f`, `ROUNDS` times, the two sides alternating;
/// both must agree on the work done.
fn measure(mut rust: impl FnMut() -> i64, mut c: impl FnMut() -> i64) -> (f64, f64) {
    let (mut rs, mut cs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = black_box(rust());
        rs.push(t.elapsed().as_nanos() as f64 / ITERS as f64);
        let t = Instant::now();
        let cc = black_box(c());
        cs.push(t.elapsed().as_nanos() as f64 / ITERS as f64);
        assert_eq!(r, cc, "Rust and C did different work");
    }
    (median(rs), median(cs))
}

fn main() {
    let (pkts, headers) = workload();
    let bufs: Vec<Vec<TxBuf>> = pkts
        .iter()
        .map(|p| {
            (0..p.num_bufs as usize)
                .map(|k| TxBuf {
                    paddr: p.paddr[k],
                    len: p.len[k],
                })
                .collect()
        })
        .collect();

    // Host placement: the header is the start of the first buffer.
    let host_ctx = contexts(&pkts, &bufs, &headers, false);
    let mut c_host = CBench::new(&pkts, None);
    let host = measure(
        || {
            let mut q = TxQueue::new(
                HostMem::new(HOST_DEPTH as usize * 16, 0),
                HOST_DEPTH,
                48,
                96,
            );
            rust_tx(&mut q, &host_ctx)
        },
        || {
            let mut q = CQueues::tx(HOST_DEPTH, 48, 96, false);
            c_host.tx(&mut q, ITERS, BURST).expect("C prepare")
        },
    );

    // LLQ: the header pushed into the packet's first entry.
    let info = nitro_llq();
    let llq_in = LlqIn {
        header_location_ctrl: info.header_location_ctrl,
        desc_stride_ctrl: info.desc_stride_ctrl,
        desc_list_entry_size_ctrl: info.desc_list_entry_size_ctrl,
        desc_list_entry_size: info.desc_list_entry_size,
        descs_num_before_header: info.descs_num_before_header,
        descs_per_entry: info.descs_per_entry,
        max_entries_in_tx_burst: info.max_entries_in_tx_burst,
        disable_meta_caching: info.disable_meta_caching as u8,
    };
    let llq_ctx = contexts(&pkts, &bufs, &headers, true);
    let mut c_llq = CBench::new(&pkts, Some((headers.clone(), HEADER_STRIDE)));
    let entry = info.desc_list_entry_size as usize;
    let dev = measure(
        || {
            let window = Window(vec![0; LLQ_DEPTH as usize * entry]);
            let mut q =
                TxQueue::<HostMem, _>::llq(window, 0, LLQ_DEPTH, 48, info.max_header(), info);
            rust_tx(&mut q, &llq_ctx)
        },
        || {
            let mut q = CQueues::tx_llq(LLQ_DEPTH, 48, info.max_header(), &llq_in);
            c_llq.tx(&mut q, ITERS, BURST).expect("C prepare")
        },
    );

    let cdescs = rx_cdescs();
    let rx = measure(
        || {
            let mut sq = RxQueue::new(HostMem::new(RX_DEPTH as usize * 16, 0), RX_DEPTH, 48);
            let mut cq = RxCompletions::new(HostMem::new(RX_DEPTH as usize * 16, 0), RX_DEPTH, 16);
            for i in 0..RX_DEPTH - 1 {
                sq.add(0x3_0000_0000 + i as u64 * 2048, 2048, i).unwrap();
            }
            rust_rx(&mut sq, &mut cq, &cdescs)
        },
        || {
            let mut q = CQueues::rx(RX_DEPTH, 48, 16);
            for i in 0..RX_DEPTH - 1 {
                q.rx_add(0x3_0000_0000 + i as u64 * 2048, 2048, i).unwrap();
            }
            bench_rx(&mut q, &cdescs, ITERS).expect("C Rx")
        },
    );

    println!(
        "ENA data path, ns per packet: median of {ROUNDS} rounds of {ITERS} packets \
         ({PACKETS} distinct, doorbell every {BURST}); C loops in C, one call per round"
    );
    println!("  {:<46} {:>7} {:>7} {:>8}", "", "Rust", "C", "C/Rust");
    let row = |name: &str, (r, c): (f64, f64)| {
        println!("  {name:<46} {r:>7.1} {c:>7.1} {:>7.2}x", c / r);
    };
    row(&format!("Tx, host placement (depth {HOST_DEPTH})"), host);
    row(
        &format!(
            "Tx, LLQ ({entry} B entries, depth {LLQ_DEPTH}, burst {})",
            info.max_entries_in_tx_burst
        ),
        dev,
    );
    row(&format!("Rx completion + refill (depth {RX_DEPTH})"), rx);
    println!("  (C/Rust above 1.00x: Rust is faster)");
}
