//! Timer channels: the receivers of [`after`](super::after),
//! [`at`](super::at) and [`tick`](super::tick) (crossbeam-channel's timer
//! flavors, Go's `time.After` and `time.Tick`). No value is ever sent: a
//! [`Timer`] knows when its next delivery is due, and a receive takes that
//! delivery once it is due, parking until then through the channel's one
//! parking mechanism (inside a fibra task: the worker's timing wheel, 1 ms
//! resolution; on other threads: the thread sleeps).
//!
//! Invariants: `next` only moves forward; a one-shot timer's `next` becomes
//! `None` when its delivery is taken, and stays so (the channel is empty
//! for ever after, as crossbeam's `after` is); a periodic timer's `next`
//! becomes the taken delivery plus one period, or one period from the
//! taking if that has already passed (missed ticks are dropped, as Go's
//! `Ticker` drops them, rather than delivered in a burst). Clones of a
//! receiver share one `Timer`, so each delivery goes to one of them.

use super::blocking::Parking;
use super::error::{RecvError, RecvTimeoutError};
use super::select::{earliest, Arm};
use super::selection::Selection;
use super::tasks::Tasks;
use crate::loom::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The deliveries of one timer channel.
pub(super) struct Timer {
    /// `None`: a one-shot timer; `Some`: the period of a periodic one.
    period: Option<Duration>,
    /// When the next delivery is due; `None` once a one-shot timer's
    /// delivery was taken (and for a periodic timer whose next tick would
    /// lie beyond what an `Instant` can hold).
    next: Mutex<Option<Instant>>,
}

impl Timer {
    /// A timer that delivers once, at `due`.
    pub(super) fn once(due: Option<Instant>) -> Timer {
        Timer {
            period: None,
            next: Mutex::new(due),
        }
    }

    /// A timer that delivers every `period`, the first time at `first`.
    pub(super) fn every(first: Option<Instant>, period: Duration) -> Timer {
        Timer {
            period: Some(period),
            next: Mutex::new(first),
        }
    }

    fn lock_next(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // No code panics while holding it; if one did, the time is still valid.
        self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// When the next delivery is due (`None`: never).
    pub(super) fn next_delivery(&self) -> Option<Instant> {
        *self.lock_next()
    }

    /// Takes the delivery due at `now`, if one is: the instant it was due.
    pub(super) fn try_take(&self, now: Instant) -> Option<Instant> {
        let mut next = self.lock_next();
        let due = (*next).filter(|&due| due <= now)?;
        *next = self.period.and_then(|period| {
            let after_due = due.checked_add(period)?;
            if after_due > now {
                Some(after_due)
            } else {
                now.checked_add(period)
            }
        });
        Some(due)
    }

    /// Puts back a delivery taken by a selected operation that was not
    /// completed (`dynamic.rs`): due again at `due`.
    pub(super) fn give_back(&self, due: Instant) {
        let mut next = self.lock_next();
        *next = Some(next.map_or(due, |next| next.min(due)));
    }

    /// Deliveries due now and not taken: 0 or 1.
    pub(super) fn len(&self, now: Instant) -> usize {
        usize::from(self.lock_next().is_some_and(|due| due <= now))
    }

    /// Waits for the next delivery (until `deadline`, if one is given).
    pub(super) fn recv(&self, deadline: Option<Instant>) -> Result<Instant, RecvTimeoutError> {
        loop {
            let now = Instant::now();
            if let Some(due) = self.try_take(now) {
                return Ok(due);
            }
            if deadline.is_some_and(|deadline| deadline <= now) {
                return Err(RecvTimeoutError::Timeout);
            }
            // Another receiver of a clone may take this delivery first:
            // then the loop waits for the next one.
            Tasks.park_until(earliest(self.next_delivery(), deadline));
        }
    }
}

/// Waits until `deadline` (for ever without one) on a channel that never
/// delivers: `Timeout` once it has passed.
pub(super) fn recv_never(deadline: Option<Instant>) -> RecvTimeoutError {
    loop {
        if deadline.is_some_and(|deadline| Tasks.expired(deadline)) {
            return RecvTimeoutError::Timeout;
        }
        Tasks.park_until(deadline); // nobody unparks it: only the deadline
    }
}

/// A select's receive arm on a timer channel: ready once a delivery is
/// due; nothing to register, as nobody sends (the select parks until
/// [`Arm::ready_at`] at the latest instead).
pub(super) struct TimerOp<'a, T> {
    timer: &'a Timer,
    deliver: fn(Instant) -> T,
    result: Option<T>,
}

impl<'a, T> TimerOp<'a, T> {
    pub(super) fn new(timer: &'a Timer, deliver: fn(Instant) -> T) -> TimerOp<'a, T> {
        TimerOp {
            timer,
            deliver,
            result: None,
        }
    }

    /// The delivery, if this arm completed.
    pub(super) fn into_result(self) -> Option<Result<T, RecvError>> {
        self.result.map(Ok)
    }
}

impl<T, P: Parking> Arm<P> for TimerOp<'_, T> {
    fn try_complete(&mut self, _parking: &P) -> bool {
        self.result = self.timer.try_take(Instant::now()).map(self.deliver);
        self.result.is_some()
    }

    fn register(&mut self, _selection: &Arc<Selection<P::Waiter>>, _index: usize, _parking: &P) -> bool {
        self.timer.len(Instant::now()) == 0
    }

    fn unregister(&mut self, _parking: &P) {}

    fn completed(&self) -> bool {
        self.result.is_some()
    }

    fn ready_at(&self) -> Option<Instant> {
        self.timer.next_delivery()
    }
}

/// A select's receive arm on [`never`](fn@super::never): never ready.
pub(super) struct NeverOp;

impl<P: Parking> Arm<P> for NeverOp {
    fn try_complete(&mut self, _parking: &P) -> bool {
        false
    }

    fn register(&mut self, _selection: &Arc<Selection<P::Waiter>>, _index: usize, _parking: &P) -> bool {
        true
    }

    fn unregister(&mut self, _parking: &P) {}

    fn completed(&self) -> bool {
        false
    }
}
