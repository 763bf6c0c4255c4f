//! `FiberStack`: one stack handed out by a [`StackPool`](super::StackPool).
//!
//! It is a plain description of an address range (no pointer, no `Drop`):
//! `[limit, base)`, whose lowest `guard` bytes are the guard region and the
//! rest the usable stack. Holding the value is holding the exclusive right to
//! run code on that range.
//!
//! Invariant: the range stays mapped, with its guard installed, for as long as
//! the value exists: its pool never unmaps a slab while any of its stacks is
//! out (see the pool's ownership rule).

use corosensei::stack::{Stack, StackPointer};

/// A fiber stack from a [`StackPool`](super::StackPool); give it back with
/// [`StackPool::put`](super::StackPool::put).
///
/// Dropping it instead leaks its slot: the pool still counts it as out, so
/// the slab it lives in stays mapped for the rest of the process.
#[derive(Debug)]
pub(crate) struct FiberStack {
    /// The highest address (exclusive); stacks grow down from here.
    top: StackPointer,
    /// Usable bytes below `top`.
    size: usize,
    /// Guard bytes below the usable part.
    guard: usize,
    /// The pool this stack must go back to.
    pool_id: u64,
}

impl FiberStack {
    pub(super) fn new(top: usize, size: usize, guard: usize, pool_id: u64) -> FiberStack {
        let top = StackPointer::new(top).expect("a mapped stack does not end at address 0");
        FiberStack {
            top,
            size,
            guard,
            pool_id,
        }
    }

    /// Usable bytes (excluding the guard).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The lowest usable address; just below it is the guard.
    pub(crate) fn bottom(&self) -> usize {
        self.top.get() - self.size
    }

    pub(crate) fn top(&self) -> usize {
        self.top.get()
    }

    /// The same stack with its top `bytes` lower: the caller keeps
    /// `[top - bytes, top)` for itself (a fiber keeps its own record there)
    /// and hands out the rest. Undo with [`Self::raise_top`] before the
    /// stack goes back to its pool.
    ///
    /// # Panics
    /// If `bytes` is not a multiple of 16 (the stack alignment) or leaves
    /// less than half of the stack.
    pub(crate) fn lower_top(self, bytes: usize) -> FiberStack {
        assert!(
            bytes % 16 == 0 && bytes <= self.size / 2,
            "fibra: bad stack reservation"
        );
        FiberStack::new(
            self.top.get() - bytes,
            self.size - bytes,
            self.guard,
            self.pool_id,
        )
    }

    /// Undoes [`Self::lower_top`]`(bytes)`.
    pub(crate) fn raise_top(self, bytes: usize) -> FiberStack {
        FiberStack::new(
            self.top.get() + bytes,
            self.size + bytes,
            self.guard,
            self.pool_id,
        )
    }

    pub(super) fn pool_id(&self) -> u64 {
        self.pool_id
    }
}

// SAFETY: `base()` and `limit()` describe a range that stays mapped while
// `self` exists (module invariant). The top is page aligned, or lowered
// from a page-aligned top by a multiple of 16 (`lower_top`), so aligned to
// `STACK_ALIGNMENT` (16) either way; the usable size is at least
// `MIN_STACK_SIZE / 2` (`lower_top` keeps at least half: 8 KiB > corosensei's
// 4 KiB minimum); the range ends below in a guard page that faults.
unsafe impl Stack for FiberStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.top
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.top.get() - self.size - self.guard).expect("stack limit above address 0")
    }
}
