//! [`Tasks`]: the channel's blocking protocol parks through fibra's one
//! mechanism, `park::Waiter`: the running task's fiber, or the thread.

use super::blocking::Parking;
use crate::park::{park_current, park_current_until, Waiter};
use std::time::Instant;

/// Parking through fibra's one mechanism: the task's fiber, or the thread.
/// (Nominally `pub` for the sealed `SelectArm` trait; not reachable from
/// outside the crate.)
pub struct Tasks;

impl Parking for Tasks {
    type Waiter = Waiter;

    fn current(&self) -> Waiter {
        Waiter::current()
    }

    fn park_until(&self, deadline: Option<Instant>) {
        match deadline {
            None => park_current(),
            // Whether it timed out is asked of `expired` after every wake-up.
            Some(deadline) => {
                let _ = park_current_until(deadline);
            }
        }
    }

    fn expired(&self, deadline: Instant) -> bool {
        Instant::now() >= deadline
    }

    fn unpark(&self, waiter: Waiter) {
        waiter.unpark();
    }
}
