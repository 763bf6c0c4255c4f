//! Pooled task cells: spawn takes a cell from a thread-local free list.
//!
//! Design (Bonwick's magazines, as in most allocators' thread caches):
//! - Each thread keeps a singly linked free list of cells (`LocalCache`); alloc
//!   and free are a pointer pop/push with no atomic operation and no lock.
//! - A cell freed on another thread than the one that allocated it simply
//!   joins the freeing thread's list. When a list grows past `2 * BATCH`,
//!   `BATCH` cells move to the global pool as one batch (one lock per `BATCH`
//!   frees); an empty list takes one batch back (one lock per `BATCH`
//!   allocations). So producer/consumer patterns (one worker spawns, another
//!   runs and frees) recycle memory in batches.
//! - New cells are carved `SLAB` at a time from one allocation, so the pool
//!   grows without a cap and the allocator is called once per `SLAB` cells.
//!   Slabs are never returned: the pool keeps its high-water mark (Go's free
//!   goroutine lists behave the same). They stay reachable from `GLOBAL`.
//! - A thread's cache goes back to the global pool when the thread exits.
//!
//! Under `--cfg loom` cells come straight from the allocator (loom models the
//! state word, not the pool).

use super::cell::{CELL_ALIGN, CELL_SIZE};
use std::alloc::Layout;
use std::ptr::NonNull;

/// A free cell's first word links to the next free cell.
#[repr(C)]
struct FreeCell {
    next: *mut FreeCell,
}

#[cfg(loom)]
fn cell_layout() -> Layout {
    Layout::from_size_align(CELL_SIZE, CELL_ALIGN).expect("cell layout")
}

#[cfg(loom)]
pub(crate) fn alloc() -> NonNull<u8> {
    // SAFETY: the layout has non-zero size.
    NonNull::new(unsafe { std::alloc::alloc(cell_layout()) })
        .unwrap_or_else(|| std::alloc::handle_alloc_error(cell_layout()))
}

/// # Safety
/// `cell` came from `alloc` and is no longer used.
#[cfg(loom)]
pub(crate) unsafe fn free(cell: NonNull<u8>) {
    // SAFETY: per the contract, allocated with the same layout.
    unsafe { std::alloc::dealloc(cell.as_ptr(), cell_layout()) }
}

#[cfg(not(loom))]
pub(crate) use cached::{alloc, free};

#[cfg(not(loom))]
mod cached {
    use super::*;
    use std::cell::Cell;
    use std::sync::Mutex;

    /// Cells moved between a thread cache and the global pool at once.
    const BATCH: usize = 64;
    /// Cells carved from one allocation.
    const SLAB: usize = 64;

    /// A chain of `len` free cells linked through `FreeCell::next`.
    struct Chain {
        head: *mut FreeCell,
        len: usize,
    }

    // SAFETY: a chain owns its cells exclusively; they are plain memory.
    unsafe impl Send for Chain {}

    struct GlobalPool {
        batches: Vec<Chain>,
        /// Every slab ever allocated (kept reachable; never freed).
        slabs: Vec<SlabPtr>,
    }

