//! Fiber stack sizes: the default, the accepted range, and page rounding.
//!
//! Invariant: every size that leaves [`validate_stack_size`] is a multiple of
//! the page size and lies in `MIN_STACK_SIZE..=MAX_STACK_SIZE`, so the pool
//! never carves a stack too small to run a fiber or too large to reserve.

use std::io;
use std::sync::OnceLock;

/// Default size of a task's stack ([`Builder::stack_size`](crate::Builder::stack_size)):
/// 1 MiB of address space, of which the kernel commits only the pages a
/// task actually touches (one or two for most tasks).
///
/// What it holds (measured on Linux x86-64 with Rust 1.95 by the ignored
/// `smallest_stacks` in `fibra/tests/stack_default.rs`):
///
/// - locals: a task may keep about 1,000 KiB of locals across a blocking
///   call; the runtime's frames below it and the blocking call's own take
///   under 8 KiB (512 KiB of locals needed a 516–520 KiB stack);
/// - messages passed by value through [`chan`](crate::chan): a value is
///   moved once from the sender's slot to where it waits and once into the
///   receiver's, but each frame it passes through still keeps a copy, so a
///   message takes about 8 times its size of stack in release builds (a
///   32 KiB one needed 260 KiB, a 64 KiB one 516 KiB, a 128 KiB one
///   1,028 KiB) and about 20 times in debug builds (a 32 KiB one needed
///   644 KiB, a 64 KiB one 1,284 KiB): about 120 KiB (release) or 50 KiB
///   (debug) is this default's limit. Box larger messages, or raise the
///   size. (Numbers at the commit that added this line, 2026-12-03.)
///
/// Cost: a blocked task keeps the pages its fiber touched, usually one:
/// 4,523 bytes of RSS per blocked task with its task and channel (fibra-bench's
/// `blocked_rss` row at 844de9c; 4,490 at 2a44c1a, where 64 KiB, 256 KiB and
/// 1 MiB stacks gave the same), plus 2 KiB of
/// page tables, which RSS does not count (one 4 KiB table maps 2 MiB, two
/// stacks; 137 bytes with 64 KiB stacks), which the kernel allocates and
/// zeroes when a stack is first carved: fibra-bench's `blocked_rss` run at a
/// million tasks took 4.3 s (3.6–4.4) against 3.1 s (2.9–4.0) with 64 KiB
/// stacks, 6.2 s of system time against 3.6; rows that reuse pooled stacks
/// (`skynet_chan`, `ping_pong`) did not change. A million blocked tasks
/// reserve about 1 TiB of address space (`MAP_NORESERVE`, a few mappings
/// where the kernel has `MADV_GUARD_INSTALL`); under strict overcommit
/// (`vm.overcommit_memory = 2`), which ignores `MAP_NORESERVE`, that
/// reservation counts against the commit limit.
pub const DEFAULT_STACK_SIZE: usize = 1 << 20;

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
