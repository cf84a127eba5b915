//! The Tx submission queue and its completion ring: what
//! `ena_com_prepare_tx`, `ena_com_tx_comp_req_id_get` and `ena_com_comp_ack`
//! do. A queue's descriptors go to host memory (host placement) or, built
//! in a bounce buffer, to the device's own memory (device placement, LLQ:
//! [`crate::llq`]); the packet logic is one and the same for both.

use alloc::boxed::Box;

use crate::defs::{tx_cdesc, tx_desc as td, tx_meta_desc as tm, TxCdesc, TxDesc, TxMetaDesc};
use crate::devmem::{DeviceMemory, NoDeviceMemory};
use crate::dma::DmaMemory;
use crate::llq::{LlqInfo, LlqRing};
use crate::regs::Registers;
use crate::ring::Cursor;
use crate::wire::Wire;
use crate::Error;

/// `struct ena_com_tx_meta`: the offload context a meta descriptor carries.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct TxMeta {
    pub mss: u16,
    pub l3_hdr_len: u16,
    pub l3_hdr_offset: u16,
    /// In 32-bit words.
    pub l4_hdr_len: u16,
}

/// `struct ena_com_buf`: one DMA buffer of a packet.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct TxBuf {
    pub paddr: u64,
    pub len: u16,
}

/// `struct ena_com_tx_ctx`: one packet to send.
#[derive(Clone, Copy, Default, Debug)]
pub struct TxCtx<'a> {
    pub meta: TxMeta,
    pub bufs: &'a [TxBuf],
    /// Device placement: the packet's first `header_len` bytes, copied into
    /// its first entry (the buffers then hold the rest). Host placement
    /// ignores it: the header is the start of the first buffer.
    pub push_header: Option<&'a [u8]>,
    pub l3_proto: u8,
    pub l4_proto: u8,
    pub req_id: u16,
    pub header_len: u16,
    pub meta_valid: bool,
    pub tso: bool,
    pub l3_csum: bool,
    pub l4_csum: bool,
    pub l4_csum_partial: bool,
    pub df: bool,
}

/// `enum ena_admin_placement_policy_type`: where the descriptors go.
enum Sq<M, B> {
    Host(HostRing<M>),
    /// Boxed: its bounce buffer is an entry (up to 256 bytes) long.
    Dev(Box<LlqRing<B>>),
}

/// The ring in host memory the device reads descriptors from.
struct HostRing<M> {
    ring: M,
}

