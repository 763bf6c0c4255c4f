//! Guard pages below fiber stacks.
//!
//! Preferred: `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+), which marks the
//! page table entries so that any access faults, without splitting the slab's
//! mapping: a million guarded stacks cost no extra VMA. On older kernels that
//! call fails with `EINVAL`; fibra then remembers that for the whole process
//! and uses `mprotect(PROT_NONE)`, which splits the mapping (about two VMAs per
//! stack), so `vm.max_map_count` (65,530 by default) caps the number of
//! stacks near 32,000. Hitting that cap is reported with an error naming the
//! limit and its current value.
//!
//! Invariant: after [`install_guard`] returns `Ok`, every access to the range
//! faults with SIGSEGV, whichever mechanism was used.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

/// `MADV_GUARD_INSTALL` from `<linux/mman.h>` (Linux 6.13+). The `libc` crate
/// (0.2.191) does not define it yet.
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// How a guard page was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardKind {
    /// `madvise(MADV_GUARD_INSTALL)`: no VMA of its own.
    Madvise,
    /// `mprotect(PROT_NONE)`: splits the mapping.
    Mprotect,
}

const SUPPORT_UNKNOWN: u8 = 0;
const SUPPORT_YES: u8 = 1;
const SUPPORT_NO: u8 = 2;

/// Whether this kernel accepts `MADV_GUARD_INSTALL`, learnt from the first
/// call. Relaxed is enough: it is a hint, and a stale value only costs one
/// more `EINVAL` before the fallback.
static MADVISE_GUARD_SUPPORT: AtomicU8 = AtomicU8::new(SUPPORT_UNKNOWN);

/// Whether this kernel accepts `MADV_GUARD_INSTALL`; `None` until a guard
/// has been installed without `force_mprotect`.
#[cfg_attr(not(test), allow(dead_code))] // tests report which guard kind ran
pub(crate) fn madvise_guards_supported() -> Option<bool> {
    match MADVISE_GUARD_SUPPORT.load(Ordering::Relaxed) {
        SUPPORT_YES => Some(true),
        SUPPORT_NO => Some(false),
        _ => None,
    }
}

/// Makes `[addr, addr + len)` a guard region.
///
/// Tries `MADV_GUARD_INSTALL` unless `force_mprotect` is set or an earlier
/// call learnt that the kernel lacks it, then falls back to `mprotect`.
///
/// # Safety
///
/// The range must be page aligned, lie inside a private anonymous mapping
/// owned by the caller, and hold nothing anyone will read or write again.
pub(crate) unsafe fn install_guard(addr: usize, len: usize, force_mprotect: bool) -> io::Result<GuardKind> {
    if !force_mprotect && MADVISE_GUARD_SUPPORT.load(Ordering::Relaxed) != SUPPORT_NO {
        // SAFETY: the caller guarantees the range is ours and unused;
        // installing a guard only changes how the kernel treats accesses.
        let ret = unsafe { libc::madvise(addr as *mut libc::c_void, len, MADV_GUARD_INSTALL) };
        if ret == 0 {
            MADVISE_GUARD_SUPPORT.store(SUPPORT_YES, Ordering::Relaxed);
            return Ok(GuardKind::Madvise);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINVAL) {
            return Err(err);
        }
        MADVISE_GUARD_SUPPORT.store(SUPPORT_NO, Ordering::Relaxed);
    }
    // SAFETY: as above; the caller guarantees the range is ours and unused.
    let ret = unsafe { libc::mprotect(addr as *mut libc::c_void, len, libc::PROT_NONE) };
    if ret == 0 {
        return Ok(GuardKind::Mprotect);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ENOMEM) {
        return Err(map_count_error());
    }
    Err(err)
}

/// The error for `ENOMEM` from `mprotect` (or from `mmap` when
/// [`near_map_count_limit`]): the process has as many memory mappings as
/// `vm.max_map_count` allows.
pub(crate) fn map_count_error() -> io::Error {
    let limit = max_map_count().map_or_else(|| "unknown".to_string(), |n| n.to_string());
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "fibra: cannot add a fiber stack or its guard page: the process reached the kernel's limit on \
             memory mappings (vm.max_map_count = {limit}). Fiber stacks guarded with mprotect (used when \
             the kernel lacks MADV_GUARD_INSTALL, Linux 6.13+) cost about two mappings each; raise \
             the limit with `sysctl vm.max_map_count=N`, or block fewer fibers at once"
        ),
    )
}

/// Whether the process has (nearly) as many mappings as `vm.max_map_count`
/// allows, so that an `ENOMEM` from `mmap` means that limit. For error paths
/// only: it reads `/proc/self/maps`.
pub(crate) fn near_map_count_limit() -> bool {
    let Some(limit) = max_map_count() else {
        return false;
    };
    let maps = std::fs::read_to_string("/proc/self/maps").map_or(0, |maps| maps.lines().count());
    maps as u64 + 8 >= limit
}

/// The current value of `vm.max_map_count`, if `/proc` can tell.
pub(crate) fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}
