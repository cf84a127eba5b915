//! The IO queues: a Tx doorbell sends every whole packet posted up to it
//! (`ena_com_prepare_tx` on the driver side), and a frame from the network
//! lands in the Rx buffers the driver posted (`ena_com_rx_pkt`), steered by
//! the RSS indirection table when one is set.

use ena_core::admin_defs::host_feature;
use ena_core::defs::{rx_cdesc, rx_desc, tx_desc, RxCdesc, RxDesc, TxCdesc, TxDesc};
use ena_core::wire::Wire;

use super::checker::{check, RX_CTRL_MBZ};
use super::llq::{phase_of, Assembly, TxPacket};
use super::offload::{finish_tx_checksums, rx_status, TxMeta};
use super::{Model, Ring, Room, MAX_RX_BUFS};

impl Model {
    /// A Tx doorbell: send every whole packet the driver posted up to `tail`
    /// (descriptors in host memory, or entries in device memory for LLQ).
    pub(super) fn process_tx(&mut self, sqi: usize, tail: u16) {
        let Some(Some(sq)) = self.sqs.get_mut(sqi) else {
            return;
        };
        let burst = tail.wrapping_sub(std::mem::replace(&mut sq.tail, tail));
        let (in_llq, from) = (sq.llq.is_some(), sq.ring.index());
        if let Some((l, _)) = sq.llq {
            if l.burst_entries.is_some_and(|max| burst > max) {
                self.stats.llq_burst_errors += 1;
                self.violate(check::LLQ_BURST, sqi, 0, burst as u32);
            }
        }
        let mut ids = Vec::new();
        while let Some(pkt) = self.next_tx_packet(sqi) {
            ids.push(pkt.req_id);
            let cqi = self.sqs[sqi].as_ref().map_or(0, |s| s.cq);
            self.check_tx_packet(sqi, &pkt);
            self.complete_tx(sqi, cqi, pkt);
        }
        if self.tracing() {
            let took = self.sqs[sqi]
                .as_ref()
                .map_or(from, |s| s.ring.index())
                .wrapping_sub(from);
            let unit = if in_llq { "entries" } else { "descriptors" };
            let range = match (ids.first(), ids.last()) {
                (Some(a), Some(b)) => format!(", req_id {a}..{b}"),
                _ => String::new(),
            };
            let n = ids.len();
            self.trace_doorbell(
                sqi,
                true,
                in_llq,
                &format!("tail {tail}: {n} packets in {took} {unit}{range}"),
            );
        }
    }

    /// The next whole packet posted below the doorbell's tail, the queue's
    /// place moved past it; None when there is none (yet).
    fn next_tx_packet(&mut self, sqi: usize) -> Option<TxPacket> {
        let sq = self.sqs.get(sqi)?.as_ref()?;
        let (ring, tail, llq) = (sq.ring, sq.tail, sq.llq);
        if ring.index() == tail || !ring.usable() {
            return None;
        }
        let (pkt, ring) = match llq {
            Some((l, window)) => self.read_llq_packet(sqi, l, window, ring, tail),
            None => self.read_host_packet(sqi, ring, tail),
        }?; // None: the packet's last descriptor is not posted yet
        if let Some(Some(sq)) = self.sqs.get_mut(sqi) {
            sq.ring = ring;
        }
        Some(pkt)
    }

    /// One packet's descriptors in host memory, from `ring` up to `tail`.
    fn read_host_packet(
        &mut self,
        sqi: usize,
        mut ring: Ring,
        tail: u16,
    ) -> Option<(TxPacket, Ring)> {
        let mut pkt = Assembly::new(self.max_frame(), None);
        loop {
            if ring.index() == tail {
                return None;
            }
            let slot = ring.slot() as usize;
            let mut b = [0u8; 16];
            self.dma_in(ring.entry(16), &mut b);
            let d = TxDesc::decode(&b);
            if phase_of(&d) != ring.phase() {
                // Below the doorbell's tail: rung before it was written.
                self.violate(check::STALE_PHASE, sqi, slot, d.len_ctrl);
                return None;
            }
            ring.advance();
            if d.len_ctrl & tx_desc::META_DESC_MASK != 0 {
                pkt.meta(&d, slot);
                continue;
            }
            // In host placement the header is in the first buffer.
            if pkt.add(&d, slot, |_| Vec::new(), |addr, out| self.dma_in(addr, out)) {
                return Some((pkt.done(), ring));
            }
        }
    }

