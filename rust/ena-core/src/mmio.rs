//! Register reads in "read-less" mode (`ena_com_reg_bar_read32` with
//! `readless_supported`): instead of a slow MMIO read, the driver writes the
//! offset and a sequence number to MMIO_REG_READ and the device DMA-writes
//! `{req_id, reg_off, reg_val}` (`struct ena_admin_ena_mmio_req_read_less_resp`)
//! into a buffer the driver polls. Plain reads are `Registers::read32`.
//! [`ReadLessRegs`] puts the mode behind the [`Registers`] trait, so the
//! rest of the driver never knows which one the device asked for (PCI
//! revision bit 0, `ENA_MMIO_DISABLE_REG_READ`, clear: read-less).

use crate::dma::DmaMemory;
use crate::regs::{self, dev_ctl, Registers};
use crate::Clock;

/// `ENA_MMIO_READ_TIMEOUT`: what a read that got no answer returns.
pub const READ_TIMEOUT_VALUE: u32 = 0xffff_ffff;

/// No answer within the timeout (`ENA_REG_READ_TIMEOUT`), or an answer for
/// another register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadLessError {
    Timeout { offset: u32 },
    WrongRegister { asked: u32, answered: u16 },
}

pub struct ReadLess<M> {
    resp: M,
    seq: u16,
    timeout_us: u64,
}

impl<M: DmaMemory> ReadLess<M> {
    /// `ena_com_mmio_reg_read_request_init` + `_write_dev_addr`.
    pub fn new<R: Registers>(r: &mut R, resp: M, timeout_us: u64) -> Self {
        let s = Self {
            resp,
            seq: 0,
            timeout_us,
        };
        s.write_dev_addr(r);
        s
    }

    /// `ena_com_mmio_reg_read_request_write_dev_addr`: where the answers
    /// go. A reset makes the device forget it; `ena_com_dev_reset` writes
    /// it again right after setting the reset bit.
    pub fn write_dev_addr<R: Registers>(&self, r: &mut R) {
        r.write32(regs::MMIO_RESP_LO, self.resp.phys() as u32);
        r.write32(regs::MMIO_RESP_HI, (self.resp.phys() >> 32) as u32);
    }

    pub fn read32<R: Registers, C: Clock>(
        &mut self,
        r: &mut R,
        clock: &mut C,
        offset: u32,
    ) -> Result<u32, ReadLessError> {
        self.seq = self.seq.wrapping_add(1);
        // Poison the answer so a stale one is never taken for this request.
        self.resp.write(0, &0xffffu16.to_le_bytes());
        r.write32(regs::MMIO_REG_READ, self.seq as u32 | offset << 16);
        let deadline = clock.now_us() + self.timeout_us;
        loop {
            let mut b = [0u8; 8];
            self.resp.read(0, &mut b);
            if u16::from_le_bytes([b[0], b[1]]) == self.seq {
                let reg_off = u16::from_le_bytes([b[2], b[3]]);
                if reg_off as u32 != offset {
                    return Err(ReadLessError::WrongRegister {
                        asked: offset,
                        answered: reg_off,
                    });
                }
                return Ok(u32::from_le_bytes([b[4], b[5], b[6], b[7]]));
            }
            if clock.now_us() >= deadline {
                return Err(ReadLessError::Timeout { offset });
            }
            clock.sleep_us(1);
        }
    }
}

/// A device's registers read the read-less way and written directly: a
/// [`Registers`] the bring-up code takes unchanged. Every write to DEV_CTL
/// that starts a reset is followed by the response address, as in
/// `ena_com_dev_reset`. A read that gets no answer returns
/// [`READ_TIMEOUT_VALUE`], as `ena_com_reg_bar_read32` does, and is
/// remembered: the caller asks [`ReadLessRegs::last_error`] why bring-up
/// failed.
pub struct ReadLessRegs<R, M, C> {
    regs: R,
    reader: ReadLess<M>,
    clock: C,
    failures: u64,
    last_error: Option<ReadLessError>,
}

impl<R: Registers, M: DmaMemory, C: Clock> ReadLessRegs<R, M, C> {
    /// Read-less reads over `regs`, answered into `resp` (8 bytes of DMA
    /// memory) within `timeout_us` each.
    pub fn new(mut regs: R, resp: M, clock: C, timeout_us: u64) -> Self {
        let reader = ReadLess::new(&mut regs, resp, timeout_us);
        Self {
            regs,
            reader,
            clock,
            failures: 0,
            last_error: None,
        }
    }
    /// The registers underneath (writes and plain reads).
    pub fn inner(&self) -> &R {
        &self.regs
    }
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.regs
    }
    /// Reads that got no answer, or an answer for another register.
    pub fn failures(&self) -> u64 {
        self.failures
    }
    pub fn last_error(&self) -> Option<ReadLessError> {
        self.last_error
    }
}

impl<R: Registers, M: DmaMemory, C: Clock> Registers for ReadLessRegs<R, M, C> {
    fn read32(&mut self, off: u32) -> u32 {
        match self.reader.read32(&mut self.regs, &mut self.clock, off) {
            Ok(v) => v,
            Err(e) => {
                self.failures += 1;
                self.last_error = Some(e);
                READ_TIMEOUT_VALUE
            }
        }
    }
    fn write32(&mut self, off: u32, value: u32) {
        self.regs.write32(off, value);
        if off == regs::DEV_CTL && value & dev_ctl::DEV_RESET_MASK != 0 {
            self.reader.write_dev_addr(&mut self.regs);
        }
    }
}
