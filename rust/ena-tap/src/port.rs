//! One ENA port brought up for polled forwarding: ena-core's bring-up, as
//! many queue pairs as asked with the RSS table over their Rx queues, the
//! MTU, and per pair the driver's bookkeeping (request ids, the packet
//! buffers each id owns, the slots each packet took). A reset forgets the
//! queues but not the buffers: [`Port::restart`] brings the device up
//! again over the same memory.

use std::fmt;

use ena_core::aenq::Event;
use ena_core::batch::rx_refill_due;
use ena_core::device::{
    aenq_group, reset_reason, BringUpError, DeviceInfo, DmaAllocator, Ena, IoPair,
};
use ena_core::devmem::DeviceMemory;
use ena_core::dma::DmaMemory;
use ena_core::llq_config::LlqPolicy;
use ena_core::regs::Registers;
use ena_core::reqid::ReqIds;
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_core::{Clock, Error as QueueError};

use crate::slab::Slab;

/// The events the driver listens to: link changes and keep-alives.
pub const GROUPS: u32 = aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE;
/// Bytes of one Rx buffer: a page, as Linux posts; a jumbo frame spans three.
pub const RX_BUF: usize = 4096;
/// Ethernet header and a VLAN tag on top of the MTU.
pub const FRAME_OVERHEAD: u32 = 18;
/// The most buffers one received frame may take (64 KiB / 4 KiB + 1).
pub const MAX_RX_BUFS: usize = 17;

/// What the port is asked to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortConfig {
    pub queues: u16,
    pub depth: u16,
    pub mtu: u32,
    pub llq: LlqPolicy,
    /// The largest chunk the DMA allocator gives (a hugepage).
    pub chunk: usize,
}

impl PortConfig {
    /// A Tx buffer holds a whole frame: the MTU and its overhead, in 2 KiB steps.
    pub fn tx_buf(&self) -> usize {
        ((self.mtu + FRAME_OVERHEAD) as usize).div_ceil(2048) * 2048
    }
    /// Chunks of DMA memory to reserve: the packet buffers (one slot per
    /// request id and direction), and for the rings, which take well under
    /// a chunk per bring-up, one for those of a bring-up, one for a
    /// restart's while the last ones are still being freed, and a spare.
    pub fn chunks_needed(&self) -> usize {
        let per = |size: usize| (self.depth as usize).div_ceil((self.chunk / size).max(1));
        self.queues as usize * (per(self.tx_buf()) + per(RX_BUF)) + 3
    }
}

/// Why the port stopped or must be reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortError {
    BringUp(BringUpError),
    TooManyQueues {
        asked: u16,
        max: u32,
    },
    MtuTooLarge {
        asked: u32,
        max: u32,
    },
    /// A queue operation failed: the device broke the ring's contract.
    Queue {
        queue: usize,
        error: QueueError,
    },
    /// A completion gave back a request id that was not in flight.
    UnknownReqId {
        queue: usize,
        rx: bool,
        id: u16,
    },
    /// No keep-alive event within the timeout.
    KeepAliveLost {
        silent_ms: u64,
    },
}

impl PortError {
    /// Errors a device reset recovers from (the kernel driver resets for
    /// the same), as opposed to a device that cannot be brought up.
    pub fn reset_reason(&self) -> Option<u8> {
        match self {
            Self::Queue { .. } | Self::UnknownReqId { .. } => Some(reset_reason::NORMAL),
            Self::KeepAliveLost { .. } => Some(reset_reason::KEEP_ALIVE_TO),
            _ => None,
        }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BringUp(BringUpError::QueueTooDeep { asked, max }) => write!(
                f,
                "ring depth {asked} is above the device's limit {max} (LLQ's, halved for 256-byte entries; --llq off lifts it)"
            ),
            Self::BringUp(e) => write!(f, "bring-up failed: {e:?}"),
            Self::TooManyQueues { asked, max } => {
                write!(f, "{asked} queue pairs asked, the device offers {max}")
            }
            Self::MtuTooLarge { asked, max } => {
                write!(f, "MTU {asked} is above the device's maximum {max}")
            }
            Self::Queue { queue, error } => write!(f, "queue {queue}: {error:?}"),
            Self::UnknownReqId { queue, rx, id } => write!(
                f,
                "queue {queue}: {} completion for request id {id}, which is not in flight",
                if *rx { "an Rx" } else { "a Tx" }
            ),
            Self::KeepAliveLost { silent_ms } => {
                write!(f, "no keep-alive from the device for {silent_ms} ms")
            }
        }
    }
}