    /// The protocol checker on a whole packet: what its descriptors broke,
    /// and its request id, which must be within the queue and not still
    /// out (sent and not completed); from now on it is out.
    fn check_tx_packet(&mut self, sqi: usize, pkt: &TxPacket) {
        for &(c, slot, value) in &pkt.violations {
            self.violate(c, sqi, slot, value);
        }
        let Some(Some(sq)) = self.sqs.get_mut(sqi) else {
            return;
        };
        let id = pkt.req_id as usize;
        match sq.ids.get_mut(id) {
            None => self.violate(check::TX_REQ_ID_RANGE, sqi, 0, id as u32),
            Some(out) if *out > 0 => {
                self.violate(check::TX_REQ_ID_REUSED, sqi, 0, id as u32);
            }
            Some(out) => *out = pkt.comp_req as u8,
        }
    }

    /// The completion, then the frame onto the wire (unless it was too big)
    /// with the checksums the driver left to the device.
    fn complete_tx(&mut self, sqi: usize, cqi: usize, mut pkt: TxPacket) {
        let depth = self
            .cqs
            .get(cqi)
            .and_then(|c| c.as_ref())
            .map_or(0, |c| c.ring.depth);
        let req_id = if self.faults.bad_tx_req_id.fires() {
            depth + 1
        } else {
            pkt.req_id
        };
        // Only a packet that asked for one gets a completion (COMP_REQ).
        let complete = pkt.comp_req && !self.faults.withhold_tx_completions.fires();
        if complete && self.config.tx_completion_window == 0 {
            self.write_tx_completion(sqi, cqi, req_id);
            self.io_interrupt(cqi);
        } else if complete {
            if self.pending_tx.is_empty() {
                self.bus.defer();
            }
            self.pending_tx.push((sqi, cqi, req_id));
        }
        if pkt.oversize {
            self.stats.tx_drops += 1;
            return;
        }
        let meta = self.packet_meta(sqi, pkt.meta);
        if pkt.req.l4_csum {
            self.stats.tx_csum_offloads += 1;
            if pkt.meta.is_none() && meta.is_some() {
                self.stats.cached_meta_uses += 1;
            }
        }
        finish_tx_checksums(&mut pkt.frame, pkt.req, meta);
        let frame = pkt.frame;
        self.stats.tx_pkts += 1;
        self.stats.tx_bytes += frame.len() as u64;
        self.tally_packet(sqi, frame.len());
        if !self.link_up || self.bus.transmit(&frame) {
            return;
        }
        match &self.peer {
            Some(p) => p.borrow_mut().push_back(frame),
            None => self.inbox.borrow_mut().push_back(frame),
        }
        self.deliver();
    }

    /// The meta a packet is sent with: its own (kept by the queue when it
    /// says META_STORE), else the one the queue kept (meta caching).
    fn packet_meta(&mut self, sqi: usize, own: Option<TxMeta>) -> Option<TxMeta> {
        let sq = self.sqs.get_mut(sqi)?.as_mut()?;
        match own {
            Some(m) if m.store => {
                sq.cached_meta = Some(m);
                Some(m)
            }
            Some(m) => Some(m),
            None => sq.cached_meta,
        }
    }

    fn write_tx_completion(&mut self, sqi: usize, cqi: usize, req_id: u16) {
        // The request id is the driver's again (a bad one, from the fault,
        // frees nothing).
        if let Some(out) = self
            .sqs
            .get_mut(sqi)
            .and_then(|s| s.as_mut())
            .and_then(|s| s.ids.get_mut(req_id as usize))
        {
            *out = 0;
        }
        if let Some(Some(cq)) = self.cqs.get_mut(cqi) {
            let c = TxCdesc {
                req_id,
                flags: cq.ring.phase(),
                ..Default::default()
            };
            let mut b = [0u8; 8];
            c.encode(&mut b);
            let at = cq.ring.entry(cq.entry_size);
            cq.ring.advance();
            self.write_phase_last(at, &b, 3);
        }
    }

    /// The deferred Tx completions: each window's worth in reverse send
    /// order (what `ena_clean_tx_irq` and the driver's free-id ring must
    /// take), then one interrupt per completion queue written to.
    pub fn run_deferred(&mut self) {
        let pending = std::mem::take(&mut self.pending_tx);
        let window = self.config.tx_completion_window.max(1) as usize;
        let mut touched = Vec::new();
        for group in pending.chunks(window) {
            self.stats.tx_reordered += group.len() as u64 - 1;
            for &(sqi, cqi, req_id) in group.iter().rev() {
                self.write_tx_completion(sqi, cqi, req_id);
                if !touched.contains(&cqi) {
                    touched.push(cqi);
                }
            }
        }
        for cqi in touched {
            self.io_interrupt(cqi);
        }
    }

