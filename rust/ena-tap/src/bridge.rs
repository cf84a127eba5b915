//! The polled loop between the port and the TAP. One pass: Tx
//! completions, a batch of received frames per queue to the TAP and the
//! Rx rings refilled past their threshold, then a batch of frames from the
//! TAP, each to its flow's queue, with one doorbell per queue. Device
//! events (link changes become the TAP's carrier, keep-alives feed the
//! watchdog) are looked at every 64 busy passes and on idle ones. A device
//! that breaks a ring's contract or falls silent is reset and brought up
//! again, as the kernel driver does; only a device that cannot be brought
//! up, or a TAP that fails, ends the loop.

use std::io;
use std::time::{Duration, Instant};

use ena_pci::clock::cycles;

use ena_core::device::DmaAllocator;
use ena_core::devmem::DeviceMemory;
use ena_core::regs::Registers;
use ena_core::Clock;
use ena_pci::tap::Tap;

use crate::flow::tx_queue;
use crate::port::{Port, PortError, Sent};

/// Where frames come from and go to: the TAP, or a test's double.
pub trait Frames {
    /// One frame, or None when none waits.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;
    /// One frame out; false when it was dropped for want of room.
    fn send(&mut self, frame: &[u8]) -> io::Result<bool>;
    fn set_carrier(&mut self, up: bool) -> io::Result<()>;
    /// Idle: wait for a frame, at most `timeout`.
    fn wait(&mut self, timeout: Duration) -> io::Result<()>;
}

impl Frames for Tap {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        Tap::recv(self, buf)
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        Tap::send(self, frame)
    }
    fn set_carrier(&mut self, up: bool) -> io::Result<()> {
        Tap::set_carrier(self, up).map_err(|e| io::Error::other(e.to_string()))
    }
    fn wait(&mut self, timeout: Duration) -> io::Result<()> {
        Tap::wait(self, timeout).map(|_| ())
    }
}

/// The benchmark's stand-in for the stack: every frame the device
/// received goes straight back out of the port with its MACs swapped
/// (testpmd's macswap forwarding), so the loop forwards without a TAP and
/// what it costs is the driver's alone. Frames beyond `capacity` waiting
/// are dropped, as a full TAP would.
pub struct Reflector {
    waiting: std::collections::VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    capacity: usize,
    pub carrier: bool,
}

impl Reflector {
    pub fn new(capacity: usize) -> Self {
        Self {
            waiting: Default::default(),
            spare: Vec::new(),
            capacity,
            carrier: false,
        }
    }
}

impl Frames for Reflector {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(self.waiting.pop_front().map(|f| {
            let n = f.len().min(buf.len());
            buf[..n].copy_from_slice(&f[..n]);
            self.spare.push(f);
            n
        }))
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        if self.waiting.len() >= self.capacity || frame.len() < 12 {
            return Ok(false);
        }
        let mut f = self.spare.pop().unwrap_or_default();
        f.clear();
        f.extend_from_slice(&frame[6..12]);
        f.extend_from_slice(&frame[..6]);
        f.extend_from_slice(&frame[12..]);
        self.waiting.push_back(f);
        Ok(true)
    }
    fn set_carrier(&mut self, up: bool) -> io::Result<()> {
        self.carrier = up;
        Ok(())
    }
    fn wait(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

/// How the loop runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Frames per queue and direction in one pass.
    pub batch: usize,
    /// The keep-alive watchdog.
    pub keep_alive_us: u64,
    /// Empty passes before the loop sleeps, and how long it then waits.
    pub idle_spins: u32,
    pub idle_wait: Duration,
}

/// Why the loop ended.
#[derive(Debug)]
pub enum StepError {
    Port(PortError),
    Tap(io::Error),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Port(e) => write!(f, "{e}"),
            Self::Tap(e) => write!(f, "TAP: {e}"),
        }
    }
}

impl From<PortError> for StepError {
    fn from(e: PortError) -> Self {
        Self::Port(e)
    }
}

impl From<io::Error> for StepError {
    fn from(e: io::Error) -> Self {
        Self::Tap(e)
    }
}

/// Frames the bridge itself dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// Received frames the TAP had no room for.
    pub to_tap: u64,
    /// Frames from the TAP longer than the MTU allows.
    pub too_long: u64,
}

pub struct Bridge {
    pub opts: Options,
    tx_frame: Vec<u8>,
    rx_frame: Vec<u8>,
    /// A frame read from the TAP that its queue had no room for yet:
    /// (queue, length in `tx_frame`).
    held: Option<(usize, usize)>,
    pub drops: Drops,
    /// Cycles ([`cycles`]) spent in passes that moved frames: what the
    /// traffic cost, without the polling of an idle port.
    pub busy_cycles: u64,
}

/// Under load, the loop looks at device events, the watchdog, the stop
/// condition and the clock once every this many passes (and on every idle
/// pass): the data path needs no clock, and a clock read can cost more
/// than a pass. Events still wait at most a few milliseconds.
pub const HOUSEKEEPING_PASSES: u32 = 64;

