//! [`RawMutex`]: the lock under [`Mutex`](super::Mutex), without the data,
//! generic over how to park ([`Parking`]) so that the loom models check this
//! code itself.
//!
//! # State
//!
//! One atomic word, `state`, with two bits, and a [`WaitQueue`] of parked
//! lockers behind an internal (briefly held, never across a park) lock,
//! `queue`:
//! - `LOCKED`: someone holds the mutex.
//! - `QUEUED`: the wait queue is not empty. Changed only under the `queue`
//!   lock, so under that lock `QUEUED` is set exactly when the queue is
//!   non-empty.
//!
//! # Protocol
//!
//! - Lock, fast path: one CAS `0 -> LOCKED`. Unlock, fast path: one CAS
//!   `LOCKED -> 0`; it fails when `QUEUED` is set, and the unlock takes the
//!   slow path.
//! - Lock, slow path: spin a little while nobody is queued (a holder running
//!   on another core usually lets go within that time), trying to take the
//!   lock whenever `LOCKED` is clear (*barging*: a running locker may take a
//!   free lock ahead of parked ones). Then, under the `queue` lock, either
//!   take the lock if it is free, or set `QUEUED` with a CAS that also
//!   checks that `LOCKED` is still set, and queue the caller's waiter; then
//!   park, and after each wake-up look at the queue (under its lock):
//!   - handed the lock (`handed_to` is our ticket): we hold it; return;
//!   - our entry is gone: an unlock woke us to compete; try again from the
//!     top, keeping our ticket (and so our place) if we queue again;
//!   - still queued: a spurious wake-up; park again.
//! - Lock with a deadline (`lock_until`): the same, but when the park times
//!   out and the entry is still queued, the locker takes it out (clearing
//!   `QUEUED` with an RMW if the queue is now empty) and gives up. If an
//!   unlock took its entry first, that wake-up is not dropped: handed the
//!   lock, it keeps it; woken to compete, it makes one last `try_lock`, and
//!   if that fails the lock is held, so its holder's unlock wakes the next
//!   waiter.
//! - Unlock, slow path: under the `queue` lock, pop the oldest waiter. If it
//!   has waited at least `hand_off_after`, hand it the lock: `LOCKED` stays
//!   set and `handed_to` names it, so no barging locker can take the lock in
//!   between. Otherwise clear `LOCKED` and let it compete. Either way, clear
//!   `QUEUED` if the queue is now empty, release the `queue` lock, and
//!   unpark the waiter.
//!
//! # Why no wake-up is lost
//!
//! A locker queues only after its CAS set `QUEUED` (or found it set) while
//! `LOCKED` was set, all under the `queue` lock. The holder's unlock CAS
//! `LOCKED -> 0` and that CAS are RMWs of one word, so one of them comes
//! first: if the unlock is first, the locker's CAS fails, it re-reads the
//! word and finds the lock free and takes it (or finds a new holder, and
//! the same argument holds for that holder's unlock); if the locker's is
//! first, the
//! unlock CAS fails on `QUEUED` and the unlock takes the `queue` lock, after
//! the locker released it, and so finds its entry. A waiter woken to compete
//! either takes the lock or finds it held and queues again, and then the
//! holder's unlock wakes someone. While `LOCKED` is set and the `queue` lock
//! is held nobody else can change `state` (a locker's CAS needs `LOCKED`
//! clear, and `QUEUED` changes only under the `queue` lock), so the slow
//! unlock may simply store the new state.
//!
//! # Fairness
//!
//! Barging gives throughput (a running task does not wait for a parked one
//! to be scheduled) but could starve a parked waiter forever: a task that
//! unlocks and locks again in a loop would win every time. So, as Go's
//! `sync.Mutex` does in its "starvation mode", an unlock hands the lock
//! straight to the oldest waiter once that waiter has waited
//! `hand_off_after` (1 ms, [`HAND_OFF_AFTER`], for the real mutex; the loom
//! models use 0, always hand off, and `Duration::MAX`, never). A woken waiter
//! that loses the race keeps its ticket, so it is again the oldest and its
//! wait time keeps counting: no waiter waits much longer than
//! `hand_off_after` plus the critical sections of the waiters ahead of it.
//! The price of a hand-off: the lock stays held until the new owner is
//! scheduled (a woken task waits for its worker to get to it), which is why
//! it is not done on every unlock: with `fibra-bench`'s `locks` example on
//! 2 vCPUs, handing off on every unlock (`HAND_OFF_AFTER` edited to 0 for
//! that run, made for commit 9b4a69f of 2026-11-27; not a setting of the
//! example) made two contending tasks 10 to 100 times slower (82, 108 and
//! 530 ns per lock in three runs, against 5 to 8 ns with 1 ms), a lock
//! convoy.

