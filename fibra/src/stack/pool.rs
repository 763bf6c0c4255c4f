//! `StackPool`: a worker's supply of fiber stacks.
//!
//! `get` pops the most recently returned stack (LIFO, so its top pages are
//! still resident and in cache), else carves a new slot from the newest slab,
//! else maps a new slab. Slabs grow geometrically, from 4 MiB to 256 MiB of
//! address space each, with no cap on their number.
//!
//! `put` pushes the stack back. Before that it checks whether the fiber went
//! deep: whether the probe page, just below the stack's hot region (its top
//! 16 KiB by default), holds any non-zero word. A fiber that ran below the hot
//! region left at least a return address in that page (every frame smaller
//! than a page has one); memory released to the kernel reads as zeros. If so,
//! everything below the hot region goes back to the kernel with
//! `MADV_DONTNEED`, so a stack kept in the pool holds at most its hot region
//! (plus a zero-page mapping of the probe page, which costs no RSS).
//!
//! Costs and the alternatives measured here (2 vCPUs): reading the whole
//! 4 KiB page is about 50 ns; the first read of a fresh stack's probe page is
//! a minor fault mapping the zero page, about 1 µs, paid once per stack (again
//! after its deep part is released). Asking the kernel (`mincore` on the
//! probe page) is exact but a syscall on every `put`, about 0.9 µs. Sampling
//! 8 words of the page costs a few ns but missed a fiber whose frames were
//! mostly zeroed buffers, in this module's own test. The full read still
//! misses a fiber whose only frame across the probe page is a zeroed array
//! larger than a page: that stack keeps its deep pages until
//! [`StackPool::trim`], which a worker can call when idle. A pool whose
//! `hot_bytes` is at least its stack size skips the check (and its costs).
//!
//! `MADV_DONTNEED` rather than `MADV_FREE`: with `MADV_FREE` the pages stay
//! in the RSS until memory pressure and keep their contents until then, so the
//! probe would still see the old data and release them again on every `put`;
//! the price of `MADV_DONTNEED` is a zero-filled page fault when a later fiber
//! goes that deep again.
//!
//! Ownership rule: the pool owns its slabs. They are unmapped when the pool is
//! dropped with no stack out; if any stack is still out (a fiber that was
//! never finished, or a `FiberStack` dropped instead of returned), the pool
//! leaks all its slabs, which stay mapped and registered for the overflow
//! handler until the process exits. So a `FiberStack` never outlives its
//! memory, and a runtime that finishes or drops its fibers before its workers
//! exit frees everything.

use super::fiber_stack::FiberStack;
use super::size::{page_size, validate_stack_size, DEFAULT_STACK_SIZE};
use super::slab::Slab;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Address space of the first slab; each next slab doubles it.
const FIRST_SLAB_BYTES: usize = 4 << 20;
/// How often the slab size doubles: up to 4 MiB << 6 = 256 MiB.
const MAX_SLAB_DOUBLINGS: usize = 6;
/// Default for [`StackPoolConfig::hot_bytes`].
const DEFAULT_HOT_BYTES: usize = 16 << 10;

/// How a [`StackPool`] makes its stacks.
#[derive(Clone, Debug)]
pub(crate) struct StackPoolConfig {
    /// Usable bytes per stack; checked by [`validate_stack_size`].
    pub(crate) stack_size: usize,
    /// Top bytes of a stack that stay resident when it returns to the pool;
    /// a stack that went deeper has the rest released.
    pub(crate) hot_bytes: usize,
    /// Use `mprotect` guards even where `MADV_GUARD_INSTALL` works (tests).
    pub(crate) force_mprotect_guards: bool,
}

impl Default for StackPoolConfig {
    fn default() -> Self {
        StackPoolConfig {
            stack_size: DEFAULT_STACK_SIZE,
            hot_bytes: DEFAULT_HOT_BYTES,
            force_mprotect_guards: false,
        }
    }
}

/// A per-worker pool of fiber stacks.
///
/// Owned by one thread: every method that changes it takes `&mut self`, and
/// nothing on the `get`/`put` path locks or uses an atomic. It is plain data,
/// so it may be built on one thread and moved to the worker that owns it.
///
/// ```ignore
/// let mut pool = StackPool::new(StackPoolConfig::default())?;
/// let stack = pool.get()?;
/// let mut coroutine = corosensei::Coroutine::with_stack(stack, |_, ()| 42);
/// // ... run it; when it has returned:
/// pool.put(coroutine.into_stack());
/// ```
#[derive(Debug)]
pub(crate) struct StackPool {
    id: u64,
    stack_size: usize,
    guard: usize,
    hot_bytes: usize,
    force_mprotect_guards: bool,
    slabs: Vec<Slab>,
    /// Tops of returned stacks; the last one is handed out next.
    free: Vec<usize>,
    /// Stacks handed out and not yet returned.
    out: usize,
}

