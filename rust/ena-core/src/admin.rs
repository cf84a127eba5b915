//! The admin queue (`ena_com_submit_admin_cmd`, `ena_com_wait_and_process_
//! admin_cq_polling`): 64-byte commands into a submission ring, the doorbell
//! (AQ_DB) set to the new tail, 64-byte completions matched by command id
//! and phase, device status codes turned into typed errors.

use crate::admin_defs::to_entry;
use crate::dma::DmaMemory;
use crate::regs::{self, Registers};
use crate::ring::Cursor;
use crate::wire::Wire;
use crate::Clock;

pub const ENTRY_SIZE: usize = 64;

/// `enum ena_admin_aq_opcode`
pub mod opcode {
    pub const CREATE_SQ: u8 = 1;
    pub const DESTROY_SQ: u8 = 2;
    pub const CREATE_CQ: u8 = 3;
    pub const DESTROY_CQ: u8 = 4;
    pub const GET_FEATURE: u8 = 8;
    pub const SET_FEATURE: u8 = 9;
    pub const GET_STATS: u8 = 11;
}

/// `enum ena_admin_aq_feature_id`: bring-up's, and those Linux's drivers
/// ask of a device.
pub mod feature {
    pub const DEVICE_ATTRIBUTES: u8 = 1;
    pub const MAX_QUEUES_NUM: u8 = 2;
    pub const HW_HINTS: u8 = 3;
    pub const LLQ: u8 = 4;
    pub const MAX_QUEUES_EXT: u8 = 7;
    pub const STATELESS_OFFLOAD_CONFIG: u8 = 11;
    pub const RSS_INDIRECTION_TABLE_CONFIG: u8 = 12;
    pub const MTU: u8 = 14;
    pub const INTERRUPT_MODERATION: u8 = 20;
    pub const AENQ_CONFIG: u8 = 26;
    pub const LINK_CONFIG: u8 = 27;
    pub const HOST_ATTR_CONFIG: u8 = 28;
}

/// `enum ena_admin_get_stats_type`
pub mod stats_type {
    pub const BASIC: u8 = 0;
    pub const EXTENDED: u8 = 1;
    pub const ENI: u8 = 2;
    pub const CUSTOMER_METRICS: u8 = 4;
}

/// `device_attr.capabilities` bits (`enum ena_admin_aq_caps_id`).
pub mod capability {
    /// `ENA_ADMIN_ENI_STATS`: GET_STATS of type ENI is answered.
    pub const ENI_STATS: u32 = 1 << 0;
    /// `ENA_ADMIN_CUSTOMER_METRICS`: GET_STATS of type CUSTOMER_METRICS.
    pub const CUSTOMER_METRICS: u32 = 1 << 2;
}

/// `enum ena_admin_aq_completion_status`: what a device answers a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Success = 0,
    ResourceAllocationFailure = 1,
    BadOpcode = 2,
    UnsupportedOpcode = 3,
    MalformedRequest = 4,
    /// Additional status is in the completion's `extended_status`.
    IllegalParameter = 5,
    UnknownError = 6,
    ResourceBusy = 7,
}

/// `ENA_ADMIN_{AQ,ACQ}_COMMON_DESC_*`
pub const COMMAND_ID_MASK: u16 = 0xfff;
pub const PHASE_MASK: u8 = 1;
/// `ENA_ADMIN_AQ_COMMON_DESC_CTRL_DATA_INDIRECT_MASK`: the command's data
/// is in the control buffer it points to, not inline.
pub const CTRL_DATA_INDIRECT_MASK: u8 = 1 << 2;

/// `enum ena_admin_aq_completion_status`, as errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminError {
    ResourceAllocationFailure,
    BadOpcode,
    UnsupportedOpcode,
    MalformedRequest,
    IllegalParameter,
    UnknownError,
    ResourceBusy,
    /// A status the driver does not know.
    Status(u8),
    /// No completion within the admin timeout (`-ETIME`).
    Timeout {
        command_id: u16,
    },
    /// A completion for a command that is not outstanding.
    UnexpectedCompletion {
        command_id: u16,
    },
    /// The submission ring is full.
    QueueFull,
}

impl AdminError {
    pub fn from_status(s: u8) -> Option<Self> {
        const S: [Status; 8] = [
            Status::Success,
            Status::ResourceAllocationFailure,
            Status::BadOpcode,
            Status::UnsupportedOpcode,
            Status::MalformedRequest,
            Status::IllegalParameter,
            Status::UnknownError,
            Status::ResourceBusy,
        ];
        Some(match S.get(s as usize) {
            Some(Status::Success) => return None,
            Some(Status::ResourceAllocationFailure) => Self::ResourceAllocationFailure,
            Some(Status::BadOpcode) => Self::BadOpcode,
            Some(Status::UnsupportedOpcode) => Self::UnsupportedOpcode,
            Some(Status::MalformedRequest) => Self::MalformedRequest,
            Some(Status::IllegalParameter) => Self::IllegalParameter,
            Some(Status::UnknownError) => Self::UnknownError,
            Some(Status::ResourceBusy) => Self::ResourceBusy,
            None => Self::Status(s),
        })
    }
}

/// One admin command: opcode, the common descriptor's flags (the queue
/// adds the phase) and the 60 bytes after the common descriptor.
#[derive(Clone, Copy)]
pub struct Command {
    pub opcode: u8,
    pub flags: u8,
    pub body: [u8; ENTRY_SIZE - 4],
}

