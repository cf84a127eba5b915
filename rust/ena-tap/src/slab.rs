//! Packet buffers: `count` slots of `size` bytes cut from DMA chunks (a
//! chunk is at most a hugepage, so a slot never crosses one and stays
//! physically contiguous). Slot `i` belongs to request id `i`.

use ena_core::device::DmaAllocator;
use ena_core::dma::DmaMemory;

pub struct Slab<M> {
    chunks: Vec<M>,
    per_chunk: usize,
    size: usize,
}

impl<M: DmaMemory> Slab<M> {
    /// # Panics
    /// When a slot is larger than a chunk.
    pub fn new<A: DmaAllocator<Mem = M>>(
        alloc: &mut A,
        count: usize,
        size: usize,
        chunk: usize,
    ) -> Self {
        let per_chunk = chunk / size;
        assert!(
            per_chunk > 0,
            "a {size}-byte slot does not fit a {chunk}-byte chunk"
        );
        let chunks = (0..count.div_ceil(per_chunk))
            .map(|c| alloc.alloc((count - c * per_chunk).min(per_chunk) * size))
            .collect();
        Self {
            chunks,
            per_chunk,
            size,
        }
    }
    pub fn size(&self) -> usize {
        self.size
    }
    fn at(&self, i: usize) -> (usize, usize) {
        (i / self.per_chunk, i % self.per_chunk * self.size)
    }
    /// The bus address of slot `i`.
    pub fn phys(&self, i: usize) -> u64 {
        let (c, off) = self.at(i);
        self.chunks[c].phys() + off as u64
    }
    /// `data` to the start of slot `i`.
    pub fn write(&mut self, i: usize, data: &[u8]) {
        assert!(
            data.len() <= self.size,
            "{} bytes into a {}-byte slot",
            data.len(),
            self.size
        );
        let (c, off) = self.at(i);
        self.chunks[c].write(off, data);
    }
    /// `len` bytes of slot `i` from byte `skip`, appended to `out`.
    pub fn read_append(&self, i: usize, skip: usize, len: usize, out: &mut Vec<u8>) {
        let len = len.min(self.size.saturating_sub(skip));
        let (c, off) = self.at(i);
        let start = out.len();
        out.resize(start + len, 0);
        self.chunks[c].read(off + skip, &mut out[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ena_core::dma::HostMem;

    struct Alloc(u64, Vec<usize>);
    impl DmaAllocator for Alloc {
        type Mem = HostMem;
        fn alloc(&mut self, len: usize) -> HostMem {
            self.1.push(len);
            self.0 += 1 << 21;
            HostMem::new(len, self.0)
        }
    }

    #[test]
    fn slots_never_cross_a_chunk_and_keep_their_bytes() {
        let mut a = Alloc(0, Vec::new());
        // 5 slots of 3 KiB in 8 KiB chunks: 2 per chunk, 3 chunks, the last half full.
        let mut s = Slab::new(&mut a, 5, 3072, 8192);
        assert_eq!(a.1, vec![6144, 6144, 3072]);
        assert_eq!(s.phys(0), 1 << 21);
        assert_eq!(s.phys(1), (1 << 21) + 3072);
        assert_eq!(s.phys(2), 2 << 21);
        assert_eq!(s.phys(4), 3 << 21);
        s.write(3, b"frame three");
        let mut out = b"head:".to_vec();
        s.read_append(3, 6, 5, &mut out);
        assert_eq!(out, b"head:three");
    }
}