/// What `ena_com_prepare_tx` asks of the queue's placement: room
/// (`ena_com_sq_have_enough_space`), the pushed header
/// (`ena_com_write_header_to_bounce`), one descriptor written and the tail
/// moved (`get_tx_sq_desc`, `ena_com_sq_update_tail`) and the end of a
/// packet (`ena_com_close_bounce_buffer`). The packet logic is generic over
/// it, so each placement compiles to its own loop without a branch per
/// descriptor.
trait Placement {
    fn has_room(&self, free: i32, required: u16) -> bool;
    fn push_header(&mut self, ctx: &TxCtx<'_>) -> Result<(), Error>;
    fn push<T: Wire>(&mut self, tail: &mut Cursor, d: &T) -> Result<(), Error>;
    fn close(&mut self, tail: &mut Cursor) -> Result<(), Error>;
}

impl<M: DmaMemory> Placement for HostRing<M> {
    #[inline(always)]
    fn has_room(&self, free: i32, required: u16) -> bool {
        free >= required as i32
    }
    #[inline(always)]
    fn push_header(&mut self, _ctx: &TxCtx<'_>) -> Result<(), Error> {
        Ok(())
    }
    #[inline(always)]
    fn push<T: Wire>(&mut self, tail: &mut Cursor, d: &T) -> Result<(), Error> {
        self.ring.store(tail.slot() * TxDesc::SIZE, d);
        tail.advance();
        Ok(())
    }
    #[inline(always)]
    fn close(&mut self, _tail: &mut Cursor) -> Result<(), Error> {
        Ok(())
    }
}

impl<B: DeviceMemory> Placement for LlqRing<B> {
    /// An estimate, as ena_com's: the packet's descriptors in whole entries,
    /// plus one for the header's entry and one for rounding down.
    #[inline(always)]
    fn has_room(&self, free: i32, required: u16) -> bool {
        free > (required / self.info().descs_per_entry) as i32 + 2
    }
    #[inline(always)]
    fn push_header(&mut self, ctx: &TxCtx<'_>) -> Result<(), Error> {
        let len = ctx.header_len as usize;
        match ctx.push_header {
            Some(h) if h.len() >= len => self.write_header(&h[..len]),
            _ => Err(Error::NoPushHeader),
        }
    }
    #[inline(always)]
    fn push<T: Wire>(&mut self, tail: &mut Cursor, d: &T) -> Result<(), Error> {
        self.put(d);
        self.update_tail(tail)
    }
    #[inline(always)]
    fn close(&mut self, tail: &mut Cursor) -> Result<(), Error> {
        LlqRing::close(self, tail)
    }
}

/// What a Tx queue keeps whatever its placement.
struct SqState {
    depth: u16,
    /// In descriptors (host placement) or entries (device placement).
    tail: Cursor,
    next_to_comp: u16,
    dma_addr_bits: u8,
    max_header: u32,
    cached_meta: TxMeta,
    disable_meta_caching: bool,
    /// The queue's doorbell register in BAR0.
    doorbell: u32,
}

/// A Tx submission queue. `B` is the device memory a device-placement
/// queue writes to; host-only queues leave it at [`NoDeviceMemory`].
pub struct TxQueue<M, B = NoDeviceMemory> {
    sq: Sq<M, B>,
    st: SqState,
}

/// `GENMASK_ULL(bits - 1, 32)`: the address bits above 32 the device takes.
#[inline(always)]
fn addr_hi(paddr: u64, dma_addr_bits: u8) -> u64 {
    let below = if dma_addr_bits >= 64 {
        u64::MAX
    } else {
        (1u64 << dma_addr_bits) - 1
    };
    (paddr & below & !0xffff_ffffu64) >> 32
}

impl<M: DmaMemory> TxQueue<M> {
    /// A host-placement queue of `depth` descriptors (a power of two) in
    /// `ring`. The phase starts at 1, as `ena_com_create_io_queue` sets it.
    pub fn new(ring: M, depth: u16, dma_addr_bits: u8, max_header: u32) -> Self {
        Self::host(ring, depth, dma_addr_bits, max_header)
    }
}

impl<M: DmaMemory, B: DeviceMemory> TxQueue<M, B> {
    fn with(sq: Sq<M, B>, depth: u16, dma_addr_bits: u8, max_header: u32, no_cache: bool) -> Self {
        Self {
            sq,
            st: SqState {
                depth,
                tail: Cursor::new(depth),
                next_to_comp: 0,
                dma_addr_bits,
                max_header,
                cached_meta: TxMeta::default(),
                disable_meta_caching: no_cache,
                doorbell: 0,
            },
        }
    }

    /// [`TxQueue::new`] for a queue whose device could also take LLQ.
    pub fn host(ring: M, depth: u16, dma_addr_bits: u8, max_header: u32) -> Self {
        assert!(
            ring.len() >= depth as usize * TxDesc::SIZE,
            "ring too small for {depth} descriptors"
        );
        Self::with(
            Sq::Host(HostRing { ring }),
            depth,
            dma_addr_bits,
            max_header,
            false,
        )
    }