impl From<BringUpError> for PortError {
    fn from(e: BringUpError) -> Self {
        Self::BringUp(e)
    }
}

/// Counters of one queue pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_doorbells: u64,
}

/// One queue pair and the buffers its request ids own.
pub struct Queue<M, B> {
    pub pair: IoPair<M, B>,
    tx_ids: ReqIds,
    /// Ring slots each in-flight Tx request took (acked on completion).
    tx_slots: Vec<u16>,
    rx_ids: ReqIds,
    tx_mem: Slab<M>,
    rx_mem: Slab<M>,
    /// Packets posted since the last Tx doorbell.
    pending: u16,
    pub stats: QueueStats,
    index: usize,
    depth: u16,
}

/// What became of a frame offered to a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    Queued,
    /// No request id or ring room: offer it again after completions.
    Full,
    /// Longer than the MTU allows: dropped.
    TooLong,
}

impl<M: DmaMemory, B: DeviceMemory> Queue<M, B> {
    fn new(index: usize, pair: IoPair<M, B>, tx_mem: Slab<M>, rx_mem: Slab<M>, depth: u16) -> Self {
        Self {
            pair,
            tx_ids: ReqIds::new(depth),
            tx_slots: vec![0; depth as usize],
            rx_ids: ReqIds::new(depth),
            tx_mem,
            rx_mem,
            pending: 0,
            stats: QueueStats::default(),
            index,
            depth,
        }
    }

    fn err(&self, error: QueueError) -> PortError {
        PortError::Queue {
            queue: self.index,
            error,
        }
    }

    /// Posts empty Rx buffers while the ring and the ids have room, then
    /// rings the doorbell once (`ena_refill_rx_bufs`).
    pub fn refill<R: Registers>(&mut self, regs: &mut R) -> Result<usize, PortError> {
        let mut n = 0;
        while self.pair.rx.free() > 0 {
            let Some(id) = self.rx_ids.take() else { break };
            let addr = self.rx_mem.phys(id as usize);
            if let Err(e) = self.pair.rx.add(addr, RX_BUF as u16, id) {
                return Err(self.err(e));
            }
            n += 1;
        }
        if n > 0 {
            regs.write32(self.pair.rx_doorbell, self.pair.rx.tail() as u32);
        }
        Ok(n)
    }

    /// Refills only past the threshold (`ENA_RX_REFILL_THRESH_*`).
    pub fn refill_if_due<R: Registers>(&mut self, regs: &mut R) -> Result<usize, PortError> {
        if rx_refill_due(self.pair.rx.free(), self.depth) {
            self.refill(regs)
        } else {
            Ok(0)
        }
    }

    /// Queues one frame for sending (the doorbell waits for
    /// [`Queue::flush`], or rings first when the LLQ burst has no room).
    pub fn send<R: Registers>(&mut self, regs: &mut R, frame: &[u8]) -> Result<Sent, PortError> {
        if frame.len() > self.tx_mem.size() {
            return Ok(Sent::TooLong);
        }
        let Some(id) = self.tx_ids.take() else {
            return Ok(Sent::Full);
        };
        // Device placement pushes the first bytes with the descriptors
        // (`ena_tx_map_skb`: the whole frame when it is short).
        let max = self
            .pair
            .tx
            .llq_ring()
            .map_or(0, |l| l.info().max_header() as usize);
        let hl = frame.len().min(max);
        let rest = &frame[hl..];
        let paddr = self.tx_mem.phys(id as usize);
        self.tx_mem.write(id as usize, rest);
        let buf = [TxBuf {
            paddr,
            len: rest.len() as u16,
        }];
        let ctx = TxCtx {
            bufs: if rest.is_empty() { &[] } else { &buf },
            push_header: (hl > 0).then(|| &frame[..hl]),
            header_len: hl as u16,
            req_id: id,
            ..Default::default()
        };
        if self.pair.tx.doorbell_needed(&ctx) {
            self.flush(regs);
        }
        match self.pair.tx.prepare(&ctx) {
            Ok(slots) => {
                self.tx_slots[id as usize] = slots;
                self.pending += 1;
                self.stats.tx_packets += 1;
                self.stats.tx_bytes += frame.len() as u64;
                Ok(Sent::Queued)
            }
            Err(QueueError::NoSpace) => {
                self.tx_ids.give_back(id);
                Ok(Sent::Full)
            }
            Err(e) => Err(self.err(e)),
        }
    }

