//! Fiber stack overflow: a clear fatal message instead of a bare SIGSEGV.
//!
//! A fiber that overflows runs into the guard page below its stack. Its
//! SIGSEGV (or SIGBUS) is caught by a process-wide handler, installed once,
//! that runs on the thread's alternate signal stack (the fiber stack is full).
//! If the fault address is in the guard region of a registered fiber stack
//! slab it writes
//!
//! ```text
//! fatal runtime error: fiber stack overflow (fiber stack of 1024 KiB; raise it with Builder::stack_size)
//! ```
//!
//! to stderr with `write(2)` and aborts. Any other fault is passed to the
//! handler that was installed before (std's, which reports overflows of
//! thread stacks), or, if that was the default action, the default action is
//! restored and the handler returns so the fault recurs and kills the process
//! as usual.
//!
//! Every thread that runs fibers calls
//! [`install_overflow_handler_for_current_thread`] first. It keeps the
//! thread's alternate signal stack if it has a usable one (std gives one to
//! every thread it spawns, and to the main thread) and otherwise installs its
//! own, freed when the thread exits.
//!
//! Invariant: the handler only loads atomics, formats into a stack buffer,
//! and calls async-signal-safe functions (`write`, `abort`, `sigaction`).

use super::registry::REGISTRY;
use std::cell::RefCell;
use std::io;
use std::ptr;
use std::sync::{Once, OnceLock};

/// Alternate signal stacks smaller than this are replaced. std gives its
/// threads `max(SIGSTKSZ, AT_MINSIGSTKSZ)`, at least 8 KiB, and runs its own
/// overflow handler there; ours needs a few hundred bytes on top of the
/// kernel's signal frame, so std's is kept.
const MIN_ALT_STACK: usize = 8 << 10;
/// Size of the alternate signal stack this module installs.
const ALT_STACK_SIZE: usize = 64 << 10;

/// The signals a guard-page hit can raise.
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// The handler each signal had before ours, set before ours is installed.
static PREVIOUS: [OnceLock<libc::sigaction>; 2] = [OnceLock::new(), OnceLock::new()];

/// The result of the one-time installation, as an OS error code.
static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();

/// Makes a fiber stack overflow on the current thread print a clear fatal
/// message: installs the process-wide handler (once) and makes sure this
/// thread has an alternate signal stack to run it on.
pub(crate) fn install_overflow_handler_for_current_thread() -> io::Result<()> {
    ensure_alt_stack()?;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = INSTALLED.set(install_process_handler());
    });
    match INSTALLED.get() {
        Some(Ok(())) => Ok(()),
        Some(Err(code)) => Err(io::Error::from_raw_os_error(*code)),
        None => unreachable!("call_once has run"),
    }
}

fn install_process_handler() -> Result<(), i32> {
    for (signal, previous) in SIGNALS.into_iter().zip(&PREVIOUS) {
        // SAFETY: an all-zero `sigaction` is a valid "no handler" value.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only reads the current one into `old`.
        if unsafe { libc::sigaction(signal, ptr::null(), &mut old) } != 0 {
            return Err(last_errno());
        }
        let _ = previous.set(old);
        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = handle_fault as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: `sa_mask` is ours to initialise.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `handle_fault` is async-signal-safe (module invariant) and
        // has the three-argument signature SA_SIGINFO requires.
        if unsafe { libc::sigaction(signal, &action, ptr::null_mut()) } != 0 {
            return Err(last_errno());
        }
    }
    Ok(())
}

fn last_errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL)
}

extern "C" fn handle_fault(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers, and
    // SIGSEGV/SIGBUS carry a fault address.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(stack_size) = REGISTRY.guard_hit(addr) {
        report_overflow_and_abort(stack_size);
    }
    // SAFETY: we are inside the handler for `signal`, with its arguments.
    unsafe { chain(signal, info, context) };
}