impl Command {
    pub fn new(opcode: u8) -> Self {
        Self {
            opcode,
            flags: 0,
            body: [0; ENTRY_SIZE - 4],
        }
    }
    /// Marks the command's data as indirect (in its control buffer), as
    /// `ena_com_indirect_table_set` does.
    pub fn indirect(mut self) -> Self {
        self.flags |= CTRL_DATA_INDIRECT_MASK;
        self
    }
    /// A command from its typed form (`admin_defs`); the queue fills in the
    /// command id, opcode and phase of the common descriptor.
    pub fn from_wire<T: Wire>(opcode: u8, v: &T) -> Self {
        let e = to_entry(v);
        let mut c = Self::new(opcode);
        c.body.copy_from_slice(&e[4..]);
        c
    }
    /// Puts a little-endian field at an offset of the whole 64-byte entry.
    pub fn put(&mut self, off: usize, bytes: &[u8]) -> &mut Self {
        self.body[off - 4..off - 4 + bytes.len()].copy_from_slice(bytes);
        self
    }
}

/// A completion: the whole 64-byte entry.
#[derive(Clone, Copy)]
pub struct Completion(pub [u8; ENTRY_SIZE]);

impl Completion {
    pub fn command_id(&self) -> u16 {
        u16::from_le_bytes([self.0[0], self.0[1]]) & COMMAND_ID_MASK
    }
    /// The completion as its typed form (`admin_defs`).
    pub fn decode<T: Wire>(&self) -> T {
        T::decode(&self.0[..T::SIZE])
    }
    /// The response-specific part (after the 8-byte common descriptor) as
    /// a feature descriptor, as in `ena_admin_get_feat_resp.u`.
    pub fn feature<T: Wire>(&self) -> T {
        T::decode(&self.0[8..8 + T::SIZE])
    }
    pub fn status(&self) -> u8 {
        self.0[2]
    }
    pub fn u16_at(&self, off: usize) -> u16 {
        u16::from_le_bytes([self.0[off], self.0[off + 1]])
    }
    pub fn u32_at(&self, off: usize) -> u32 {
        u32::from_le_bytes([
            self.0[off],
            self.0[off + 1],
            self.0[off + 2],
            self.0[off + 3],
        ])
    }
}

/// The admin submission and completion rings.
pub struct AdminQueue<M> {
    sq: M,
    cq: M,
    depth: u16,
    tail: Cursor,
    head: Cursor,
    next_id: u16,
    timeout_us: u64,
}

impl<M: DmaMemory> AdminQueue<M> {
    pub fn new(sq: M, cq: M, depth: u16, timeout_us: u64) -> Self {
        assert!(sq.len() >= depth as usize * ENTRY_SIZE && cq.len() >= depth as usize * ENTRY_SIZE);
        Self {
            sq,
            cq,
            depth,
            tail: Cursor::new(depth),
            head: Cursor::new(depth),
            next_id: 0,
            timeout_us,
        }
    }

    /// `ena_com_admin_init_aq`/`_acq`: tell the device where the rings are.
    pub fn program<R: Registers>(&self, r: &mut R) {
        let (sq, cq) = (self.sq.phys(), self.cq.phys());
        r.write32(regs::AQ_BASE_LO, sq as u32);
        r.write32(regs::AQ_BASE_HI, (sq >> 32) as u32);
        r.write32(regs::AQ_CAPS, self.depth as u32 | (ENTRY_SIZE as u32) << 16);
        r.write32(regs::ACQ_BASE_LO, cq as u32);
        r.write32(regs::ACQ_BASE_HI, (cq >> 32) as u32);
        r.write32(
            regs::ACQ_CAPS,
            self.depth as u32 | (ENTRY_SIZE as u32) << 16,
        );
    }

    /// Submits one command and polls for its completion.
    pub fn execute<R: Registers, C: Clock>(
        &mut self,
        r: &mut R,
        clock: &mut C,
        cmd: &Command,
    ) -> Result<Completion, AdminError> {
        let id = self.next_id & COMMAND_ID_MASK;
        self.next_id = self.next_id.wrapping_add(1);
        let mut entry = [0u8; ENTRY_SIZE];
        entry[0..2].copy_from_slice(&id.to_le_bytes());
        entry[2] = cmd.opcode;
        entry[3] = cmd.flags & !PHASE_MASK | self.tail.phase & PHASE_MASK;
        entry[4..].copy_from_slice(&cmd.body);
        self.sq.write(self.tail.slot() * ENTRY_SIZE, &entry);
        self.tail.advance();
        r.write32(regs::AQ_DB, self.tail.index as u32);

        let deadline = clock.now_us() + self.timeout_us;
        let mut backoff = 1u64;
        loop {
            let mut c = Completion([0; ENTRY_SIZE]);
            self.cq.read(self.head.slot() * ENTRY_SIZE, &mut c.0);
            if c.0[3] & PHASE_MASK == self.head.phase {
                self.head.advance();
                if c.command_id() != id {
                    return Err(AdminError::UnexpectedCompletion {
                        command_id: c.command_id(),
                    });
                }
                return match AdminError::from_status(c.status()) {
                    None => Ok(c),
                    Some(e) => Err(e),
                };
            }
            if clock.now_us() >= deadline {
                return Err(AdminError::Timeout { command_id: id });
            }
            // ena_delay_exponential_backoff_us: 1, 2, 4 ... capped.
            clock.sleep_us(backoff);
            backoff = (backoff * 2).min(5_000);
        }
    }
}
