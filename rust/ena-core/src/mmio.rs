//! Register reads in "read-less" mode (`ena_com_reg_bar_read32` with
//! `readless_supported`): instead of a slow MMIO read, the driver writes the
//! offset and a sequence number to MMIO_REG_READ and the device DMA-writes
//! `{req_id, reg_off, reg_val}` (`struct ena_admin_ena_mmio_req_read_less_resp`)
//! into a buffer the driver polls. Plain reads are `Registers::read32`.

use crate::dma::DmaMemory;
use crate::regs::{self, Registers};
use crate::Clock;

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
        r.write32(regs::MMIO_RESP_LO, resp.phys() as u32);
        r.write32(regs::MMIO_RESP_HI, (resp.phys() >> 32) as u32);
        Self {
            resp,
            seq: 0,
            timeout_us,
        }
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
