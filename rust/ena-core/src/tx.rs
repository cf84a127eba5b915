//! The Tx submission ring in host memory and its completion ring: what
//! `ena_com_prepare_tx`, `ena_com_tx_comp_req_id_get` and `ena_com_comp_ack`
//! do for a queue whose placement policy is "host" (no LLQ).

use crate::defs::{tx_cdesc, tx_desc as td, tx_meta_desc as tm, TxCdesc, TxDesc, TxMetaDesc};
use crate::dma::DmaMemory;
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

/// A Tx submission queue with its descriptors in host memory.
pub struct TxQueue<M> {
    ring: M,
    depth: u16,
    tail: Cursor,
    next_to_comp: u16,
    dma_addr_bits: u8,
    max_header: u32,
    cached_meta: TxMeta,
    disable_meta_caching: bool,
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
    /// A queue of `depth` descriptors (a power of two) in `ring`. The phase
    /// starts at 1, as `ena_com_create_io_queue` sets it.
    pub fn new(ring: M, depth: u16, dma_addr_bits: u8, max_header: u32) -> Self {
        assert!(
            ring.len() >= depth as usize * TxDesc::SIZE,
            "ring too small for {depth} descriptors"
        );
        Self {
            ring,
            depth,
            tail: Cursor::new(depth),
            next_to_comp: 0,
            dma_addr_bits,
            max_header,
            cached_meta: TxMeta::default(),
            disable_meta_caching: false,
        }
    }

    /// Write a meta descriptor for every packet instead of only on changes.
    pub fn set_disable_meta_caching(&mut self, on: bool) {
        self.disable_meta_caching = on;
    }
    pub fn ring(&self) -> &M {
        &self.ring
    }
    pub fn ring_mut(&mut self) -> &mut M {
        &mut self.ring
    }
    pub fn tail(&self) -> u16 {
        self.tail.index
    }
    pub fn phase(&self) -> u8 {
        self.tail.phase
    }
    pub fn next_to_comp(&self) -> u16 {
        self.next_to_comp
    }
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Descriptors the device has not completed yet.
    pub fn used(&self) -> u16 {
        self.tail.index.wrapping_sub(self.next_to_comp)
    }
    /// `ena_com_free_q_entries`: one slot stays empty to tell full from empty.
    pub fn free(&self) -> i32 {
        self.depth as i32 - 1 - self.used() as i32
    }

    /// Writes a descriptor at the tail and moves the tail on
    /// (`ena_com_sq_update_reqular_queue_tail`).
    #[inline(always)]
    fn push<T: Wire>(&mut self, d: &T) {
        self.ring.store(self.tail.slot() * TxDesc::SIZE, d);
        self.tail.advance();
    }

    fn write_meta(&mut self, meta: &TxMeta) {
        let phase = self.tail.phase as u32;
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
        self.push(&d);
    }

    /// `ena_com_prepare_tx` for host placement: writes the packet's
    /// descriptors (a meta descriptor first when the offload context changed)
    /// and returns how many it used.
    pub fn prepare(&mut self, ctx: &TxCtx<'_>) -> Result<u16, Error> {
        let num_bufs = ctx.bufs.len();
        let start = self.tail.index;
        if self.free() < num_bufs as i32 + 1 {
            return Err(Error::NoSpace);
        }
        if ctx.header_len as u32 > self.max_header {
            return Err(Error::HeaderTooLarge {
                len: ctx.header_len,
                max: self.max_header,
            });
        }
        let have_meta = if self.disable_meta_caching {
            true
        } else {
            ctx.meta_valid && ctx.meta != self.cached_meta
        };
        if have_meta {
            if !self.disable_meta_caching {
                self.cached_meta = ctx.meta;
            }
            self.write_meta(&ctx.meta);
        }
        if num_bufs == 0 && ctx.header_len == 0 {
            return Ok(self.tail.index.wrapping_sub(start));
        }

        let mut d = TxDesc {
            len_ctrl: (self.tail.phase as u32) << td::PHASE_SHIFT & td::PHASE_MASK
                | td::COMP_REQ_MASK,
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
                self.push(&d);
                d = TxDesc {
                    len_ctrl: (self.tail.phase as u32) << td::PHASE_SHIFT & td::PHASE_MASK,
                    ..TxDesc::default()
                };
            }
            d.len_ctrl |= buf.len as u32 & td::LENGTH_MASK;
            d.buff_addr_lo = buf.paddr as u32;
            d.buff_addr_hi_hdr_sz |=
                addr_hi(buf.paddr, self.dma_addr_bits) as u32 & td::ADDR_HI_MASK;
        }
        d.len_ctrl |= td::LAST_MASK;
        self.push(&d);
        Ok(self.tail.index.wrapping_sub(start))
    }

    /// `ena_com_comp_ack`: the driver frees `descs` descriptors.
    pub fn ack(&mut self, descs: u16) {
        self.next_to_comp = self.next_to_comp.wrapping_add(descs);
    }
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