    /// A device-placement queue of `depth` entries laid out as `info`, at
    /// byte `base` of `bar` (`llq_descriptors_offset`). Headers up to
    /// `max_header` are taken (the layout's [`LlqInfo::max_header`] as
    /// ena_com sets it); meta caching as the layout says
    /// (`ena_com_init_io_sq`).
    pub fn llq(
        bar: B,
        base: usize,
        depth: u16,
        dma_addr_bits: u8,
        max_header: u32,
        info: LlqInfo,
    ) -> Self {
        let no_cache = info.disable_meta_caching;
        Self::with(
            Sq::Dev(Box::new(LlqRing::new(bar, base, info))),
            depth,
            dma_addr_bits,
            max_header,
            no_cache,
        )
    }

    /// Write a meta descriptor for every packet instead of only on changes.
    pub fn set_disable_meta_caching(&mut self, on: bool) {
        self.st.disable_meta_caching = on;
    }
    /// Where [`TxQueue::write_doorbell`] writes the tail.
    pub fn set_doorbell(&mut self, offset: u32) {
        self.st.doorbell = offset;
    }
    /// The ring in host memory.
    ///
    /// # Panics
    /// In device placement, whose ring is in the device's memory.
    pub fn ring(&self) -> &M {
        match &self.sq {
            Sq::Host(h) => &h.ring,
            Sq::Dev(_) => panic!("a device-placement queue has no ring in host memory"),
        }
    }
    /// As [`TxQueue::ring`].
    pub fn ring_mut(&mut self) -> &mut M {
        match &mut self.sq {
            Sq::Host(h) => &mut h.ring,
            Sq::Dev(_) => panic!("a device-placement queue has no ring in host memory"),
        }
    }
    /// The LLQ writer of a device-placement queue: its layout, the entry
    /// being built and the burst budget.
    pub fn llq_ring(&self) -> Option<&LlqRing<B>> {
        match &self.sq {
            Sq::Dev(l) => Some(l),
            Sq::Host(_) => None,
        }
    }
    pub fn tail(&self) -> u16 {
        self.st.tail.index
    }
    pub fn phase(&self) -> u8 {
        self.st.tail.phase
    }
    pub fn next_to_comp(&self) -> u16 {
        self.st.next_to_comp
    }
    pub fn depth(&self) -> u16 {
        self.st.depth
    }

    /// Descriptors (entries, in device placement) not completed yet.
    pub fn used(&self) -> u16 {
        self.st.tail.index.wrapping_sub(self.st.next_to_comp)
    }
    /// `ena_com_free_q_entries`: one slot stays empty to tell full from empty.
    pub fn free(&self) -> i32 {
        self.st.depth as i32 - 1 - self.used() as i32
    }

    /// `ena_com_prepare_tx`: writes the packet's descriptors (a meta
    /// descriptor first when the offload context changed) and returns how
    /// many slots of the ring it used: descriptors in host placement,
    /// entries in device placement.
    pub fn prepare(&mut self, ctx: &TxCtx<'_>) -> Result<u16, Error> {
        match &mut self.sq {
            Sq::Host(h) => prepare_on(h, &mut self.st, ctx),
            Sq::Dev(l) => prepare_on(&mut **l, &mut self.st, ctx),
        }
    }

    /// `ena_com_is_doorbell_needed`: true when the packet would take more
    /// LLQ entries than the burst has left, so the doorbell must be rung
    /// before it. Never in host placement or without a burst limit.
    pub fn doorbell_needed(&self, ctx: &TxCtx<'_>) -> bool {
        let Sq::Dev(l) = &self.sq else {
            return false;
        };
        if !l.burst_limited() {
            return false;
        }
        let mut descs = ctx.bufs.len() as u16;
        if l.info().disable_meta_caching || meta_changed(&self.st, ctx) {
            descs += 1;
        }
        l.info().entries_for(descs) > l.entries_in_tx_burst_left()
    }

