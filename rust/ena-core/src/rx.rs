//! The Rx submission ring (empty buffers for the device) and the Rx
//! completion ring (filled buffers): `ena_com_add_single_rx_desc` and
//! `ena_com_rx_pkt` with `ena_com_cdesc_rx_pkt_get`.

use crate::defs::{rx_cdesc as rc, rx_desc as rd, RxCdesc, RxDesc};
use crate::dma::DmaMemory;
use crate::ring::Cursor;
use crate::wire::Wire;
use crate::Error;

/// An Rx submission queue with its descriptors in host memory.
pub struct RxQueue<M> {
    ring: M,
    depth: u16,
    tail: Cursor,
    next_to_comp: u16,
    dma_addr_bits: u8,
}

impl<M: DmaMemory> RxQueue<M> {
    pub fn new(ring: M, depth: u16, dma_addr_bits: u8) -> Self {
        assert!(
            ring.len() >= depth as usize * RxDesc::SIZE,
            "ring too small for {depth} descriptors"
        );
        Self {
            ring,
            depth,
            tail: Cursor::new(depth),
            next_to_comp: 0,
            dma_addr_bits,
        }
    }
    pub fn ring(&self) -> &M {
        &self.ring
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
    pub fn free(&self) -> i32 {
        self.depth as i32 - 1 - self.tail.index.wrapping_sub(self.next_to_comp) as i32
    }

    /// `ena_com_add_single_rx_desc`: offer one buffer of `len` bytes.
    pub fn add(&mut self, paddr: u64, len: u16, req_id: u16) -> Result<(), Error> {
        if self.free() < 1 {
            return Err(Error::NoSpace);
        }
        let below = if self.dma_addr_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.dma_addr_bits) - 1
        };
        let d = RxDesc {
            length: len,
            ctrl: rd::FIRST_MASK
                | rd::LAST_MASK
                | rd::COMP_REQ_MASK
                | (self.tail.phase & rd::PHASE_MASK),
            req_id,
            buff_addr_lo: paddr as u32,
            buff_addr_hi: ((paddr & below & !0xffff_ffffu64) >> 32) as u16,
            ..RxDesc::default()
        };
        self.ring.store(self.tail.slot() * RxDesc::SIZE, &d);
        self.tail.advance();
        Ok(())
    }
}

/// `struct ena_com_rx_buf_info`: one filled buffer of a packet.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct RxBuf {
    pub len: u16,
    pub req_id: u16,
}

/// What `ena_com_rx_pkt` reports about a received packet.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct RxPacket {
    /// Completion descriptors (= buffers) of the packet; 0: none complete yet.
    pub descs: u16,
    pub l3_proto: u8,
    pub l4_proto: u8,
    pub l3_csum_err: bool,
    pub l4_csum_err: bool,
    pub l4_csum_checked: bool,
    pub frag: bool,
    pub hash: u32,
    pub pkt_offset: u8,
}

/// An Rx completion ring.
pub struct RxCompletions<M> {
    ring: M,
    depth: u16,
    entry_size: usize,
    head: Cursor,
    pkt_count: u16,
    pkt_start: u16,
    check_mbz: bool,
}

impl<M: DmaMemory> RxCompletions<M> {
    /// `entry_size` is 16 (base) or 32 (extended, with timestamps) bytes.
    pub fn new(ring: M, depth: u16, entry_size: usize) -> Self {
        assert!(
            entry_size == 16 || entry_size == 32,
            "completion entry size {entry_size} is neither 16 nor 32"
        );
        assert!(
            ring.len() >= depth as usize * entry_size,
            "ring too small for {depth} completions"
        );
        Self {
            ring,
            depth,
            entry_size,
            head: Cursor::new(depth),
            pkt_count: 0,
            pkt_start: 0,
            check_mbz: false,
        }
    }
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

    #[inline(always)]
    fn at(&self, idx: u16) -> RxCdesc {
        self.ring
            .load((idx & (self.depth - 1)) as usize * self.entry_size)
    }

    /// `ena_com_cdesc_rx_pkt_get`: consume completions up to a packet's last
    /// one; `Some((first index, count))` when a whole packet is there.
    fn take_packet(&mut self) -> Result<Option<(u16, u16)>, Error> {
        let mut count = self.pkt_count;
        loop {
            let c = self.at(self.head.index);
            if ((c.status & rc::PHASE_MASK) >> rc::PHASE_SHIFT) as u8 != self.head.phase {
                self.pkt_count = count;
                return Ok(None);
            }
            if c.status & rc::FIRST_MASK != 0 && count != 0 {
                return Err(Error::MalformedCompletion);
            }
            if self.check_mbz && c.status & (rc::MBZ7_MASK | rc::MBZ17_MASK) != 0 {
                return Err(Error::MalformedCompletion);
            }
            self.head.advance();
            count += 1;
            if c.status & rc::LAST_MASK != 0 {
                let first = self.pkt_start;
                self.pkt_count = 0;
                self.pkt_start = self.head.slot() as u16;
                return Ok(Some((first, count)));
            }
        }
    }

    /// `ena_com_rx_pkt`: the next received packet's buffers go into `bufs`;
    /// `descs == 0` means no complete packet yet. `sq` learns how many of its
    /// descriptors the device used.
    pub fn receive<Q: DmaMemory>(
        &mut self,
        sq: &mut RxQueue<Q>,
        bufs: &mut [RxBuf],
    ) -> Result<RxPacket, Error> {
        let Some((first, n)) = self.take_packet()? else {
            return Ok(RxPacket::default());
        };
        if n as usize > bufs.len() {
            return Err(Error::NoSpace);
        }
        let mut c = self.at(first);
        let pkt_offset = c.offset;
        for (i, b) in bufs.iter_mut().enumerate().take(n as usize) {
            c = self.at(first.wrapping_add(i as u16));
            *b = RxBuf {
                len: c.length,
                req_id: c.req_id,
            };
            if c.req_id >= self.depth {
                return Err(Error::InvalidReqId(c.req_id));
            }
        }
        sq.next_to_comp = sq.next_to_comp.wrapping_add(n);
        let s = c.status;
        Ok(RxPacket {
            descs: n,
            l3_proto: (s & rc::L3_PROTO_IDX_MASK) as u8,
            l4_proto: ((s & rc::L4_PROTO_IDX_MASK) >> rc::L4_PROTO_IDX_SHIFT) as u8,
            l3_csum_err: s & rc::L3_CSUM_ERR_MASK != 0,
            l4_csum_err: s & rc::L4_CSUM_ERR_MASK != 0,
            l4_csum_checked: s & rc::L4_CSUM_CHECKED_MASK != 0,
            frag: s & rc::IPV4_FRAG_MASK != 0,
            hash: c.hash,
            pkt_offset,
        })
    }
}