impl Bridge {
    pub fn new(opts: Options) -> Self {
        Self {
            opts,
            tx_frame: vec![0; 65536],
            rx_frame: Vec::with_capacity(65536),
            held: None,
            drops: Drops::default(),
            busy_cycles: 0,
        }
    }

    /// The data path of one pass: Tx completions, received frames to the
    /// TAP and refills, frames from the TAP to their queues, doorbells;
    /// true when it moved anything, and then its cycles count as busy.
    pub fn forward<R, A, C, B, F>(
        &mut self,
        port: &mut Port<R, A, C, B>,
        tap: &mut F,
    ) -> Result<bool, StepError>
    where
        R: Registers,
        A: DmaAllocator,
        C: Clock,
        B: DeviceMemory + Clone,
        F: Frames,
    {
        let t0 = cycles();
        let mut moved = 0;
        let regs = &mut port.ena.regs;
        for q in port.queues.iter_mut() {
            moved += q.reap_tx()?;
            let mut tap_err = None;
            let drops = &mut self.drops;
            moved += q.receive(self.opts.batch, &mut self.rx_frame, |f| match tap.send(f) {
                Ok(true) => {}
                Ok(false) => drops.to_tap += 1,
                Err(e) => tap_err = Some(e),
            })?;
            if let Some(e) = tap_err {
                return Err(e.into());
            }
            q.refill_if_due(regs)?;
        }

        let nq = port.queues.len();
        let mut budget = self.opts.batch * nq;
        while budget > 0 {
            let (q, len) = match self.held.take() {
                Some(h) => h,
                None => match tap.recv(&mut self.tx_frame)? {
                    Some(len) => (tx_queue(&self.tx_frame[..len], nq), len),
                    None => break,
                },
            };
            match port.queues[q].send(regs, &self.tx_frame[..len])? {
                Sent::Queued => moved += 1,
                Sent::TooLong => self.drops.too_long += 1,
                Sent::Full => {
                    self.held = Some((q, len));
                    break;
                }
            }
            budget -= 1;
        }
        for q in port.queues.iter_mut() {
            q.flush(regs);
        }
        if moved > 0 {
            self.busy_cycles += cycles().saturating_sub(t0);
        }
        Ok(moved > 0)
    }

    /// Passes until `stop` says so; resets the device when a pass reports
    /// a recoverable fault. `tick` runs about once a second (statistics).
    pub fn run<R, A, C, B, F, T>(
        &mut self,
        port: &mut Port<R, A, C, B>,
        tap: &mut F,
        stop: &dyn Fn() -> bool,
        tick: &mut T,
        log: &mut dyn FnMut(String),
    ) -> Result<(), StepError>
    where
        R: Registers,
        A: DmaAllocator,
        C: Clock,
        B: DeviceMemory + Clone,
        F: Frames,
        T: FnMut(&Port<R, A, C, B>, &Bridge),
    {
        let (mut idle, mut pass) = (0u32, 0u32);
        let mut last_tick = Instant::now();
        loop {
            let due = idle > 0 || pass % HOUSEKEEPING_PASSES == 0;
            pass = pass.wrapping_add(1);
            let result = if due {
                if stop() {
                    break;
                }
                if last_tick.elapsed() >= Duration::from_secs(1) {
                    last_tick = Instant::now();
                    tick(port, self);
                }
                match port.service(self.opts.keep_alive_us) {
                    Ok(Some(up)) => tap
                        .set_carrier(up)
                        .map_err(StepError::from)
                        .and_then(|()| self.forward(port, tap)),
                    Ok(None) => self.forward(port, tap),
                    Err(e) => Err(e.into()),
                }
            } else {
                self.forward(port, tap)
            };
            match result {
                Ok(true) => idle = 0,
                Ok(false) => {
                    idle = idle.saturating_add(1);
                    if idle >= self.opts.idle_spins {
                        tap.wait(self.opts.idle_wait)?;
                    }
                }
                Err(StepError::Port(e)) if e.reset_reason().is_some() => {
                    log(format!("{e}: resetting the device"));
                    tap.set_carrier(false)?;
                    self.held = None;
                    port.restart(e.reset_reason().unwrap_or_default())?;
                    log(format!("device reset and up again (reset {})", port.resets));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reflector_swaps_macs_and_drops_past_its_capacity() {
        let mut r = Reflector::new(2);
        let f: Vec<u8> = (0..60).collect();
        assert!(r.send(&f).unwrap());
        assert!(r.send(&f).unwrap());
        assert!(!r.send(&f).unwrap(), "full: dropped");
        assert!(!r.send(&f[..11]).unwrap(), "a runt has no MACs to swap");
        let mut buf = [0u8; 100];
        assert_eq!(r.recv(&mut buf).unwrap(), Some(60));
        assert_eq!(&buf[..6], &f[6..12]);
        assert_eq!(&buf[6..12], &f[..6]);
        assert_eq!(&buf[12..60], &f[12..]);
        assert_eq!(r.recv(&mut buf).unwrap(), Some(60));
        assert_eq!(r.recv(&mut buf).unwrap(), None);
    }
}