    /// An Rx doorbell: buffers up to `tail` are the device's to fill.
    pub(super) fn post_rx(&mut self, sqi: usize, tail: u16) {
        self.check_rx_posted(sqi, tail);
        if let Some(Some(sq)) = self.sqs.get_mut(sqi) {
            let posted = tail.wrapping_sub(sq.tail);
            sq.tail = tail;
            if self.tracing() {
                self.trace_doorbell(
                    sqi,
                    false,
                    false,
                    &format!("tail {tail}: {posted} buffers posted"),
                );
            }
        }
        self.deliver();
        self.bus.rx_space();
    }

    /// The protocol checker on the Rx descriptors a doorbell posts (from
    /// the last tail to `tail`): each as `ena_com_add_single_rx_desc`
    /// writes it (FIRST, LAST and COMP_REQ, MBZ clear, the phase of its
    /// lap), with a request id within the queue and not already posted.
    fn check_rx_posted(&mut self, sqi: usize, tail: u16) {
        let Some(Some(sq)) = self.sqs.get(sqi) else {
            return;
        };
        let (ring, from) = (sq.ring, sq.tail);
        if !ring.usable() {
            return;
        }
        let depth = ring.depth;
        let wanted = rx_desc::FIRST_MASK | rx_desc::LAST_MASK | rx_desc::COMP_REQ_MASK;
        let mut i = from;
        while i != tail {
            let slot = (i & (depth - 1)) as usize;
            let mut b = [0u8; 16];
            self.dma_in(ring.base + slot as u64 * 16, &mut b);
            let d = RxDesc::decode(&b);
            let lap_phase = 1 ^ ((i / depth) & 1) as u8;
            let mbz = d.ctrl & RX_CTRL_MBZ != 0
                || d.reserved2 != 0
                || d.reserved6 != 0
                || d.reserved16_w3 != 0;
            if d.ctrl & wanted != wanted || mbz || d.ctrl & rx_desc::PHASE_MASK != lap_phase {
                self.violate(check::RX_DESC_FLAGS, sqi, slot, d.ctrl as u32);
            }
            let sq = self.sqs[sqi].as_mut().unwrap();
            match sq.ids.get_mut(d.req_id as usize) {
                Some(n) if *n == 0 => *n = 1,
                _ => self.violate(check::RX_REQ_ID_REUSED, sqi, slot, d.req_id as u32),
            }
            i = i.wrapping_add(1);
        }
    }

    /// Puts waiting frames (loopback or wire) into the Rx buffers the driver
    /// offered; a frame with no room is dropped, as a device does.
    pub fn deliver(&mut self) {
        loop {
            let Some(frame) = self.inbox.borrow_mut().pop_front() else {
                return;
            };
            self.receive_or_overrun(&frame);
        }
    }

    /// A frame from the network, dropped and counted as an overrun when
    /// the driver has not posted the buffers it needs: what hardware does
    /// (the count reaches the driver in the keep-alive event).
    pub fn receive_or_overrun(&mut self, frame: &[u8]) {
        if !self.receive(frame) {
            self.stats.rx_overruns += 1;
        }
    }

    /// Whether a frame of `len` bytes fits the Rx buffers posted now.
    /// With an indirection table set, the queue a frame needs is known only
    /// from the frame: then a frame waits in `receive` if its queue is full.
    pub fn can_receive(&self, len: usize) -> bool {
        !matches!(self.rx_target(len), Room::Wait)
    }