use super::wait_queue::WaitQueue;
use crate::loom::atomic::{AtomicU32, Ordering};
use crate::park::{ParkOutcome, Parking};
use std::time::{Duration, Instant};

/// Set while someone holds the mutex.
const LOCKED: u32 = 1;
/// Set exactly when the wait queue is non-empty (changed under its lock).
const QUEUED: u32 = 2;
const _: () = assert!(LOCKED & QUEUED == 0);

/// How long the oldest waiter waits before an unlock hands it the lock (Go
/// uses the same 1 ms to enter its starvation mode).
pub(crate) const HAND_OFF_AFTER: Duration = Duration::from_millis(1);

/// Rounds of spinning (1, 2, 4, ... `spin_loop` hints) before a locker
/// queues; none under loom, where each spin would be a scheduling point.
const SPIN_ROUNDS: u32 = if cfg!(loom) { 0 } else { 4 };

/// The lock of a mutex (see the module docs).
pub(crate) struct RawMutex<W> {
    state: AtomicU32,
    queue: crate::loom::Mutex<Queue<W>>,
}

/// What the `queue` lock guards.
struct Queue<W> {
    /// Parked lockers; `data` is when each first queued.
    waiters: WaitQueue<W, Instant>,
    /// The ticket of the waiter an unlock handed the lock to, until that
    /// waiter notices. At most one: the lock has one holder at a time.
    handed_to: Option<u64>,
}

/// What a parked locker finds when it wakes.
#[derive(Debug, PartialEq, Eq)]
enum Wake {
    /// The lock was handed to it: it holds the lock.
    HandedOff,
    /// Its entry was taken out by an unlock: compete for the lock again.
    Compete,
    /// Still queued (a spurious wake-up): park again.
    Spurious,
    /// Timed out while still queued: it left the queue.
    GaveUp,
}

/// Where a locker stands between two tries: its ticket and when it first
/// queued, once it has queued.
type Seniority = Option<(u64, Instant)>;

impl<W: Copy> RawMutex<W> {
    crate::loom::const_fn_unless_loom! {
        /// An unlocked mutex.
        pub(crate) fn new() -> RawMutex<W> {
            RawMutex {
                state: AtomicU32::new(0),
                queue: crate::loom::Mutex::new(Queue::new()),
            }
        }
    }