    /// `ena_com_write_tx_sq_doorbell`: the tail to the queue's doorbell;
    /// in device placement the burst budget starts again.
    pub fn write_doorbell<R: Registers>(&mut self, regs: &mut R) {
        regs.write32(self.st.doorbell, self.st.tail.index as u32);
        if let Sq::Dev(l) = &mut self.sq {
            l.refill_burst();
        }
    }

    /// `ena_com_comp_ack`: the driver frees `descs` descriptors.
    pub fn ack(&mut self, descs: u16) {
        self.st.next_to_comp = self.st.next_to_comp.wrapping_add(descs);
    }
}

/// `ena_com_meta_desc_changed`
#[inline(always)]
fn meta_changed(st: &SqState, ctx: &TxCtx<'_>) -> bool {
    ctx.meta_valid && ctx.meta != st.cached_meta
}

/// `ena_com_create_meta`
#[inline(always)]
fn write_meta<P: Placement>(p: &mut P, st: &mut SqState, meta: &TxMeta) -> Result<(), Error> {
    let phase = st.tail.phase as u32;
    let d = TxMetaDesc {
        len_ctrl: tm::META_DESC_MASK
            | tm::EXT_VALID_MASK
            | (((meta.mss as u32) >> 10) << tm::MSS_HI_SHIFT) & tm::MSS_HI_MASK
            | tm::ETH_META_TYPE_MASK
            | (phase << tm::PHASE_SHIFT) & tm::PHASE_MASK
            | tm::FIRST_MASK
            | tm::META_STORE_MASK,
        word1: 0,
        word2: ((meta.mss as u32) << tm::MSS_LO_SHIFT) & tm::MSS_LO_MASK
            | meta.l3_hdr_len as u32 & tm::L3_HDR_LEN_MASK
            | ((meta.l3_hdr_offset as u32) << tm::L3_HDR_OFF_SHIFT) & tm::L3_HDR_OFF_MASK
            | ((meta.l4_hdr_len as u32) << tm::L4_HDR_LEN_IN_WORDS_SHIFT)
                & tm::L4_HDR_LEN_IN_WORDS_MASK,
        reserved: 0,
    };
    p.push(&mut st.tail, &d)
}

/// `ena_com_prepare_tx` over one placement. The steps and their order are
/// ena_com's, errors included: a failure part-way leaves the queue as the
/// C leaves it (the driver then resets the device).
#[inline(always)]
fn prepare_on<P: Placement>(p: &mut P, st: &mut SqState, ctx: &TxCtx<'_>) -> Result<u16, Error> {
    let num_bufs = ctx.bufs.len();
    let start = st.tail.index;
    // One more for a possible meta descriptor.
    let free = st.depth as i32 - 1 - st.tail.index.wrapping_sub(st.next_to_comp) as i32;
    if !p.has_room(free, (num_bufs as u16).wrapping_add(1)) {
        return Err(Error::NoSpace);
    }
    if ctx.header_len as u32 > st.max_header {
        return Err(Error::HeaderTooLarge {
            len: ctx.header_len,
            max: st.max_header,
        });
    }
    p.push_header(ctx)?;
    let have_meta = st.disable_meta_caching || meta_changed(st, ctx);
    if have_meta {
        if !st.disable_meta_caching {
            st.cached_meta = ctx.meta;
        }
        write_meta(p, st, &ctx.meta)?;
    }
    if num_bufs == 0 && ctx.header_len == 0 {
        p.close(&mut st.tail)?;
        return Ok(st.tail.index.wrapping_sub(start));
    }

    let mut d = TxDesc {
        len_ctrl: (st.tail.phase as u32) << td::PHASE_SHIFT & td::PHASE_MASK | td::COMP_REQ_MASK,
        meta_ctrl: ((ctx.req_id as u32) << td::REQ_ID_LO_SHIFT) & td::REQ_ID_LO_MASK
            | ((ctx.df as u32) << td::DF_SHIFT) & td::DF_MASK,
        buff_addr_lo: 0,
        buff_addr_hi_hdr_sz: ((ctx.header_len as u32) << td::HEADER_LENGTH_SHIFT)
            & td::HEADER_LENGTH_MASK,
    };
    if !have_meta {
        d.len_ctrl |= td::FIRST_MASK;
    }
    d.len_ctrl |= (((ctx.req_id as u32) >> 10) << td::REQ_ID_HI_SHIFT) & td::REQ_ID_HI_MASK;
    if ctx.meta_valid {
        d.meta_ctrl |= ((ctx.tso as u32) << td::TSO_EN_SHIFT) & td::TSO_EN_MASK
            | ctx.l3_proto as u32 & td::L3_PROTO_IDX_MASK
            | ((ctx.l4_proto as u32) << td::L4_PROTO_IDX_SHIFT) & td::L4_PROTO_IDX_MASK
            | ((ctx.l3_csum as u32) << td::L3_CSUM_EN_SHIFT) & td::L3_CSUM_EN_MASK
            | ((ctx.l4_csum as u32) << td::L4_CSUM_EN_SHIFT) & td::L4_CSUM_EN_MASK
            | ((ctx.l4_csum_partial as u32) << td::L4_CSUM_PARTIAL_SHIFT)
                & td::L4_CSUM_PARTIAL_MASK;
    }
    for (i, buf) in ctx.bufs.iter().enumerate() {
        // The first buffer shares the descriptor that carries the header.
        if i != 0 {
            p.push(&mut st.tail, &d)?;
            d = TxDesc {
                len_ctrl: (st.tail.phase as u32) << td::PHASE_SHIFT & td::PHASE_MASK,
                ..TxDesc::default()
            };
        }
        d.len_ctrl |= buf.len as u32 & td::LENGTH_MASK;
        d.buff_addr_lo = buf.paddr as u32;
        d.buff_addr_hi_hdr_sz |= addr_hi(buf.paddr, st.dma_addr_bits) as u32 & td::ADDR_HI_MASK;
    }
    d.len_ctrl |= td::LAST_MASK;
    p.push(&mut st.tail, &d)?;
    p.close(&mut st.tail)?;
    Ok(st.tail.index.wrapping_sub(start))
}

/// A Tx completion ring: the device writes one `TxCdesc` per packet.
pub struct TxCompletions<M> {
    ring: M,
    depth: u16,
    head: Cursor,
    check_mbz: bool,
}

impl<M: DmaMemory> TxCompletions<M> {
    pub fn new(ring: M, depth: u16) -> Self {
        assert!(
            ring.len() >= depth as usize * TxCdesc::SIZE,
            "ring too small for {depth} completions"
        );
        Self {
            ring,
            depth,
            head: Cursor::new(depth),
            check_mbz: false,
        }
    }
    /// Refuse completions with must-be-zero bits set (the device's
    /// `ENA_ADMIN_CDESC_MBZ` capability).
    pub fn set_check_mbz(&mut self, on: bool) {
        self.check_mbz = on;
    }
    pub fn ring_mut(&mut self) -> &mut M {
        &mut self.ring
    }
    pub fn head(&self) -> u16 {
        self.head.index
    }
    pub fn phase(&self) -> u8 {
        self.head.phase
    }

    /// `ena_com_tx_comp_req_id_get`: the next completed request id.
    pub fn next_completed(&mut self) -> Result<u16, Error> {
        let c: TxCdesc = self.ring.load(self.head.slot() * TxCdesc::SIZE);
        if c.flags & tx_cdesc::PHASE_MASK != self.head.phase {
            return Err(Error::NotReady);
        }
        if self.check_mbz && c.flags & tx_cdesc::MBZ6_MASK != 0 {
            return Err(Error::MalformedCompletion);
        }
        if c.req_id >= self.depth {
            return Err(Error::InvalidReqId(c.req_id));
        }
        self.head.advance();
        Ok(c.req_id)
    }
}
