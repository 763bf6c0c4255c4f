//! The process-wide registry of fiber stack slabs, readable from a signal
//! handler.
//!
//! The overflow handler must decide, inside SIGSEGV, whether a fault address
//! lies in the guard page of some fiber stack. It may not lock, allocate or
//! follow pointers that another thread might free, so the registry is a fixed
//! static array of slots, each a seqlock over plain words (`AtomicUsize`):
//!
//! - a slot is owned by at most one slab: `register` claims a free slot
//!   with a CAS on `claimed`, `unregister` releases it;
//! - the owner writes the range under the seqlock (sequence odd while
//!   writing); a reader retries a torn read a few times and then skips the
//!   slot, so a handler that interrupts a writer on its own thread never
//!   spins;
//! - readers scan only slots below the high-water mark, so the static array's
//!   untouched tail costs no memory (it lies in zeroed `.bss` pages).
//!
//! Invariant: a slot whose read is consistent and whose range contains an
//! address describes a slab that was registered at that moment; slabs are
//! unregistered before they are unmapped.

use std::io;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

/// How many slabs can be registered at once. Slabs grow to hundreds of
/// stacks each, so this covers millions of fiber stacks.
const SLOTS: usize = 16 * 1024;

/// How often a reader retries a slot that is being written before skipping it.
const READ_RETRIES: usize = 4;

/// The address layout of one slab: `stride`-byte slots from `start` to
/// `end`, each beginning with `guard` bytes of guard region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlabRange {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) stride: usize,
    pub(crate) guard: usize,
}

impl SlabRange {
    const EMPTY: SlabRange = SlabRange {
        start: 0,
        end: 0,
        stride: 0,
        guard: 0,
    };

    /// The usable stack size when `addr` lies in one of this slab's guard
    /// regions.
    fn guard_hit(&self, addr: usize) -> Option<usize> {
        if self.stride == 0 || addr < self.start || addr >= self.end {
            return None;
        }
        let offset_in_slot = (addr - self.start) % self.stride;
        (offset_in_slot < self.guard).then_some(self.stride - self.guard)
    }
}

/// A registered slab's slot; pass it back to [`Registry::unregister`].
#[derive(Debug)]
pub(crate) struct SlotId(usize);

struct Slot {
    claimed: AtomicBool,
    seq: AtomicUsize,
    start: AtomicUsize,
    end: AtomicUsize,
    stride: AtomicUsize,
    guard: AtomicUsize,
}

impl Slot {
    #[allow(clippy::declare_interior_mutable_const)] // only used to initialise the static array
    const FREE: Slot = Slot {
        claimed: AtomicBool::new(false),
        seq: AtomicUsize::new(0),
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        stride: AtomicUsize::new(0),
        guard: AtomicUsize::new(0),
    };

    /// Writes the range; only the slot's owner calls this.
    fn write(&self, range: SlabRange) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Release fence: orders the odd sequence before the field stores; pairs
        // with the Acquire fence in `read`, so a reader that sees any new field
        // value also sees the odd (or a later) sequence and retries.
        fence(Ordering::Release);
        self.start.store(range.start, Ordering::Relaxed);
        self.end.store(range.end, Ordering::Relaxed);
        self.stride.store(range.stride, Ordering::Relaxed);
        self.guard.store(range.guard, Ordering::Relaxed);
        // Release: publishes the fields; pairs with the Acquire load of `seq`
        // at the start of `read`.
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// A consistent snapshot of the range, or `None` while it is being
    /// written. Async-signal-safe: loads only, bounded retries.
    fn read(&self) -> Option<SlabRange> {
        for _ in 0..READ_RETRIES {
            // Acquire: pairs with the final Release store in `write`.
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                continue;
            }
            let range = SlabRange {
                start: self.start.load(Ordering::Relaxed),
                end: self.end.load(Ordering::Relaxed),
                stride: self.stride.load(Ordering::Relaxed),
                guard: self.guard.load(Ordering::Relaxed),
            };
            // Acquire fence: pairs with the Release fence in `write` (see there).
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return Some(range);
            }
        }
        None
    }
}

/// A fixed set of slots; the process uses one static instance.
pub(crate) struct Registry<const N: usize> {
    slots: [Slot; N],
    /// One past the highest slot ever claimed; readers scan below it.
    high_water: AtomicUsize,
}

