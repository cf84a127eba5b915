//! Errors of the data path, each named after the C return code it stands for.

/// Why a queue operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Not enough free descriptors (`-ENOMEM` in `ena_com_prepare_tx`,
    /// `-ENOSPC` in `ena_com_add_single_rx_desc` and `ena_com_rx_pkt`).
    NoSpace,
    /// The header is longer than the device accepts (`-EINVAL`).
    HeaderTooLarge { len: u16, max: u32 },
    /// A completion names a request id outside the queue (`-EINVAL` for Tx,
    /// `-EIO` for Rx).
    InvalidReqId(u16),
    /// A completion is malformed: first bit in the middle of a packet, or
    /// must-be-zero bits set (`-EFAULT`).
    MalformedCompletion,
    /// No completion is ready yet (`-EAGAIN`).
    NotReady,
    /// Device placement without the header to push, or a shorter one than
    /// `header_len` (`-EINVAL`).
    NoPushHeader,
    /// The pushed header runs past the end of the LLQ entry (`-EFAULT`).
    HeaderPastEntry,
    /// More LLQ entries than the Tx burst allows before a doorbell
    /// (`-ENOSPC`): the caller skipped [`crate::tx::TxQueue::doorbell_needed`].
    BurstExceeded,
}