    /// Takes the lock if it is free (even if others are queued: a `try_lock`
    /// never waits, so it cannot wait its turn either).
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & LOCKED == 0 {
            // Acquire: pairs with the Release of the unlock that cleared
            // LOCKED (fast CAS or slow store), so the last holder's writes
            // are visible to the new one.
            match self.state.compare_exchange_weak(
                state,
                state | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(found) => state = found,
            }
        }
        false
    }

    /// Whether someone holds the lock now (a snapshot, for `Debug`/tests).
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Takes the lock, parking while it is held.
    #[inline]
    pub(crate) fn lock<P: Parking<Waiter = W>>(&self, parking: &P) {
        if !self.try_lock_fast() {
            let locked = self.lock_slow(parking, None);
            debug_assert!(locked, "no deadline");
        }
    }

    /// Takes the lock, parking while it is held, unless `deadline` passes
    /// first; true if it was taken.
    pub(crate) fn lock_until<P: Parking<Waiter = W>>(&self, parking: &P, deadline: Instant) -> bool {
        self.try_lock_fast() || self.lock_slow(parking, Some(deadline))
    }

    /// The uncontended case: one CAS `0 -> LOCKED`.
    #[inline]
    fn try_lock_fast(&self) -> bool {
        // Acquire: pairs with the Release of the unlock that cleared LOCKED.
        self.state
            .compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases the lock; the oldest waiter, if any, is woken (and handed
    /// the lock if it has waited `hand_off_after`). Called only by the
    /// holder (the guard types make sure of it).
    #[inline]
    pub(crate) fn unlock<P: Parking<Waiter = W>>(&self, parking: &P, hand_off_after: Duration) {
        // Release: pairs with the Acquire CAS of the next locker (`lock`,
        // `try_lock`, `try_lock_queued`).
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow(parking, hand_off_after);
        }
    }

    /// Spins, queues, parks until the lock is taken (true) or `deadline`
    /// passes (false).
    #[cold]
    fn lock_slow<P: Parking<Waiter = W>>(&self, parking: &P, deadline: Option<Instant>) -> bool {
        let mut seniority: Seniority = None;
        loop {
            if self.spin_for_lock() {
                return true;
            }
            let Some(ticket) = self.queue_or_lock(parking, &mut seniority) else {
                return true;
            };
            loop {
                let outcome = parking.park_with(deadline);
                match self.wake(ticket, outcome) {
                    Wake::HandedOff => return true,
                    // Woken by an unlock, but out of time: one last try. If
                    // it fails, the lock is held, and its holder's unlock
                    // wakes the next waiter: our wake-up is not lost.
                    Wake::Compete if outcome == ParkOutcome::TimedOut => return self.try_lock(),
                    Wake::Compete => break,
                    Wake::Spurious => {}
                    Wake::GaveUp => return false,
                }
            }
        }
    }

    /// Spins a little while nobody is queued, trying to take the lock
    /// whenever it is free; true if it was taken.
    fn spin_for_lock(&self) -> bool {
        for round in 0..SPIN_ROUNDS {
            if self.try_lock() {
                return true;
            }
            if self.state.load(Ordering::Relaxed) & QUEUED != 0 {
                return false; // others already wait: queue behind them
            }
            (0..1u32 << round).for_each(|_| std::hint::spin_loop());
        }
        self.try_lock()
    }

    /// Under the `queue` lock: takes the lock if it is free (`None`), or
    /// marks the word `QUEUED` and queues the caller (with its old ticket if
    /// it has one) and returns its ticket.
    fn queue_or_lock<P: Parking<Waiter = W>>(&self, parking: &P, seniority: &mut Seniority) -> Option<u64> {
        let mut queue = crate::loom::lock(&self.queue);
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED == 0 {
                // Acquire: pairs with the Release of the unlock that
                // cleared LOCKED, as in `try_lock`.
                match self.state.compare_exchange_weak(
                    state,
                    state | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return None,
                    Err(found) => state = found,
                }
            } else if state & QUEUED != 0 {
                break;
            } else {
                // Relaxed: QUEUED only needs to be in the word before the
                // holder's unlock CAS (both RMWs of this word); the entry
                // itself is published by the `queue` lock.
                match self.state.compare_exchange_weak(
                    state,
                    state | QUEUED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(found) => state = found,
                }
            }
        }
        Some(queue.enqueue(parking.current(), seniority))
    }

    /// Under the `queue` lock: what a woken locker with `ticket` finds; if
    /// it timed out and is still queued, it leaves the queue.
    fn wake(&self, ticket: u64, outcome: ParkOutcome) -> Wake {
        let mut queue = crate::loom::lock(&self.queue);
        if queue.handed_to == Some(ticket) {
            queue.handed_to = None;
            Wake::HandedOff
        } else if !queue.waiters.contains(ticket) {
            Wake::Compete
        } else if outcome == ParkOutcome::Unparked {
            Wake::Spurious
        } else {
            queue.waiters.remove(ticket);
            if queue.waiters.is_empty() {
                // An RMW: lockers and the holder may change the word now.
                // Relaxed: QUEUED only steers unlocks to the slow path.
                self.state.fetch_and(!QUEUED, Ordering::Relaxed);
            }
            Wake::GaveUp
        }
    }

    #[cold]
    fn unlock_slow<P: Parking<Waiter = W>>(&self, parking: &P, hand_off_after: Duration) {
        let mut queue = crate::loom::lock(&self.queue);
        let oldest = queue.waiters.pop_front();
        let queued = if queue.waiters.is_empty() { 0 } else { QUEUED };
        let hand_off = oldest
            .as_ref()
            .is_some_and(|entry| entry.data.elapsed() >= hand_off_after);
        if hand_off {
            debug_assert!(queue.handed_to.is_none(), "one holder at a time");
            queue.handed_to = oldest.as_ref().map(|entry| entry.ticket);
            // Relaxed: the lock stays held, so no locker's Acquire CAS can
            // succeed on this value; the new owner learns of the hand-off
            // from `handed_to`, under the `queue` lock (in `wake`).
            self.state.store(LOCKED | queued, Ordering::Relaxed);
        } else {
            // Release: pairs with the Acquire CAS of the next locker, as in
            // `unlock`'s fast path.
            self.state.store(queued, Ordering::Release);
        }
        drop(queue);
        if let Some(entry) = oldest {
            parking.unpark(entry.waiter);
        }
    }
}

impl<W> Queue<W> {
    const fn new() -> Queue<W> {
        Queue {
            waiters: WaitQueue::new(),
            handed_to: None,
        }
    }

