//! BAR0 as the driver's `ena_com` reads and writes it: the version and
//! capability registers, the reset handshake (`ena_com_dev_reset`), the
//! admin and AENQ ring bases, read-less reads (`ena_com_reg_bar_read32`),
//! the doorbells and unmask registers of the IO queues, and the test port.

use ena_core::regs::{self, dev_ctl, dev_sts, Registers};

use super::{check, test_port, Model, Ring, CQ_UNMASK_BASE, SQ_DOORBELL_BASE};

/// `ENA_REGS_DEV_CTL_RESET_REASON_EXT_MASK`: the reason's high bits.
const RESET_REASON_EXT_MASK: u32 = 0xf << 24;

/// `ENA_REGS_ADMIN_INTR_MASK`: `ena_com_set_admin_polling_mode` sets it.
const ADMIN_INTR_MASK: u32 = 1;

/// The test port's window.
const TEST_PORT: std::ops::Range<u32> = test_port::BASE..test_port::BASE + test_port::SIZE;

/// `addr` with its low or high 32 bits replaced (a 64-bit base written as
/// two registers).
fn set_lo(addr: u64, v: u32) -> u64 {
    (addr & !0xffff_ffff) | v as u64
}
fn set_hi(addr: u64, v: u32) -> u64 {
    (addr & 0xffff_ffff) | (v as u64) << 32
}

impl Registers for Model {
    fn read32(&mut self, off: u32) -> u32 {
        let v = self.register(off);
        if !TEST_PORT.contains(&off) {
            self.trace_register(false, off, v);
        }
        v
    }

    fn write32(&mut self, off: u32, v: u32) {
        // Doorbells and unmasks are traced (and tallied) where they act;
        // a read-less read is one line with its answer.
        let io = (SQ_DOORBELL_BASE..CQ_UNMASK_BASE + 0x1000).contains(&off);
        if !io && !TEST_PORT.contains(&off) && off != regs::MMIO_REG_READ {
            self.trace_register(true, off, v);
        }
        self.register_write(off, v);
        self.respond_to_violations();
    }
}

impl Model {
    /// A register's value (what a read returns, plain or read-less).
    fn register(&mut self, off: u32) -> u32 {
        let c = &self.config;
        match off {
            regs::VERSION => 0x0000_0201,
            regs::CONTROLLER_VERSION => 0x0001_0001,
            regs::CAPS => {
                (c.reset_timeout as u32 & 0x1f) << 1
                    | (c.dma_width as u32) << 8
                    | (c.admin_timeout as u32 & 0xf) << 16
            }
            regs::DEV_STS => {
                dev_sts::READY_MASK
                    | if self.resetting {
                        dev_sts::RESET_IN_PROGRESS_MASK
                    } else {
                        0
                    }
            }
            regs::AQ_CAPS => self.aq.depth as u32,
            o if TEST_PORT.contains(&o) => self.test_port_read(o),
            _ => 0,
        }
    }

    fn register_write(&mut self, off: u32, v: u32) {
        match off {
            regs::DEV_CTL => self.dev_ctl(v),
            regs::AQ_BASE_LO => self.aq.base = set_lo(self.aq.base, v),
            regs::AQ_BASE_HI => self.aq.base = set_hi(self.aq.base, v),
            regs::AQ_CAPS => self.aq = Ring::new(self.aq.base, v as u16),
            regs::ACQ_BASE_LO => self.acq.base = set_lo(self.acq.base, v),
            regs::ACQ_BASE_HI => self.acq.base = set_hi(self.acq.base, v),
            regs::ACQ_CAPS => self.acq = Ring::new(self.acq.base, v as u16),
            regs::AENQ_BASE_LO => self.aenq.base = set_lo(self.aenq.base, v),
            regs::AENQ_BASE_HI => self.aenq.base = set_hi(self.aenq.base, v),
            regs::AENQ_CAPS => self.aenq = Ring::new(self.aenq.base, v as u16),
            regs::AENQ_HEAD_DB => self.aenq_head_moved(v as u16),
            regs::INTR_MASK => self.admin_intr_masked = v & ADMIN_INTR_MASK != 0,
            regs::AQ_DB => self.process_admin(v as u16),
            regs::MMIO_RESP_LO => self.readless_resp = set_lo(self.readless_resp, v),
            regs::MMIO_RESP_HI => self.readless_resp = set_hi(self.readless_resp, v),
            regs::MMIO_REG_READ => self.readless_read(v),
            o if (SQ_DOORBELL_BASE..CQ_UNMASK_BASE).contains(&o) => {
                self.doorbell(((o - SQ_DOORBELL_BASE) / 4) as usize, v as u16)
            }
            o if (CQ_UNMASK_BASE..CQ_UNMASK_BASE + 0x1000).contains(&o) => {
                self.unmask(((o - CQ_UNMASK_BASE) / 4) as usize, v)
            }
            o if TEST_PORT.contains(&o) => self.test_port_write(o, v),
            _ => {}
        }
    }