/// Passes a fault that is not a fiber stack overflow to the previous handler.
///
/// # Safety
///
/// Only call from the signal handler, with the arguments it received.
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // No panic path in a signal handler: an unknown signal gets the default.
    let index = SIGNALS.iter().position(|&s| s == signal);
    let previous = index
        .and_then(|i| PREVIOUS[i].get())
        .map(|action| (action.sa_sigaction, action.sa_flags));
    match previous {
        Some((handler, flags)) if handler != libc::SIG_DFL && handler != libc::SIG_IGN => {
            if flags & libc::SA_SIGINFO != 0 {
                // SAFETY: with SA_SIGINFO the previous handler was installed
                // with this three-argument signature.
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(handler) };
                handler(signal, info, context);
            } else {
                // SAFETY: without SA_SIGINFO it takes the signal number only.
                let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
                handler(signal);
            }
        }
        _ => restore_default(signal),
    }
}

/// Restores the default action; returning from the handler then re-runs the
/// faulting instruction, which kills the process with `signal`.
fn restore_default(signal: libc::c_int) {
    // SAFETY: an all-zero `sigaction` with SIG_DFL is the default action;
    // `sigaction` is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

fn report_overflow_and_abort(stack_size: usize) -> ! {
    let mut message = MessageBuf::new();
    message.push(b"fatal runtime error: fiber stack overflow (fiber stack of ");
    message.push_decimal(stack_size >> 10);
    message.push(b" KiB; raise it with Builder::stack_size)\n");
    let bytes = message.as_bytes();
    // SAFETY: `write` and `abort` are async-signal-safe; the buffer is valid
    // for its length. A short write only shortens a fatal message.
    unsafe {
        libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len());
        libc::abort()
    }
}

/// A fixed buffer for formatting inside a signal handler (no allocation).
struct MessageBuf {
    bytes: [u8; 160],
    len: usize,
}

impl MessageBuf {
    fn new() -> Self {
        MessageBuf {
            bytes: [0; 160],
            len: 0,
        }
    }

    fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - self.len;
        let take = text.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&text[..take]);
        self.len += take;
    }

    fn push_decimal(&mut self, mut value: usize) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// An alternate signal stack this module mapped for the current thread;
/// dropped (disabled and unmapped) when the thread exits.
struct AltStack {
    addr: usize,
    len: usize,
}

thread_local! {
    static OWN_ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Keeps the thread's alternate signal stack if it has a big enough one,
/// else installs one of [`ALT_STACK_SIZE`] bytes with a guard page below.
fn ensure_alt_stack() -> io::Result<()> {
    // SAFETY: an all-zero `stack_t` is a valid out-parameter.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: a null new stack only reads the current one.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= MIN_ALT_STACK {
        return Ok(());
    }
    let alt = AltStack::map()?;
    let new = libc::stack_t {
        ss_sp: (alt.addr + super::size::page_size()) as *mut libc::c_void,
        ss_flags: 0,
        ss_size: ALT_STACK_SIZE,
    };
    // SAFETY: `new` describes mapped memory owned by the thread-local below,
    // which outlives its use as this thread's signal stack.
    if unsafe { libc::sigaltstack(&new, ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    OWN_ALT_STACK.with(|own| *own.borrow_mut() = Some(alt));
    Ok(())
}

impl AltStack {
    fn map() -> io::Result<AltStack> {
        let page = super::size::page_size();
        let len = ALT_STACK_SIZE + page;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK;
        // SAFETY: a fresh anonymous mapping touches no existing memory.
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
            return Err(io::Error::last_os_error());
        }
        let alt = AltStack {
            addr: addr as usize,
            len,
        };
        // SAFETY: the first page of our fresh mapping becomes its guard.
        if unsafe { libc::mprotect(addr, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(alt)
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let disable = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling the signal stack before unmapping it; the thread is
        // exiting, so no handler runs on it any more. The mapping is ours.
        unsafe {
            libc::sigaltstack(&disable, ptr::null_mut());
            libc::munmap(self.addr as *mut libc::c_void, self.len);
        }
    }
}
