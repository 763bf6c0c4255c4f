//! A hierarchical timing wheel: timers keyed by a deadline in *ticks*, with
//! O(1) insert and cancel, fired by advancing the wheel to the current tick.
//!
//! Algorithm: G. Varghese and T. Lauck, "Hashed and Hierarchical Timing
//! Wheels: Data Structures for the Efficient Implementation of a Timer
//! Facility", SOSP 1987 (scheme 7, hierarchical wheels). The layout of the
//! levels is the one Linux's `kernel/time/timer.c` and Tokio's timer wheel
//! use: [`LEVELS`] levels of [`SLOTS`] slots; a slot of level `l` spans
//! `64^l` ticks, so six levels cover `2^36` ticks (795 days at 1 ms).
//!
//! Placement: an entry whose deadline `when` is after the wheel's current
//! tick `now` goes to the level of the highest 6-bit group in which `when`
//! and `now` differ, into the slot `(when >> 6 * level) % 64`. Consequences
//! (the invariants the code relies on):
//! - every entry of level `l` is due before every slot of level `l + 1`
//!   begins, so the earliest slot to look at is the first occupied one of
//!   the lowest occupied level;
//! - a slot's start (its *expiration*) is at or before each of its entries'
//!   deadlines; when it is reached, the entries due by then fire and the
//!   others are placed again, on strictly lower levels (they are due within
//!   the slot's span), so advancing always makes progress;
//! - only the top level wraps around: an entry placed there may sit in a slot
//!   *before* the current one, meaning that slot's next turn; never in the
//!   current slot, which would be ambiguous (placement stops short of it).
//!
//! A deadline at or before `now` is placed at `now + 1` (it fires at the next
//! tick); one beyond the *horizon* (the last tick before the current top-level
//! slot comes round again, between 63/64 of `2^36` ticks and `2^36 - 1` ticks
//! ahead) is placed at the horizon and placed again from there. Entries keep
//! their true deadline, which alone decides when they fire.
//!
//! Storage: entries live in a slab (`Vec`) and are linked into their slot's
//! doubly linked list by index; freed entries form a free list, so a wheel in
//! steady state does not allocate. A [`TimerKey`] carries the entry's
//! generation, bumped whenever an entry is freed, so that cancelling a timer
//! that already fired (its entry possibly reused) does nothing.
//!
//! The wheel has no notion of time or threads: its owner converts clock
//! readings to ticks (`time::timers`) and is the only one to touch it.

/// Levels of the wheel.
pub(crate) const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks spanned by one full turn of the top level.
const TOP_LEVEL_SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);
/// "No entry": the end of a list.
const NIL: u32 = u32::MAX;

const _: () = assert!(SLOTS == 64, "a level's occupancy is one u64 bit mask");
const _: () = assert!(
    SLOT_BITS * LEVELS as u32 <= 63,
    "ticks of every level fit in a u64"
);

/// Identifies one inserted timer, for [`Wheel::cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

/// A timing wheel of entries carrying a `T` (see the module docs).
pub(crate) struct Wheel<T> {
    /// The current tick: every entry with a deadline at or before it fired.
    now: u64,
    levels: [Level; LEVELS],
    entries: Vec<Entry<T>>,
    /// Head of the list of free entries (linked through `next`).
    free: u32,
    len: usize,
}

struct Level {
    /// Bit `s` is set iff slot `s` is not empty.
    occupied: u64,
    /// The first entry of each slot's list.
    heads: [u32; SLOTS],
}

struct Entry<T> {
    /// The deadline, in ticks.
    when: u64,
    /// `Some` while the entry is in the wheel, `None` while it is free.
    payload: Option<T>,
    /// Where it is linked: `level * SLOTS + slot`.
    location: usize,
    prev: u32,
    next: u32,
    generation: u32,
}

/// A slot to process next, and the tick at which it begins.
struct Expiration {
    level: usize,
    slot: usize,
    deadline: u64,
}

