//! The wall clock for ena-core's timeouts and back-off. Short waits spin
//! (a read-less register answer comes within microseconds, and a sleep
//! costs tens of them); longer ones sleep.

use std::time::{Duration, Instant};

use ena_core::Clock;

/// Waits shorter than this spin instead of sleeping.
const SPIN_BELOW_US: u64 = 50;

/// Microseconds since the clock was made.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    start: Instant,
}

impl WallClock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for WallClock {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
    fn sleep_us(&mut self, us: u64) {
        if us < SPIN_BELOW_US {
            let until = self.now_us() + us;
            while self.now_us() < until {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(Duration::from_micros(us));
        }
    }
}

/// A cycle count that costs no system call: the time-stamp counter, as
/// DPDK times its bursts. A poll loop reads it every pass, where a
/// clock_gettime could cost more than the pass (under TCG the guest's
/// clocksource is the ACPI PM timer, a port read per call). Counts are
/// comparable only on one CPU: a benchmark pins its thread.
pub fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: RDTSC reads a counter; it has no operands or side effects,
    // and every x86_64 CPU has it.
    let c = unsafe { core::arch::x86_64::_rdtsc() };
    #[cfg(not(target_arch = "x86_64"))]
    let c = {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    };
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_advance_while_time_passes() {
        let c0 = cycles();
        std::thread::sleep(Duration::from_millis(2));
        assert!(cycles() > c0);
    }

    #[test]
    fn time_moves_forward_by_at_least_what_was_slept() {
        let mut c = WallClock::new();
        for us in [1, 20, 2_000] {
            let t0 = c.now_us();
            c.sleep_us(us);
            assert!(c.now_us() - t0 >= us, "slept {us} us");
        }
    }
}
