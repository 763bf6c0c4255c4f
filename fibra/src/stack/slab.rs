//! A slab: one large mapping carved into fiber stacks.
//!
//! Layout: `capacity` slots of `stride` bytes, each a guard region of `guard`
//! bytes (lowest addresses) followed by the usable stack, which grows down
//! towards that guard:
//!
//! ```text
//! start                                                              end
//! | guard | stack 0 ^ top 0 | guard | stack 1 ^ top 1 | ... unused ... |
//! ```
//!
//! The mapping is `PROT_READ | PROT_WRITE`, `MAP_PRIVATE | MAP_ANONYMOUS |
//! MAP_NORESERVE | MAP_STACK`: it reserves address space only, and the kernel
//! commits a page when a fiber first touches it. Transparent huge pages are
//! refused (`MADV_NOHUGEPAGE`) so that touching one page of a stack never
//! commits two megabytes.
//!
//! Slots are carved in order on demand; a slot's guard is installed when it is
//! carved, so creating a slab costs one `mmap` however large it is.
//!
//! Invariants: the slab is registered with the overflow registry for as long
//! as it is mapped; `carved <= capacity`; every carved slot has its guard.

use super::guard::{self, GuardKind};
use super::registry::{SlabRange, SlotId, REGISTRY};
use std::io;
use std::ptr;

#[derive(Debug)]
pub(crate) struct Slab {
    range: SlabRange,
    capacity: usize,
    carved: usize,
    registry_slot: Option<SlotId>,
}

impl Slab {
    /// Reserves a slab of `capacity` slots of `stride` bytes, each starting
    /// with `guard` bytes of guard region. Both sizes are page multiples.
    pub(crate) fn new(stride: usize, guard: usize, capacity: usize) -> io::Result<Slab> {
        let len = stride.checked_mul(capacity).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "fibra: fiber stack slab size overflows",
            )
        })?;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
        // SAFETY: a fresh anonymous mapping at an address the kernel picks
        // touches no existing memory.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENOMEM) && guard::near_map_count_limit() {
                return Err(guard::map_count_error());
            }
            return Err(io::Error::new(
                err.kind(),
                format!(
                    "fibra: cannot reserve a fiber stack slab of {} KiB: {err}",
                    len >> 10
                ),
            ));
        }
        let start = addr as usize;
        let mut slab = Slab {
            range: SlabRange {
                start,
                end: start + len,
                stride,
                guard,
            },
            capacity,
            carved: 0,
            registry_slot: None,
        };
        // SAFETY: the range is the mapping just made; the advice only stops
        // the kernel from backing it with huge pages. It fails harmlessly
        // (EINVAL) on kernels built without transparent huge pages.
        unsafe { libc::madvise(addr, len, libc::MADV_NOHUGEPAGE) };
        // On error `slab` is dropped here and unmaps the reservation.
        slab.registry_slot = Some(REGISTRY.register(slab.range)?);
        Ok(slab)
    }

    /// Carves the next slot, installs its guard, and returns the stack's top
    /// (highest) address; `None` when the slab is full.
    pub(crate) fn carve(&mut self, force_mprotect: bool) -> Option<io::Result<usize>> {
        if self.carved == self.capacity {
            return None;
        }
        let slot_start = self.range.start + self.carved * self.range.stride;
        // SAFETY: the guard range is page aligned, inside our mapping, and
        // belongs to a slot nobody has been given yet.
        let installed = unsafe { guard::install_guard(slot_start, self.range.guard, force_mprotect) };
        Some(installed.map(|_: GuardKind| {
            self.carved += 1;
            slot_start + self.range.stride
        }))
    }

    /// Bytes of address space the slab reserves.
    pub(crate) fn len(&self) -> usize {
        self.range.end - self.range.start
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        if let Some(slot) = self.registry_slot.take() {
            REGISTRY.unregister(slot);
        }
        // SAFETY: the mapping is ours, it is no longer registered, and the
        // pool drops a slab only when none of its stacks is in use.
        let ret = unsafe { libc::munmap(self.range.start as *mut libc::c_void, self.len()) };
        debug_assert_eq!(ret, 0, "munmap of a fiber stack slab failed");
    }
}
