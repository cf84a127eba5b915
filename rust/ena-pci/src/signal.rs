//! SIGTERM, SIGINT and SIGHUP as a flag: the handler only records the
//! signal; the driver's loop sees it within one pass and shuts down in
//! order (device reset, bus mastering off, device given back).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

static RAISED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    RAISED.store(sig, Ordering::SeqCst);
}

/// The signals that stop the driver.
pub const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Installs the handler (without SA_RESTART: a poll(2) in progress
/// returns at once).
pub fn install() -> io::Result<()> {
    for sig in STOP_SIGNALS {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask"
        // value; the handler only stores to an atomic (async-signal-safe).
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
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
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
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
        unsafe { libc::raise(libc::SIGHUP) };
        assert_eq!(raised(), Some(libc::SIGHUP));
        assert_eq!(name(libc::SIGHUP), "SIGHUP");
    }
}