impl<const N: usize> Registry<N> {
    pub(crate) const fn new() -> Self {
        Registry {
            slots: [Slot::FREE; N],
            high_water: AtomicUsize::new(0),
        }
    }

    /// Records `range` in a free slot.
    ///
    /// Fails with [`io::ErrorKind::OutOfMemory`] when all slots are taken.
    pub(crate) fn register(&self, range: SlabRange) -> io::Result<SlotId> {
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.claimed.load(Ordering::Relaxed) {
                continue; // taken: skip without writing its cache line
            }
            // Acquire on success: pairs with the Release store in `unregister`,
            // so the previous owner's last `write` happens before ours.
            if slot
                .claimed
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                slot.write(range);
                self.high_water.fetch_max(index + 1, Ordering::Relaxed);
                return Ok(SlotId(index));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("fibra: the fiber stack slab registry is full ({N} slabs)"),
        ))
    }

    /// Forgets a range and frees its slot.
    pub(crate) fn unregister(&self, id: SlotId) {
        let slot = &self.slots[id.0];
        slot.write(SlabRange::EMPTY);
        // Release: pairs with the Acquire CAS in `register` by the next owner.
        slot.claimed.store(false, Ordering::Release);
    }

    /// If `addr` lies in a guard region of a registered range, the usable
    /// stack size there. Async-signal-safe: it only loads atomics.
    pub(crate) fn guard_hit(&self, addr: usize) -> Option<usize> {
        let high_water = self.high_water.load(Ordering::Relaxed).min(N);
        self.slots[..high_water]
            .iter()
            .find_map(|slot| slot.read()?.guard_hit(addr))
    }
}

/// The registry of every live fiber stack slab in the process.
pub(crate) static REGISTRY: Registry<SLOTS> = Registry::new();

#[cfg(test)]
mod tests {
    use super::*;

    // Fake addresses: the registry never dereferences them.
    const RANGE: SlabRange = SlabRange {
        start: 0x7000_0000,
        end: 0x7000_0000 + 3 * 0x5000,
        stride: 0x5000,
        guard: 0x1000,
    };

    #[test]
    fn guard_hit_finds_only_guard_pages_of_registered_ranges() {
        let registry = Registry::<4>::new();
        let id = registry.register(RANGE).unwrap();
        assert_eq!(registry.guard_hit(RANGE.start), Some(0x4000));
        assert_eq!(registry.guard_hit(RANGE.start + 0x0fff), Some(0x4000));
        assert_eq!(
            registry.guard_hit(RANGE.start + 0x1000),
            None,
            "first usable byte"
        );
        assert_eq!(
            registry.guard_hit(RANGE.start + 2 * 0x5000 + 0x800),
            Some(0x4000),
            "third slot's guard"
        );
        assert_eq!(registry.guard_hit(RANGE.end), None, "past the end");
        assert_eq!(registry.guard_hit(RANGE.start - 1), None, "before the start");
        registry.unregister(id);
        assert_eq!(registry.guard_hit(RANGE.start), None, "unregistered");
    }

    #[test]
    fn full_registry_fails_and_freed_slots_are_reused() {
        let registry = Registry::<2>::new();
        let first = registry.register(RANGE).unwrap();
        let second_range = SlabRange {
            start: 0x9000_0000,
            end: 0x9000_2000,
            ..RANGE
        };
        let second = registry.register(second_range).unwrap();
        let err = registry.register(RANGE).unwrap_err();
        assert!(err.to_string().contains("registry is full (2 slabs)"), "{err}");
        registry.unregister(first);
        let third = registry
            .register(SlabRange {
                start: 0xa000_0000,
                end: 0xa000_5000,
                ..RANGE
            })
            .unwrap();
        assert_eq!(third.0, 0, "the freed slot is taken again");
        assert_eq!(registry.guard_hit(RANGE.start), None, "the old range is gone");
        assert_eq!(registry.guard_hit(0xa000_0000), Some(0x4000));
        assert_eq!(registry.guard_hit(0x9000_0000), Some(0x4000));
        registry.unregister(second);
        registry.unregister(third);
    }
}
