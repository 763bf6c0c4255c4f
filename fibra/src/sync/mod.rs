//! Blocking primitives that park the *task*, not the worker: inside a fibra
//! task a wait suspends only that task (its worker runs other tasks
//! meanwhile); on any other thread it blocks the thread. All of them wait
//! through the one park/unpark mechanism of `park::Waiter`.
//!
//! So far: [`WaitGroup`]; channels are [`crate::chan`]. `Mutex`, `Condvar`,
//! `Semaphore` and `select!` are the next steps of the fibers issue.

mod wait_group;

pub use wait_group::{CountError, WaitGroup};