    struct SlabPtr(#[allow(dead_code)] *mut u8);
    // SAFETY: only stored to keep the slab reachable; never dereferenced.
    unsafe impl Send for SlabPtr {}

    static GLOBAL: Mutex<GlobalPool> = Mutex::new(GlobalPool {
        batches: Vec::new(),
        slabs: Vec::new(),
    });

    struct LocalCache {
        head: Cell<*mut FreeCell>,
        len: Cell<usize>,
    }

    impl Drop for LocalCache {
        fn drop(&mut self) {
            let chain = Chain {
                head: self.head.replace(std::ptr::null_mut()),
                len: self.len.replace(0),
            };
            if chain.len > 0 {
                crate::loom::lock(&GLOBAL).batches.push(chain);
            }
        }
    }

    thread_local! {
        static CACHE: LocalCache = const {
            LocalCache { head: Cell::new(std::ptr::null_mut()), len: Cell::new(0) }
        };
    }

    /// An unused, uninitialised cell-sized block. Never fails (aborts on OOM
    /// like `Box::new`).
    pub(crate) fn alloc() -> NonNull<u8> {
        CACHE.try_with(LocalCache::pop).unwrap_or_else(|_| {
            // Thread teardown: take a one-cell chain straight from a refill.
            let chain = refill();
            // SAFETY: `refill` returns a non-empty chain of free cells.
            let rest = unsafe { (*chain.head).next };
            if chain.len > 1 {
                crate::loom::lock(&GLOBAL).batches.push(Chain {
                    head: rest,
                    len: chain.len - 1,
                });
            }
            NonNull::new(chain.head.cast()).expect("non-empty chain")
        })
    }

    /// Returns a cell to the calling thread's cache.
    ///
    /// # Safety
    /// `cell` came from `alloc` and is no longer used by anyone.
    pub(crate) unsafe fn free(cell: NonNull<u8>) {
        let cell = cell.cast::<FreeCell>().as_ptr();
        if CACHE.try_with(|cache| cache.push(cell)).is_err() {
            // SAFETY: the cell is ours and at least one pointer wide.
            unsafe { (*cell).next = std::ptr::null_mut() };
            crate::loom::lock(&GLOBAL)
                .batches
                .push(Chain { head: cell, len: 1 });
        }
    }

    impl LocalCache {
        fn pop(&self) -> NonNull<u8> {
            if self.head.get().is_null() {
                let chain = refill();
                self.head.set(chain.head);
                self.len.set(chain.len);
            }
            let cell = self.head.get();
            // SAFETY: a non-null head is a free cell we own.
            let next = unsafe { (*cell).next };
            self.head.set(next);
            self.len.set(self.len.get() - 1);
            prefetch(next);
            NonNull::new(cell.cast()).expect("free list head is non-null")
        }

        fn push(&self, cell: *mut FreeCell) {
            // SAFETY: the caller gave us the cell; its first word is ours.
            unsafe { (*cell).next = self.head.get() };
            self.head.set(cell);
            self.len.set(self.len.get() + 1);
            if self.len.get() >= 2 * BATCH {
                let batch = self.split_off_batch();
                crate::loom::lock(&GLOBAL).batches.push(batch);
            }
        }

        /// Detaches the first `BATCH` cells of the list.
        fn split_off_batch(&self) -> Chain {
            let head = self.head.get();
            let mut last = head;
            for _ in 1..BATCH {
                // SAFETY: the list has at least 2 * BATCH cells.
                last = unsafe { (*last).next };
            }
            // SAFETY: `last` is a cell of our list.
            let rest = unsafe { std::mem::replace(&mut (*last).next, std::ptr::null_mut()) };
            self.head.set(rest);
            self.len.set(self.len.get() - BATCH);
            Chain { head, len: BATCH }
        }
    }

    /// Starts loading the next free cell into this core's cache: it was often
    /// last written by another core (the worker that ran its task), and the
    /// next `pop` reads its link.
    #[inline(always)]
    fn prefetch(cell: *mut FreeCell) {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        // SAFETY: a prefetch is only a hint: it never faults and reads nothing
        // the program can observe, whatever the address (null included).
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(cell.cast::<i8>());
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        let _ = cell;
    }

    /// A non-empty chain: a batch from the global pool, else a new slab.
    fn refill() -> Chain {
        let mut global = crate::loom::lock(&GLOBAL);
        if let Some(chain) = global.batches.pop() {
            return chain;
        }
        let layout = Layout::from_size_align(CELL_SIZE * SLAB, CELL_ALIGN).expect("slab layout");
        // SAFETY: non-zero size.
        let slab = unsafe { std::alloc::alloc(layout) };
        if slab.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        global.slabs.push(SlabPtr(slab));
        drop(global);
        let mut head: *mut FreeCell = std::ptr::null_mut();
        for i in (0..SLAB).rev() {
            // SAFETY: cell `i` lies inside the slab and is cell-aligned.
            let cell = unsafe { slab.add(i * CELL_SIZE) }.cast::<FreeCell>();
            // SAFETY: as above; writing the link initialises the first word.
            unsafe { cell.write(FreeCell { next: head }) };
            head = cell;
        }
        Chain { head, len: SLAB }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn cells_are_reused_and_distinct() {
            let cells: Vec<NonNull<u8>> = (0..3 * BATCH).map(|_| alloc()).collect();
            let mut sorted: Vec<usize> = cells.iter().map(|c| c.as_ptr() as usize).collect();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 3 * BATCH);
            assert!(sorted.iter().all(|addr| addr % CELL_ALIGN == 0));
            for cell in &cells {
                // SAFETY: each came from `alloc` and is unused.
                unsafe { free(*cell) };
            }
        }

        #[test]
        fn local_cache_is_lifo_and_spills_a_batch_when_full() {
            let cells: Vec<*mut FreeCell> = (0..2 * BATCH).map(|_| alloc().as_ptr().cast()).collect();
            let cache = LocalCache {
                head: Cell::new(std::ptr::null_mut()),
                len: Cell::new(0),
            };
            for &cell in &cells[..2 * BATCH - 1] {
                cache.push(cell);
            }
            assert_eq!(cache.len.get(), 2 * BATCH - 1, "no spill below 2 * BATCH");
            assert_eq!(
                cache.pop().as_ptr().cast(),
                cells[2 * BATCH - 2],
                "LIFO: hottest first"
            );
            cache.push(cells[2 * BATCH - 2]);
            cache.push(cells[2 * BATCH - 1]); // reaches 2 * BATCH: spills the newest BATCH
            assert_eq!(cache.len.get(), BATCH);
            let kept: Vec<*mut FreeCell> = (0..BATCH).map(|_| cache.pop().as_ptr().cast()).collect();
            let mut expected: Vec<*mut FreeCell> = cells[..BATCH].to_vec();
            expected.reverse();
            assert_eq!(kept, expected, "the oldest BATCH stay local");
            for cell in kept {
                cache.push(cell); // `cache` returns them to the global pool on drop
            }
        }

        #[test]
        fn cells_freed_on_another_thread_flow_back() {
            let n = if cfg!(miri) { 3 * BATCH } else { 10_000 };
            let cells: Vec<usize> = (0..n).map(|_| alloc().as_ptr() as usize).collect();
            let freed = cells.clone();
            std::thread::spawn(move || {
                for addr in freed {
                    // SAFETY: allocated above, unused, handed to this thread.
                    unsafe { free(NonNull::new(addr as *mut u8).unwrap()) };
                }
            })
            .join()
            .unwrap();
            // The freeing thread exited and its cache went to the global pool;
            // our next allocations come from there rather than new slabs.
            let mut cells = cells;
            cells.sort_unstable();
            let again: Vec<NonNull<u8>> = (0..n).map(|_| alloc()).collect();
            let reused = again
                .iter()
                .filter(|c| cells.binary_search(&(c.as_ptr() as usize)).is_ok())
                .count();
            assert!(reused >= n / 2, "only {reused} of {n} cells were reused");
            for cell in again {
                // SAFETY: unused.
                unsafe { free(cell) };
            }
        }
    }
}