impl StackPool {
    /// A pool with no slab yet. Fails if `config.stack_size` is rejected by
    /// [`validate_stack_size`].
    pub(crate) fn new(config: StackPoolConfig) -> io::Result<StackPool> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let page = page_size();
        Ok(StackPool {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            stack_size: validate_stack_size(config.stack_size)?,
            guard: page,
            hot_bytes: config.hot_bytes.next_multiple_of(page),
            force_mprotect_guards: config.force_mprotect_guards,
            slabs: Vec::new(),
            free: Vec::new(),
            out: 0,
        })
    }

    /// Hands out a stack: the most recently returned one, else a new one.
    ///
    /// Fails only when a new slab or guard is needed and the kernel refuses
    /// (out of address space, or `vm.max_map_count` reached on a kernel
    /// without `MADV_GUARD_INSTALL`; the error says which).
    pub(crate) fn get(&mut self) -> io::Result<FiberStack> {
        let top = match self.free.pop() {
            Some(top) => top,
            None => self.carve()?,
        };
        self.out += 1;
        Ok(FiberStack::new(top, self.stack_size, self.guard, self.id))
    }

    /// Takes a stack back for reuse, first releasing its memory below the
    /// hot region if the fiber went that deep.
    ///
    /// # Panics
    ///
    /// If `stack` came from another pool.
    pub(crate) fn put(&mut self, stack: FiberStack) {
        assert_eq!(
            stack.pool_id(),
            self.id,
            "fibra: a fiber stack was returned to another pool"
        );
        if self.went_deep(&stack) {
            self.release_below_hot(&stack);
        }
        self.out -= 1;
        self.free.push(stack.top());
    }

    /// Gives the memory of all but the `keep` most recently returned stacks
    /// back to the kernel (one `madvise` each); they stay in the pool and
    /// fault pages in again when reused. For a worker that goes idle after a
    /// burst of fibers.
    #[cfg_attr(not(test), allow(dead_code))] // tests; `trim` awaits an idle-worker policy
    pub(crate) fn trim(&mut self, keep: usize) {
        let cold = self.free.len().saturating_sub(keep);
        for &top in &self.free[..cold] {
            // SAFETY: a free stack's usable range is ours and nobody runs on it.
            unsafe { discard(top - self.stack_size, self.stack_size) };
        }
    }

    /// Stacks handed out and not yet returned.
    #[cfg_attr(not(test), allow(dead_code))] // tests; `trim` awaits an idle-worker policy
    pub(crate) fn stacks_out(&self) -> usize {
        self.out
    }

    /// Stacks waiting in the pool.
    #[cfg_attr(not(test), allow(dead_code))] // tests; `trim` awaits an idle-worker policy
    pub(crate) fn stacks_free(&self) -> usize {
        self.free.len()
    }

    /// Slabs mapped so far.
    #[cfg_attr(not(test), allow(dead_code))] // tests; `trim` awaits an idle-worker policy
    pub(crate) fn slab_count(&self) -> usize {
        self.slabs.len()
    }

    /// A fresh slot from the newest slab, mapping a new slab when it is full.
    fn carve(&mut self) -> io::Result<usize> {
        if let Some(top) = self
            .slabs
            .last_mut()
            .and_then(|slab| slab.carve(self.force_mprotect_guards))
        {
            return top;
        }
        let stride = self.stack_size + self.guard;
        let doublings = self.slabs.len().min(MAX_SLAB_DOUBLINGS);
        let capacity = ((FIRST_SLAB_BYTES << doublings) / stride).max(1);
        let mut slab = Slab::new(stride, self.guard, capacity)?;
        let top = slab
            .carve(self.force_mprotect_guards)
            .expect("a new slab has a free slot");
        self.slabs.push(slab);
        top
    }

    /// Whether the fiber wrote below the hot region: whether the probe page
    /// (just below it) holds a non-zero word. See the module doc.
    fn went_deep(&self, stack: &FiberStack) -> bool {
        let page = page_size();
        if stack.size() < self.hot_bytes + page {
            return false;
        }
        let probe = stack.top() - self.hot_bytes - page;
        // SAFETY: the probe page is mapped, readable, page aligned (so aligned
        // for u64), and nobody runs on the returned stack, so nothing writes
        // it while we read.
        let words = unsafe { std::slice::from_raw_parts(probe as *const u64, page / 8) };
        words.iter().fold(0, |any, &word| any | word) != 0
    }

    fn release_below_hot(&self, stack: &FiberStack) {
        // SAFETY: the fiber has returned the stack, so nobody runs on it.
        unsafe { discard(stack.bottom(), stack.size() - self.hot_bytes) };
    }
}

/// Gives `[addr, addr + len)` back to the kernel; it reads as zeros after.
///
/// # Safety
///
/// The range must be page aligned, inside a stack slab, and unused.
unsafe fn discard(addr: usize, len: usize) {
    // SAFETY: per the contract, nothing in the range is live.
    let ret = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) };
    debug_assert_eq!(ret, 0, "madvise(MADV_DONTNEED) on a fiber stack failed");
}

impl Drop for StackPool {
    fn drop(&mut self) {
        if self.out != 0 {
            // Ownership rule: a stack still out must stay mapped, so leak
            // every slab (they stay registered for the overflow handler).
            std::mem::forget(std::mem::take(&mut self.slabs));
        }
    }
}