impl<T> Wheel<T> {
    /// An empty wheel whose current tick is 0.
    pub(crate) fn new() -> Wheel<T> {
        Wheel {
            now: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            entries: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// The current tick.
    #[cfg(test)]
    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    /// How many timers are pending.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a timer due at tick `when`. O(1) (amortised: the slab may grow).
    pub(crate) fn insert(&mut self, when: u64, payload: T) -> TimerKey {
        let index = self.allocate(when, payload);
        self.link(index);
        self.len += 1;
        TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Removes a pending timer and returns its payload; `None` if it fired
    /// or was cancelled already. O(1).
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let entry = self.entries.get(key.index as usize)?;
        if entry.generation != key.generation || entry.payload.is_none() {
            return None;
        }
        self.unlink(key.index);
        self.len -= 1;
        Some(self.release(key.index))
    }

    /// The tick at which the next slot expires (at or before the earliest
    /// deadline; later entries of that slot are merely placed again then),
    /// or `None` when no timer is pending.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|expiration| expiration.deadline)
    }

    /// Advances the current tick to `now` (if it is later), calling `fire`
    /// with the payload of every timer due at or before it, in deadline
    /// order (timers due at the same tick in no particular order). Returns
    /// how many fired. `fire` cannot reach the wheel: it is borrowed.
    pub(crate) fn advance_to(&mut self, now: u64, mut fire: impl FnMut(T)) -> usize {
        let mut fired = 0;
        while let Some(expiration) = self.next_slot() {
            if expiration.deadline > now {
                break;
            }
            self.now = self.now.max(expiration.deadline);
            fired += self.process(expiration, &mut fire);
        }
        self.now = self.now.max(now);
        fired
    }

    /// Empties the slot of `expiration` (the wheel's current tick is its
    /// start): fires the entries that are due, places the others again.
    fn process(&mut self, expiration: Expiration, fire: &mut impl FnMut(T)) -> usize {
        let level = &mut self.levels[expiration.level];
        let mut next = std::mem::replace(&mut level.heads[expiration.slot], NIL);
        level.occupied &= !(1 << expiration.slot);
        let mut fired = 0;
        while next != NIL {
            let index = next;
            next = self.entries[index as usize].next;
            if self.entries[index as usize].when <= self.now {
                self.len -= 1;
                fired += 1;
                fire(self.release(index));
            } else {
                self.link(index);
            }
        }
        fired
    }

    /// The first occupied slot of the lowest occupied level.
    fn next_slot(&self) -> Option<Expiration> {
        let (level, occupied) = self
            .levels
            .iter()
            .enumerate()
            .find_map(|(level, l)| (l.occupied != 0).then_some((level, l.occupied)))?;
        let slot_span = slot_span(level);
        let level_span = slot_span << SLOT_BITS;
        let current = slot_of(self.now, level);
        // The first occupied slot at or after the current one, wrapping around.
        let slot = (current + occupied.rotate_right(current as u32).trailing_zeros() as usize) % SLOTS;
        let level_start = self.now & !(level_span - 1);
        let mut deadline = level_start + slot as u64 * slot_span;
        if deadline <= self.now {
            // Placement puts entries after the current slot in every level
            // but the top one, which wraps: that slot's next turn.
            debug_assert_eq!(level, LEVELS - 1, "only the top level wraps");
            deadline += level_span;
        }
        Some(Expiration {
            level,
            slot,
            deadline,
        })
    }

    /// Links entry `index` into the slot its deadline falls in, relative to
    /// the current tick (see "Placement" in the module docs).
    fn link(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        let at = when.clamp(self.now + 1, self.horizon());
        let level = level_for(self.now, at);
        let slot = slot_of(at, level);
        let head = std::mem::replace(&mut self.levels[level].heads[slot], index);
        self.levels[level].occupied |= 1 << slot;
        let entry = &mut self.entries[index as usize];
        entry.location = level * SLOTS + slot;
        entry.prev = NIL;
        entry.next = head;
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
    }

    /// The furthest tick an entry is placed at: just before the current
    /// top-level slot comes round again (see the module docs).
    fn horizon(&self) -> u64 {
        let top_slot_start = self.now & !(slot_span(LEVELS - 1) - 1);
        top_slot_start + TOP_LEVEL_SPAN - 1
    }

    /// Unlinks entry `index` from its slot's list.
    fn unlink(&mut self, index: u32) {
        let Entry {
            location, prev, next, ..
        } = self.entries[index as usize];
        let (level, slot) = (location / SLOTS, location % SLOTS);
        if prev == NIL {
            self.levels[level].heads[slot] = next;
            if next == NIL {
                self.levels[level].occupied &= !(1 << slot);
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// A free entry (reused, or a new one) holding `payload`, not linked.
    fn allocate(&mut self, when: u64, payload: T) -> u32 {
        if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next;
            entry.when = when;
            entry.payload = Some(payload);
            return index;
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("fewer than 2^32 timers pending on one worker");
        self.entries.push(Entry {
            when,
            payload: Some(payload),
            location: 0,
            prev: NIL,
            next: NIL,
            generation: 0,
        });
        index
    }

    /// Frees an unlinked entry: bumps its generation (so its keys go stale)
    /// and returns its payload.
    fn release(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.next = self.free;
        self.free = index;
        entry.payload.take().expect("a linked entry has a payload")
    }
}

/// Ticks spanned by one slot of `level`.
fn slot_span(level: usize) -> u64 {
    1 << (SLOT_BITS * level as u32)
}

/// The slot of `level` that tick `at` falls in.
fn slot_of(at: u64, level: usize) -> usize {
    ((at >> (SLOT_BITS * level as u32)) as usize) % SLOTS
}

/// The level for an entry placed at tick `at`, seen from tick `now`: that of
/// the highest 6-bit group in which they differ (capped at the top level,
/// which wraps).
fn level_for(now: u64, at: u64) -> usize {
    let differing = (now ^ at) | (SLOTS as u64 - 1);
    let highest_bit = 63 - differing.leading_zeros();
    ((highest_bit / SLOT_BITS) as usize).min(LEVELS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Advances to `now` and returns what fired, in firing order.
    fn fire_until(wheel: &mut Wheel<u32>, now: u64) -> Vec<u32> {
        let mut fired = Vec::new();
        let count = wheel.advance_to(now, |payload| fired.push(payload));
        assert_eq!(count, fired.len());
        fired
    }

    #[test]
    fn fires_at_the_deadline_not_before() {
        let mut wheel = Wheel::new();
        wheel.insert(5, 1);
        assert_eq!(wheel.next_expiration(), Some(5));
        assert!(fire_until(&mut wheel, 4).is_empty());
        assert_eq!(wheel.now(), 4);
        assert_eq!(fire_until(&mut wheel, 5), [1]);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn fires_in_deadline_order_across_levels() {
        let mut wheel = Wheel::new();
        let deadlines = [70_000, 3, 64, 4_096, 63, 1, 262_144, 65, 4_095, 1 << 30];
        for (i, &when) in deadlines.iter().enumerate() {
            wheel.insert(when, i as u32);
        }
        let fired = fire_until(&mut wheel, u64::from(u32::MAX));
        let fired_deadlines: Vec<u64> = fired.iter().map(|&i| deadlines[i as usize]).collect();
        let mut sorted = deadlines.to_vec();
        sorted.sort_unstable();
        assert_eq!(fired_deadlines, sorted);
    }

    #[test]
    fn next_expiration_is_never_after_the_earliest_deadline() {
        let mut wheel = Wheel::new();
        wheel.insert(5_000, 0);
        let first = wheel.next_expiration().unwrap();
        assert!(first <= 5_000);
        // Reaching a higher-level slot only moves the entry down a level.
        let mut now = first;
        while wheel.advance_to(now, |_| ()) == 0 {
            now = wheel.next_expiration().unwrap();
            assert!(now <= 5_000);
        }
        assert_eq!(now, 5_000);
    }

    #[test]
    fn cancel_removes_and_stale_keys_do_nothing() {
        let mut wheel = Wheel::new();
        let a = wheel.insert(10, 1);
        let b = wheel.insert(10, 2);
        let c = wheel.insert(200, 3);
        assert_eq!(wheel.cancel(b), Some(2));
        assert_eq!(wheel.cancel(b), None, "cancelled twice");
        assert_eq!(wheel.len(), 2);
        assert_eq!(fire_until(&mut wheel, 10), [1]);
        assert_eq!(wheel.cancel(a), None, "already fired");
        // The freed entries are reused; old keys stay stale.
        let d = wheel.insert(11, 4);
        assert_eq!(wheel.cancel(a), None);
        assert_eq!(wheel.cancel(b), None);
        assert_eq!(wheel.cancel(d), Some(4));
        assert_eq!(wheel.cancel(c), Some(3));
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiration(), None);
        assert!(fire_until(&mut wheel, 1_000).is_empty());
    }

    #[test]
    fn past_deadlines_fire_at_the_next_tick() {
        let mut wheel = Wheel::new();
        fire_until(&mut wheel, 100);
        wheel.insert(7, 1);
        wheel.insert(100, 2);
        assert_eq!(wheel.next_expiration(), Some(101));
        assert!(fire_until(&mut wheel, 100).is_empty());
        let mut fired = fire_until(&mut wheel, 101);
        fired.sort_unstable();
        assert_eq!(fired, [1, 2]);
    }

    #[test]
    fn deadlines_beyond_the_horizon_wait_in_the_top_level() {
        let mut wheel = Wheel::new();
        fire_until(&mut wheel, 12_345);
        let far = 12_345 + 3 * TOP_LEVEL_SPAN;
        let near = 12_345 + TOP_LEVEL_SPAN / 2;
        wheel.insert(far, 1);
        wheel.insert(near, 2);
        let mut now = 12_345;
        let mut fired = Vec::new();
        while let Some(next) = wheel.next_expiration() {
            assert!(next > now, "every step advances");
            now = next;
            for payload in fire_until(&mut wheel, now) {
                fired.push((payload, now));
            }
        }
        assert_eq!(fired, [(2, near), (1, far)]);
    }

    #[test]
    fn a_wrapping_top_level_slot_is_its_next_turn() {
        // Near the end of a top-level turn, a far deadline lands in a
        // top-level slot before the current one; so does one past the horizon.
        let mut wheel = Wheel::new();
        let now = TOP_LEVEL_SPAN - 5;
        fire_until(&mut wheel, now);
        let wrapped = now + TOP_LEVEL_SPAN / 2 + 7;
        let beyond = now + TOP_LEVEL_SPAN + 3;
        wheel.insert(beyond, 2);
        wheel.insert(wrapped, 1);
        let next = wheel.next_expiration().unwrap();
        assert!(next > now && next <= wrapped);
        assert!(fire_until(&mut wheel, wrapped - 1).is_empty());
        assert_eq!(fire_until(&mut wheel, wrapped), [1]);
        assert!(fire_until(&mut wheel, beyond - 1).is_empty());
        assert_eq!(fire_until(&mut wheel, beyond), [2]);
    }

    /// xorshift64: deterministic pseudo-random operations.
    fn next_random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Random inserts, cancels and advances, checked against a sorted map:
    /// the wheel fires exactly the due timers, each once, none early.
    #[test]
    fn matches_a_sorted_map_model() {
        let (seeds, rounds): (u64, usize) = if cfg!(miri) { (1, 300) } else { (8, 20_000) };
        for seed in 1..=seeds {
            check_against_model(seed.wrapping_mul(0x2545_F491_4F6C_DD1D), rounds);
        }
    }

    fn check_against_model(seed: u64, rounds: usize) {
        let mut rng = seed;
        let mut wheel = Wheel::new();
        let mut model: BTreeMap<(u64, u32), TimerKey> = BTreeMap::new();
        let mut next_id = 0u32;
        for _ in 0..rounds {
            let roll = next_random(&mut rng);
            match roll % 8 {
                0..=3 => {
                    // Mostly near deadlines, sometimes far ones.
                    let span = [64, 4_096, 1 << 20, 1 << 40][(roll >> 8) as usize % 4];
                    let when = wheel.now() + next_random(&mut rng) % span;
                    let key = wheel.insert(when, next_id);
                    model.insert((when.max(wheel.now() + 1), next_id), key);
                    next_id += 1;
                }
                4 => {
                    if let Some((&(when, id), &key)) = model.iter().nth((roll >> 8) as usize % 8) {
                        assert_eq!(wheel.cancel(key), Some(id));
                        model.remove(&(when, id));
                    }
                }
                _ => {
                    let step = [1, 63, 4_097, 1 << 22][(roll >> 8) as usize % 4];
                    let now = wheel.now() + next_random(&mut rng) % step;
                    let fired = fire_until(&mut wheel, now);
                    let due: Vec<(u64, u32)> = model.range(..(now + 1, 0)).map(|(&k, _)| k).collect();
                    let mut due_ids: Vec<u32> = due.iter().map(|&(_, id)| id).collect();
                    // Same deadlines in the order they fired; ticks ascending.
                    let fired_ticks: Vec<u64> = fired
                        .iter()
                        .map(|id| due.iter().find(|&&(_, d)| d == *id).expect("fired only if due").0)
                        .collect();
                    assert!(fired_ticks.windows(2).all(|w| w[0] <= w[1]), "deadline order");
                    let mut fired_sorted = fired.clone();
                    fired_sorted.sort_unstable();
                    due_ids.sort_unstable();
                    assert_eq!(fired_sorted, due_ids);
                    for key in due {
                        model.remove(&key);
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
            if let Some(&(earliest, _)) = model.keys().next() {
                let next = wheel.next_expiration().expect("timers pending");
                assert!(
                    next > wheel.now() && next <= earliest,
                    "now {} next {next} earliest {earliest}",
                    wheel.now()
                );
            }
        }
    }
}