    /// Rings the Tx doorbell if packets wait for it.
    pub fn flush<R: Registers>(&mut self, regs: &mut R) {
        if self.pending > 0 {
            self.pair.tx.write_doorbell(regs);
            self.pending = 0;
            self.stats.tx_doorbells += 1;
        }
    }

    /// Takes every Tx completion: ids and ring slots freed.
    pub fn reap_tx(&mut self) -> Result<usize, PortError> {
        let mut n = 0;
        loop {
            match self.pair.tx_done.next_completed() {
                Ok(id) => {
                    if !self.tx_ids.give_back(id) {
                        return Err(PortError::UnknownReqId {
                            queue: self.index,
                            rx: false,
                            id,
                        });
                    }
                    self.pair.tx.ack(self.tx_slots[id as usize]);
                    n += 1;
                }
                Err(QueueError::NotReady) => return Ok(n),
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    /// Up to `budget` received frames, each assembled from its buffers
    /// into `frame` and handed to `deliver`.
    pub fn receive(
        &mut self,
        budget: usize,
        frame: &mut Vec<u8>,
        mut deliver: impl FnMut(&[u8]),
    ) -> Result<usize, PortError> {
        let mut bufs = [RxBuf::default(); MAX_RX_BUFS];
        let mut n = 0;
        while n < budget {
            let pkt = self
                .pair
                .rx_done
                .receive(&mut self.pair.rx, &mut bufs)
                .map_err(|e| self.err(e))?;
            if pkt.descs == 0 {
                break;
            }
            frame.clear();
            for (i, b) in bufs[..pkt.descs as usize].iter().enumerate() {
                if !self.rx_ids.give_back(b.req_id) {
                    return Err(PortError::UnknownReqId {
                        queue: self.index,
                        rx: true,
                        id: b.req_id,
                    });
                }
                let skip = if i == 0 { pkt.pkt_offset as usize } else { 0 };
                let len = (b.len as usize).min(RX_BUF - skip);
                self.rx_mem.read_append(b.req_id as usize, skip, len, frame);
            }
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += frame.len() as u64;
            deliver(frame);
            n += 1;
        }
        Ok(n)
    }
}

/// A port that did not open: the driver back (to reset the device) and why.
pub type OpenError<R, A, C, B> = (Ena<R, A, C, B>, PortError);

/// A port: the device and its queue pairs.
pub struct Port<R, A: DmaAllocator, C, B> {
    pub ena: Ena<R, A, C, B>,
    pub info: DeviceInfo,
    pub queues: Vec<Queue<A::Mem, B>>,
    pub cfg: PortConfig,
    /// The link as the last LINK_CHANGE event said (down until one comes).
    pub link_up: bool,
    pub keep_alives: u64,
    pub resets: u64,
}

impl<R, A, C, B> Port<R, A, C, B>
where
    R: Registers,
    A: DmaAllocator,
    C: Clock,
    B: DeviceMemory + Clone,
{
    /// Brings the device up as `cfg` asks, every Rx ring filled.
    pub fn open(mut ena: Ena<R, A, C, B>, cfg: PortConfig) -> Result<Self, OpenError<R, A, C, B>> {
        ena.set_llq_policy(cfg.llq);
        let mut slabs = Vec::new();
        for _ in 0..cfg.queues {
            slabs.push((
                Slab::new(&mut ena.alloc, cfg.depth as usize, cfg.tx_buf(), cfg.chunk),
                Slab::new(&mut ena.alloc, cfg.depth as usize, RX_BUF, cfg.chunk),
            ));
        }
        match Self::bring_up(&mut ena, &cfg, slabs) {
            Ok((info, queues)) => Ok(Self {
                ena,
                info,
                queues,
                cfg,
                link_up: false,
                keep_alives: 0,
                resets: 0,
            }),
            Err(e) => Err((ena, e)),
        }
    }

    #[allow(clippy::type_complexity)]
    fn bring_up(
        ena: &mut Ena<R, A, C, B>,
        cfg: &PortConfig,
        slabs: Vec<(Slab<A::Mem>, Slab<A::Mem>)>,
    ) -> Result<(DeviceInfo, Vec<Queue<A::Mem, B>>), PortError> {
        let (info, first) = ena.bring_up(cfg.depth, GROUPS)?;
        if cfg.queues as u32 > info.max_sq_num {
            return Err(PortError::TooManyQueues {
                asked: cfg.queues,
                max: info.max_sq_num,
            });
        }
        if cfg.mtu > info.max_mtu {
            return Err(PortError::MtuTooLarge {
                asked: cfg.mtu,
                max: info.max_mtu,
            });
        }
        let mut pairs = vec![first];
        for _ in 1..cfg.queues {
            pairs.push(ena.create_pair(cfg.depth)?);
        }
        if pairs.len() > 1 {
            let rx: Vec<u16> = pairs.iter().map(|p| p.rx_sq_idx).collect();
            ena.set_rss_table(&rx)?;
        }
        ena.set_mtu(cfg.mtu)?;
        let mut queues = Vec::new();
        for (i, (pair, (tx, rx))) in pairs.into_iter().zip(slabs).enumerate() {
            let mut q = Queue::new(i, pair, tx, rx, cfg.depth);
            q.refill(&mut ena.regs)?;
            queues.push(q);
        }
        Ok((info, queues))
    }

    /// Resets the device for `reason` and brings it up again over the same
    /// buffers; the counters carry on.
    pub fn restart(&mut self, reason: u8) -> Result<(), PortError> {
        let old: Vec<Queue<A::Mem, B>> = self.queues.drain(..).collect();
        let stats: Vec<QueueStats> = old.iter().map(|q| q.stats).collect();
        let slabs = old.into_iter().map(|q| (q.tx_mem, q.rx_mem)).collect();
        // A reset that fails is retried by the bring-up's own.
        let _ = self.ena.reset(reason);
        let (info, mut queues) = Self::bring_up(&mut self.ena, &self.cfg, slabs)?;
        for (q, s) in queues.iter_mut().zip(stats) {
            q.stats = s;
        }
        self.info = info;
        self.queues = queues;
        self.link_up = false;
        self.resets += 1;
        Ok(())
    }

    /// Device events: link changes and keep-alives; returns the link state
    /// when it changed.
    pub fn poll_events(&mut self) -> Option<bool> {
        let mut link = None;
        let mut keep_alives = 0;
        self.ena.poll_events(|e| match e {
            Event::LinkChange { up } => link = Some(up),
            Event::KeepAlive => keep_alives += 1,
            Event::Unhandled { .. } => {}
        });
        self.keep_alives += keep_alives;
        match link {
            Some(up) if up != self.link_up => {
                self.link_up = up;
                Some(up)
            }
            _ => None,
        }
    }

    /// Device events, then the keep-alive watchdog (the kernel driver's
    /// timer service): the link state when it changed.
    pub fn service(&mut self, keep_alive_us: u64) -> Result<Option<bool>, PortError> {
        let link = self.poll_events();
        self.check_keep_alive(keep_alive_us)?;
        Ok(link)
    }

    /// The keep-alive watchdog (`check_for_missing_keep_alive`).
    pub fn check_keep_alive(&self, timeout_us: u64) -> Result<(), PortError> {
        if self.ena.keep_alive_missing(timeout_us) {
            Err(PortError::KeepAliveLost {
                silent_ms: timeout_us / 1000,
            })
        } else {
            Ok(())
        }
    }
}