    /// Queues `waiter`: at the back on its first time, else back in the
    /// place its old ticket gives it. Returns its ticket.
    fn enqueue(&mut self, waiter: W, seniority: &mut Seniority) -> u64 {
        match *seniority {
            Some((ticket, since)) => {
                self.waiters.reinsert(super::wait_queue::Entry {
                    ticket,
                    waiter,
                    data: since,
                });
                ticket
            }
            None => {
                let since = Instant::now();
                let ticket = self.waiters.push_back(waiter, since);
                *seniority = Some((ticket, since));
                ticket
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::park::{Tasks, Waiter};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn try_lock_and_unlock_without_waiters() {
        let mutex = RawMutex::new();
        assert!(!mutex.is_locked());
        assert!(mutex.try_lock());
        assert!(!mutex.try_lock(), "held");
        assert!(mutex.is_locked());
        mutex.unlock(&Tasks, HAND_OFF_AFTER);
        mutex.lock(&Tasks);
        mutex.unlock(&Tasks, HAND_OFF_AFTER);
        assert!(!mutex.is_locked());
    }

    /// Locks `mutex` from a new thread that holds it until `release` is
    /// set; returns once that thread is queued behind the caller's lock.
    fn queue_a_thread(
        mutex: &Arc<RawMutex<Waiter>>,
        release: &Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<()> {
        let (other, release) = (mutex.clone(), release.clone());
        let thread = std::thread::spawn(move || {
            other.lock(&Tasks);
            while !release.load(Ordering::Relaxed) {
                std::thread::yield_now();
            }
            other.unlock(&Tasks, HAND_OFF_AFTER);
        });
        while crate::loom::lock(&mutex.queue).waiters.is_empty() {
            std::thread::yield_now();
        }
        assert_eq!(mutex.state.load(Ordering::Relaxed), LOCKED | QUEUED);
        thread
    }

    #[test]
    fn an_unlock_hands_the_lock_to_a_waiter_that_waited_long_enough() {
        let mutex = Arc::new(RawMutex::new());
        let release = Arc::new(AtomicBool::new(false));
        mutex.lock(&Tasks);
        let waiter = queue_a_thread(&mutex, &release);
        mutex.unlock(&Tasks, Duration::ZERO);
        // Handed off: still locked, whether or not the waiter has noticed.
        assert!(!mutex.try_lock(), "the unlocker cannot barge back in");
        release.store(true, Ordering::Relaxed);
        waiter.join().unwrap();
        assert_eq!(mutex.state.load(Ordering::Relaxed), 0);
        assert_eq!(crate::loom::lock(&mutex.queue).handed_to, None);
    }

    /// A `Parking` that records whom it was asked to wake, and never parks:
    /// the unlock tests below drive `unlock` by hand, deterministically.
    #[derive(Default)]
    struct Recorder(std::cell::RefCell<Vec<usize>>);

    impl Parking for Recorder {
        type Waiter = usize;
        fn current(&self) -> usize {
            7
        }
        fn park(&self) {
            unreachable!("the tests below never park");
        }
        fn park_until(&self, _: Instant) -> ParkOutcome {
            unreachable!("the tests below never park");
        }
        fn unpark(&self, waiter: usize) {
            self.0.borrow_mut().push(waiter);
        }
    }

    /// A held mutex with one queued waiter (ticket returned), as `lock_slow`
    /// leaves it.
    fn held_with_one_waiter(recorder: &Recorder) -> (RawMutex<usize>, u64) {
        let mutex = RawMutex::new();
        assert!(mutex.try_lock());
        let ticket = mutex.queue_or_lock(recorder, &mut None);
        assert_eq!(mutex.state.load(Ordering::Relaxed), LOCKED | QUEUED);
        (mutex, ticket.expect("queued behind the holder"))
    }

    #[test]
    fn an_unlock_wakes_a_recent_waiter_to_compete() {
        let recorder = Recorder::default();
        let (mutex, _) = held_with_one_waiter(&recorder);
        mutex.unlock(&recorder, Duration::MAX);
        assert_eq!(mutex.state.load(Ordering::Relaxed), 0, "free: anyone may take it");
        assert_eq!(crate::loom::lock(&mutex.queue).handed_to, None);
        assert_eq!(*recorder.0.borrow(), [7], "the waiter was woken");
    }

    #[test]
    fn an_unlock_hands_off_to_a_waiter_that_waited_long_enough_deterministically() {
        let recorder = Recorder::default();
        let (mutex, ticket) = held_with_one_waiter(&recorder);
        mutex.unlock(&recorder, Duration::ZERO);
        assert_eq!(
            mutex.state.load(Ordering::Relaxed),
            LOCKED,
            "still held, for the waiter"
        );
        assert_eq!(crate::loom::lock(&mutex.queue).handed_to, Some(ticket));
        assert_eq!(*recorder.0.borrow(), [7], "the waiter was woken");
        assert!(!mutex.try_lock(), "nobody else can take it");
    }
}