    /// DEV_CTL: a reset request forgets everything the driver set up; its
    /// release ends the reset (unless the fault keeps the device in it).
    fn dev_ctl(&mut self, v: u32) {
        if v & dev_ctl::DEV_RESET_MASK != 0 && v & RESET_REASON_EXT_MASK != 0 {
            // Extended reasons need ENA_ADMIN_EXTENDED_RESET_REASONS, not offered.
            self.violate(check::RESET_REASON_RANGE, 0, 0, v);
        }
        if v & dev_ctl::DEV_RESET_MASK != 0 {
            self.resetting = true;
            self.last_reset_reason =
                (v & dev_ctl::RESET_REASON_MASK) >> dev_ctl::RESET_REASON_SHIFT;
            self.stats.resets += 1;
            self.reset();
        } else if !self.faults.reset_stuck.fires() {
            self.resetting = false;
        }
    }

    /// `ena_com_reg_bar_read32`: the register's value written by DMA where
    /// MMIO_RESP points, with the request id the driver polls for.
    fn readless_read(&mut self, v: u32) {
        // No address since the last reset: nowhere to answer.
        if self.readless_resp == 0 || self.faults.no_readless_answer.fires() {
            return;
        }
        self.stats.readless_reads += 1;
        let (req_id, reg) = (v as u16, v >> 16);
        let value = self.register(reg);
        if self.tracing() {
            self.trace(
                "write MMIO_REG_READ",
                &format!(
                    "read-less read of {} (req_id {req_id}) = {value:#010x}{}",
                    crate::trace::decode::reg_name(reg),
                    crate::trace::decode::reg_fields(reg, value)
                ),
            );
        }
        let mut b = [0u8; 8];
        b[0..2].copy_from_slice(&req_id.to_le_bytes());
        b[2..4].copy_from_slice(&(reg as u16).to_le_bytes());
        b[4..8].copy_from_slice(&value.to_le_bytes());
        self.dma_out(self.readless_resp, &b);
    }

    /// A submission queue's doorbell: Tx sends, Rx takes the new buffers.
    /// One whose tail goes backwards or past a ring's worth of entries is
    /// a violation, and ignored.
    fn doorbell(&mut self, sqi: usize, tail: u16) {
        let Some(Some(sq)) = self.sqs.get(sqi) else {
            self.violate(check::DOORBELL_UNKNOWN_QUEUE, sqi, 0, tail as u32);
            return;
        };
        if (tail.wrapping_sub(sq.tail) as i16) < 0 {
            self.violate(
                check::DOORBELL_BACKWARDS,
                sqi,
                sq.tail as usize,
                tail as u32,
            );
            return;
        }
        if tail.wrapping_sub(sq.ring.index()) > sq.ring.depth {
            self.violate(
                check::DOORBELL_OVERFILL,
                sqi,
                sq.ring.index() as usize,
                tail as u32,
            );
            return;
        }
        match self.sqs.get(sqi) {
            Some(Some(sq)) if sq.tx => {
                self.stats.tx_doorbells += 1;
                self.process_tx(sqi, tail)
            }
            Some(Some(_)) => {
                self.stats.rx_doorbells += 1;
                self.post_rx(sqi, tail)
            }
            _ => {}
        }
    }
}
