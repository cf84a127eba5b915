//! SIGTERM, SIGINT and SIGHUP as a flag: the handler only records the
//! signal; the driver's loop sees it within one pass and shuts down in
//! order (device reset, bus mastering off, device given back).

use crate::sys;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

static RAISED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: sys::c_int) {
    RAISED.store(sig, Ordering::SeqCst);
}

/// The signals that stop the driver.
pub const STOP_SIGNALS: [sys::c_int; 3] = [sys::SIGTERM, sys::SIGINT, sys::SIGHUP];

/// Installs the handler (without SA_RESTART: a poll(2) in progress
/// returns at once).
pub fn install() -> io::Result<()> {
    for sig in STOP_SIGNALS {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask"
        // value; the handler only stores to an atomic (async-signal-safe).
        let rc = unsafe {
            let mut sa: sys::sigaction = std::mem::zeroed();
            sa.sa_handler = on_signal as *const () as usize;
            sys::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The stop signal received, if any.
pub fn raised() -> Option<i32> {
    match RAISED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's name, for the log.
pub fn name(sig: i32) -> &'static str {
    match sig {
        sys::SIGTERM => "SIGTERM",
        sys::SIGINT => "SIGINT",
        sys::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_signal_is_recorded_not_fatal() {
        install().unwrap();
        assert_eq!(raised(), None);
        // SAFETY: raising a signal whose handler was just installed.
        unsafe { sys::raise(sys::SIGHUP) };
        assert_eq!(raised(), Some(sys::SIGHUP));
        assert_eq!(name(sys::SIGHUP), "SIGHUP");
    }
}
