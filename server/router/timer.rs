//! The router's wake-up timer: a timerfd, so VRRP timers fire within tens of microseconds of
//! their deadline instead of on tokio's next millisecond tick.
//!
//! Why: an unplanned failover cannot beat Master_Down_Interval, so every bit of lateness adds
//! to the outage; keepalived takes over within 0.2 ms of the bound
//! (keepalived-baseline.md), and tokio's timer wheel rounds every deadline up to a whole
//! millisecond and then waits for epoll's millisecond timeout.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tracing::error;

/// One re-armable one-shot timer on CLOCK_MONOTONIC, the clock `std::time::Instant` reads.
#[derive(Debug)]
pub struct PreciseTimer {
    timer: AsyncFd<RegisteredTimer>,
}

/// `AsyncFd` wants `AsRawFd`, which nix's `TimerFd` does not implement (only `AsFd`).
#[derive(Debug)]
struct RegisteredTimer(TimerFd);

impl AsRawFd for RegisteredTimer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseTimer {
    /// A disarmed timer registered with the current tokio runtime.
    pub fn new() -> io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: `RegisteredTimer` owns the descriptor (through `TimerFd`'s `OwnedFd`) and
        // closes it only when dropped, which happens only with the `AsyncFd` that now owns
        // it; `as_raw_fd` always returns that one descriptor.
        let timer =
            unsafe { AsyncFd::register_with_interest(RegisteredTimer(timer), Interest::READABLE) }
                .map_err(|error| error.into_parts().1)?;
        Ok(PreciseTimer { timer })
    }

    /// Waits until `deadline`, or forever for `None`. Cancel-safe: the next call re-arms the
    /// timer, which also clears an expiry nobody waited for (timerfd_settime(2)).
    pub async fn sleep_until(&self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        let now = Instant::now();
        if deadline <= now {
            return;
        }
        // A zero expiry disarms a timerfd; the early return above keeps this one positive.
        let wait = TimeSpec::from_duration(deadline - now);
        let armed = self
            .timer
            .get_ref()
            .0
            .set(Expiration::OneShot(wait), TimerSetTimeFlags::empty());
        if let Err(problem) = armed {
            error!(%problem, "timerfd not armed; using tokio's millisecond timer");
            return tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
        }
        loop {
            let Ok(mut ready) = self.timer.readable().await else {
                // Only when the runtime is shutting down; the router stops with it.
                return std::future::pending().await;
            };
            let expired = ready.try_io(|timer| {
                let mut expirations = [0u8; 8];
                nix::unistd::read(timer.get_ref().0.as_fd(), &mut expirations)
                    .map_err(io::Error::from)
            });
            match expired {
                Ok(Ok(_)) => return,
                // A stale readiness from an expiry that a re-arm cleared: wait again.
                Ok(Err(problem)) if problem.kind() == io::ErrorKind::WouldBlock => {}
                Ok(Err(problem)) => {
                    error!(%problem, "timerfd read failed; using tokio's millisecond timer");
                    return tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
                        .await;
                }
                // try_io saw WouldBlock and cleared the readiness: wait again.
                Err(_would_block) => {}
            }
        }
    }
}
