//! Fiber stack sizes: the default, the accepted range, and page rounding.
//!
//! Invariant: every size that leaves [`validate_stack_size`] is a multiple of
//! the page size and lies in `MIN_STACK_SIZE..=MAX_STACK_SIZE`, so the pool
//! never carves a stack too small to run a fiber or too large to reserve.

use std::io;
use std::sync::OnceLock;

/// Default size of a task's stack ([`Builder::stack_size`](crate::Builder::stack_size)):
/// 64 KiB of address space, of which the kernel commits only the pages a
/// task actually touches (one or two for most tasks).
pub const DEFAULT_STACK_SIZE: usize = 64 << 10;

/// Smallest accepted task stack: below this even formatting a panic message
/// overflows.
pub const MIN_STACK_SIZE: usize = 16 << 10;

/// Largest accepted task stack. A task needing more is almost certainly a
/// unit mistake (bytes given as KiB), and a pool of them would reserve
/// terabytes of address space.
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// The system page size, asked for once.
pub(crate) fn page_size() -> usize {
    static PAGE_SIZE: OnceLock<usize> = OnceLock::new();
    *PAGE_SIZE.get_or_init(|| {
        // SAFETY: `sysconf` has no preconditions; it only reads a value.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let size = usize::try_from(size).expect("sysconf(_SC_PAGESIZE) failed");
        assert!(size.is_power_of_two(), "page size {size} is not a power of two");
        size
    })
}

/// Rounds `bytes` up to a whole number of pages (`None` on overflow).
pub(crate) fn round_up_to_page(bytes: usize) -> Option<usize> {
    let mask = page_size() - 1;
    Some(bytes.checked_add(mask)? & !mask)
}

/// Checks a requested fiber stack size and rounds it up to the page size.
///
/// Fails with [`io::ErrorKind::InvalidInput`] and a message naming the
/// accepted range when `bytes` is below 16 KiB or above 1 GiB.
///
/// ```ignore
/// assert_eq!(validate_stack_size(64 << 10)?, 64 << 10);
/// assert_eq!(validate_stack_size((64 << 10) + 1)?, (64 << 10) + page_size());
/// assert!(validate_stack_size(4096).is_err());
/// ```
pub(crate) fn validate_stack_size(bytes: usize) -> io::Result<usize> {
    if !(MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fibra: Builder::stack_size: {bytes} bytes is outside the supported {} KiB to {} MiB",
                MIN_STACK_SIZE >> 10,
                MAX_STACK_SIZE >> 20
            ),
        ));
    }
    // MAX_STACK_SIZE is page aligned, so rounding up cannot leave the range.
    Ok(round_up_to_page(bytes).expect("a size below 1 GiB rounds up without overflow"))
}