    /// A frame from the network into its Rx queue: the one the RSS table
    /// steers it to, else the first with room; across as many buffers as it
    /// needs (FIRST on the first completion, LAST on the last). False, and
    /// nothing consumed, when the posted buffers cannot hold it: the caller
    /// may keep it and offer it again after `rx_space`.
    pub fn receive(&mut self, frame: &[u8]) -> bool {
        if !self.link_up {
            return true; // the wire is cut: gone
        }
        if frame.len() > self.max_frame() {
            self.stats.rx_drops += 1;
            return true; // longer than any MTU the device allows: dropped
        }
        let steered = self
            .rss
            .steer(frame)
            .filter(|(q, _)| matches!(self.sqs.get(*q as usize), Some(Some(s)) if !s.tx));
        let hash = steered.map_or(0, |(_, h)| h);
        let room = match steered {
            Some((q, _)) => self.rx_room(q as usize, frame.len()),
            None => self.rx_target(frame.len()),
        };
        let (q, descs) = match room {
            Room::Fits(q, descs) => (q, descs),
            Room::Wait => return false,
            Room::Never => {
                self.stats.rx_drops += 1;
                return true; // more buffers than the driver takes per packet
            }
        };
        let flags = rx_status(frame) | rx_cdesc::BUFFER_MASK;
        let sq = self.sqs[q].as_mut().unwrap();
        let cqi = sq.cq;
        let mut ring = sq.ring;
        let mut done = 0;
        let offset = self.rx_offset();
        for (i, d) in descs.iter().enumerate() {
            ring.advance();
            // The buffer is the driver's again: its id may be posted anew.
            if let Some(n) = self.sqs[q].as_mut().unwrap().ids.get_mut(d.req_id as usize) {
                *n = n.saturating_sub(1);
            }
            let skip = if i == 0 { offset } else { 0 };
            let part = &frame[done..(done + rx_buf_len(d).saturating_sub(skip)).min(frame.len())];
            let addr = d.buff_addr_lo as u64 | (d.buff_addr_hi as u64) << 32;
            self.dma_out(addr + skip as u64, part);
            done += part.len();
            let last = i + 1 == descs.len();
            let without_last = last && self.faults.rx_cdesc_without_last.fires();
            let Some(Some(cq)) = self.cqs.get_mut(cqi) else {
                continue;
            };
            let mut status = flags | (cq.ring.phase() as u32) << rx_cdesc::PHASE_SHIFT;
            if i == 0 {
                status |= rx_cdesc::FIRST_MASK;
            }
            if last && !without_last {
                status |= rx_cdesc::LAST_MASK;
            }
            let c = RxCdesc {
                status,
                length: part.len() as u16,
                req_id: d.req_id,
                hash,
                offset: skip as u8,
                ..Default::default()
            };
            let mut b = [0u8; 16];
            c.encode(&mut b);
            let (at, len) = (cq.ring.entry(cq.entry_size), cq.entry_size.min(16) as usize);
            cq.ring.advance();
            self.write_phase_last(at, &b[..len], 3);
        }
        self.sqs[q].as_mut().unwrap().ring = ring;
        self.respond_to_violations();
        self.stats.rx_pkts += 1;
        self.stats.rx_bytes += frame.len() as u64;
        self.tally_packet(q, frame.len());
        self.io_interrupt(cqi);
        true
    }

    fn rx_target(&self, len: usize) -> Room {
        let mut best = Room::Wait;
        for q in (0..self.sqs.len()).filter(|&q| matches!(&self.sqs[q], Some(s) if !s.tx)) {
            match self.rx_room(q, len) {
                Room::Wait => {}
                Room::Never => best = Room::Never,
                fits => return fits,
            }
        }
        best
    }

    /// Where a frame of `len` bytes would go in Rx queue `q`.
    fn rx_room(&self, q: usize, len: usize) -> Room {
        let Some(sq) = self.sqs[q].as_ref() else {
            return Room::Wait;
        };
        let mut ring = sq.ring;
        let mut descs = Vec::new();
        let mut room = 0usize;
        while room < len.max(1) {
            if descs.len() == MAX_RX_BUFS {
                return Room::Never;
            }
            if ring.index() == sq.tail || descs.len() >= ring.depth as usize || !ring.usable() {
                return Room::Wait;
            }
            let mut b = [0u8; 16];
            self.dma_in(ring.entry(16), &mut b);
            let d = RxDesc::decode(&b);
            if d.ctrl & rx_desc::PHASE_MASK != ring.phase() {
                return Room::Wait; // not written in this lap yet
            }
            let skip = if descs.is_empty() {
                self.rx_offset()
            } else {
                0
            };
            room += rx_buf_len(&d).saturating_sub(skip);
            descs.push(d);
            ring.advance();
        }
        Room::Fits(q, descs)
    }
}

impl Model {
    /// Where a frame starts in its first buffer: the configured offset,
    /// once the driver said it handles one (host info `rx_offset`).
    pub(super) fn rx_offset(&self) -> usize {
        if self.driver_features & host_feature::RX_OFFSET != 0 {
            self.config.rx_offset as usize
        } else {
            0
        }
    }
}

/// An Rx buffer's length: 0 stands for 64 KiB (`ena_eth_io_rx_desc.length`).
fn rx_buf_len(d: &RxDesc) -> usize {
    match d.length {
        0 => 1 << 16,
        n => n as usize,
    }
}
