//! The [`select!`](crate::select) and [`select_biased!`](crate::select_biased)
//! macros: they parse their arms into [`RecvArm`](super::RecvArm)s and
//! [`SendArm`](super::SendArm)s, call `macro_support`'s `select`,
//! `try_select` or `select_timeout` (with `biased` false for `select!`, true
//! for `select_biased!`), and run the body of the arm that completed.
//!
//! One implementation serves both: `select!` and `select_biased!` expand to
//! `select!(@parse (biased name) ...)`, which carries the flag (and the
//! macro's name, for error messages) through every step.
//!
//! Expansion: each arm's locals (the arm, `op`: a borrow of its channel,
//! and for a send `value`) are named in that arm's own parsing step, so
//! macro hygiene keeps them apart from other arms' and from the caller's
//! names. All channel and value expressions are evaluated first, once each,
//! in written order; each channel operand is borrowed as the scrutinee of a
//! `match` whose arm holds the rest of the select (`match &expr { op =>
//! ... }`), so that a temporary anywhere in it (`recv(get())`,
//! `send(make_sender(), v)`, `recv(r.as_ref().unwrap_or(&never()))`) lives
//! until the select ends, and an operand that is already a reference
//! (`recv(self.rx())`) is reborrowed through.
//! After the call every arm is turned into its `Option` of a result
//! (releasing its borrow of the channel and dropping the values of sends
//! that did not happen) before any body runs; then an `if let` chain runs
//! the one body whose arm has a result.

/// Waits on several channel operations and completes exactly one, like Go's
/// `select` statement; the syntax is crossbeam-channel's.
///
/// ```text
/// select! {
///     recv(receiver) -> result => body,           // result: Result<T, RecvError>
///     send(sender, value) -> result => body,      // result: Result<(), SendError<T>>
///     default => body,                            // or: default(timeout) => body
/// }
/// ```
///
/// - If one or more operations can complete now, one of them is chosen at
///   random, each with equal probability, so that no arm starves (for the
///   first ready arm in written order instead, use
///   [`select_biased!`](crate::select_biased)).
/// - Otherwise a `default` arm runs at once; a `default(timeout)` arm (a
///   [`Duration`](std::time::Duration)) runs if no operation could complete
///   within `timeout`; with neither, the select waits until one can (inside
///   a fibra task only the task waits; on other threads the thread sleeps).
/// - A `recv` from a disconnected, empty channel is ready and completes
///   with `Err(RecvError)`; a `send` into a channel with no receivers is
///   ready and completes with `Err(SendError(value))`.
/// - Exactly one operation completes: no value is taken from two channels,
///   and none is left behind by a select that chose another arm.
///
/// The channel operand of `recv(..)` and `send(.., value)` is any expression
/// whose value is a [`Receiver`](crate::chan::Receiver) or
/// [`Sender`](crate::chan::Sender), or a reference to one: a variable
/// (borrowed, not moved), `recv(self.rx())` for a method returning
/// `&Receiver<T>`, `recv(make_receiver())` for a function returning one by
/// value (the temporary lives until the select is over), and so on. Every
/// channel and value expression is evaluated exactly once, in written order,
/// before selecting, as in Go: the value of a `send` arm that is not chosen
/// is dropped. A `default(timeout)` expression is evaluated after them.
///
/// `default` and `default()` are the same. A trailing comma is allowed after
/// the last arm and inside the parentheses: `recv(r,)`, `send(s, v,)`,
/// `default(timeout,)`. The `-> result` pattern must be irrefutable. A body
/// is an expression followed by a comma (optional after the last arm), or a
/// block (comma optional); the select evaluates to the body that ran. At
/// most one `default` arm is allowed, anywhere among the others. With no arms
/// and no `default`, the select waits for ever. For a list of operations
/// built at run time, use [`chan::select`](crate::chan::select) with
/// [`RecvArm`](crate::chan::RecvArm)s and [`SendArm`](crate::chan::SendArm)s.
///
/// ```
/// use fibra::chan::{bounded, unbounded};
/// use fibra::select;
/// use std::time::Duration;
///
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let (numbers_tx, numbers) = unbounded::<u32>();
/// let (words_tx, words) = unbounded::<&str>();
/// let tx = numbers_tx.clone();
/// rt.spawn(move || (1..=3).for_each(|n| tx.send(n).unwrap()));
/// let tx = words_tx.clone();
/// rt.spawn(move || tx.send("hello").unwrap());
///
/// // Four receives, in whatever order the values come.
/// let (mut sum, mut greeting) = (0, None);
/// for _ in 0..4 {
///     select! {
///         recv(numbers) -> n => sum += n.unwrap(),
///         recv(words) -> w => greeting = Some(w.unwrap()),
///     }
/// }
/// assert_eq!((sum, greeting), (6, Some("hello")));
///
/// // A disconnected channel is always ready (with an error).
/// drop(words_tx);
/// let closed = select! {
///     recv(numbers) -> _ => false,
///     recv(words) -> w => w.is_err(),
/// };
/// assert!(closed);
///
/// // A send that waits for a receiver, with a timeout.
/// let (tx, _rx) = bounded::<u32>(0);
/// let sent = select! {
///     send(tx, 42) -> res => res.is_ok(),
///     default(Duration::from_millis(10)) => false,
/// };
/// assert!(!sent, "nobody received");
///
/// // Never wait: `default` runs when nothing is ready.
/// let (_keep, empty) = unbounded::<u8>();
/// let got = select! {
///     recv(empty) -> v => v.ok(),
///     default => None,
/// };
/// assert_eq!(got, None);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Operands can be any expressions: method calls returning references,
/// functions returning channels by value.
///
/// ```
/// use fibra::chan::{unbounded, Receiver, Sender};
/// use fibra::select;
///
/// struct Pipe {
///     tx: Sender<u32>,
///     rx: Receiver<u32>,
/// }
///
/// impl Pipe {
///     fn rx(&self) -> &Receiver<u32> {
///         &self.rx
///     }
///
///     fn tx(&self) -> Sender<u32> {
///         self.tx.clone() // by value: dropped when the select is over
///     }
///
///     fn forward(&self, n: u32) -> u32 {
///         select! {
///             send(self.tx(), n) -> res => res.unwrap(),
///         }
///         select! {
///             recv(self.rx()) -> v => v.unwrap(),
///             default() => 0, // `default()` is `default`
///         }
///     }
/// }
///
/// let (tx, rx) = unbounded();
/// let pipe = Pipe { tx, rx };
/// assert_eq!(pipe.forward(7), 7);
/// assert_eq!(pipe.forward(8), 8);
/// ```
#[macro_export]
macro_rules! select {
    // Parsing, one arm at a time: `(biased name) [arms] [default] tokens`.
    // Each arm is recorded as `(arm [binding] (constructor) res => body)`;
    // `arm` and `op` are written by this step, so hygiene makes them this
    // arm's own names, apart from every other arm's and from the caller's.
    // Bodies: `block,` before `expr,` (a one-line `{ x },` body captured as
    // an `expr` trips `unused_braces` in the caller's crate; `{ x }.f(),`
    // still falls through to `expr,`), then `block` without a comma, then a
    // last `expr`.
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]) => {
        $crate::select!(@emit $cfg [$($arms)*] [$($default)*])
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*] , $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)*] [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]
        recv($r:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)* (arm [{&$r} op] ($crate::chan::RecvArm::new(op)) $res => $body)]
            [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]
        recv($r:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)* (arm [{&$r} op] ($crate::chan::RecvArm::new(op)) $res => $body)]
            [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]
        recv($r:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)* (arm [{&$r} op] ($crate::chan::RecvArm::new(op)) $res => $body)]
            [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*] recv($r:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::select!(@parse $cfg [$($arms)* (arm [{&$r} op] ($crate::chan::RecvArm::new(op)) $res => $body)]
            [$($default)*])
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]
        send($s:expr, $v:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg
            [$($arms)* (arm [{(&$s, $v)} (op, value)] ($crate::chan::SendArm::new(op, value)) $res => $body)]
            [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]
        send($s:expr, $v:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse $cfg
            [$($arms)* (arm [{(&$s, $v)} (op, value)] ($crate::chan::SendArm::new(op, value)) $res => $body)]
            [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*]
        send($s:expr, $v:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg
            [$($arms)* (arm [{(&$s, $v)} (op, value)] ($crate::chan::SendArm::new(op, value)) $res => $body)]
            [$($default)*] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [$($default:tt)*] send($s:expr, $v:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::select!(@parse $cfg
            [$($arms)* (arm [{(&$s, $v)} (op, value)] ($crate::chan::SendArm::new(op, value)) $res => $body)]
            [$($default)*])
    };
    // `default()` is `default` (matched before an `expr` is parsed from `()`).
    (@parse $cfg:tt [$($arms:tt)*] [] default () => $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)*] [] default => $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [] default $(($timeout:expr $(,)?))? => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)*] [default ($($timeout)?) $body] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [] default $(($timeout:expr $(,)?))? => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)*] [default ($($timeout)?) $body] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [] default $(($timeout:expr $(,)?))? => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($arms)*] [default ($($timeout)?) $body] $($rest)*)
    };
    (@parse $cfg:tt [$($arms:tt)*] [] default $(($timeout:expr $(,)?))? => $body:expr) => {
        $crate::select!(@parse $cfg [$($arms)*] [default ($($timeout)?) $body])
    };
    (@parse ($biased:tt $name:tt) [$($arms:tt)*] [$($default:tt)+] default $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!($name, ": more than one `default` arm"))
    };
    (@parse ($biased:tt $name:tt) [$($arms:tt)*] [$($default:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            $name, ": expected `recv(r) -> res => body`, `send(s, v) -> res => body`, ",
            "`default => body` or `default(timeout) => body`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };

    // Emitting: the call that fits the default arm, then the bodies.
    (@emit ($biased:tt $name:tt) [$($arms:tt)*] []) => {
        $crate::select!(@run [$($arms)*] ($crate::chan::macro_support::select) (, $biased)
            { ::core::unreachable!("select without default completed no arm") })
    };
    (@emit ($biased:tt $name:tt) [$($arms:tt)*] [default () $body:tt]) => {
        $crate::select!(@run [$($arms)*] ($crate::chan::macro_support::try_select) (, $biased) $body)
    };
    (@emit ($biased:tt $name:tt) [$($arms:tt)*] [default ($timeout:expr) $body:tt]) => {
        $crate::select!(@run [$($arms)*] ($crate::chan::macro_support::select_timeout) (, $timeout, $biased) $body)
    };
    // Every channel (borrowed) and every value, once, in written order,
    // each as the scrutinee of a `match` that holds the rest of the select
    // (so temporaries inside an operand, `recv(r.as_ref().unwrap_or(&never()))`,
    // live until the select ends); then the call; then each arm's result,
    // releasing the arms' borrows; then the one body whose arm has a result.
    (@run [$($arms:tt)*] $call:tt $extra:tt $fallback:tt) => {
        $crate::select!(@bind [$($arms)*] [] $call $extra $fallback)
    };
    (@bind [($arm:ident [{$($scrutinee:tt)*} $binding:tt] ($($new:tt)*) $res:pat => $body:tt) $($rest:tt)*]
        [$($bound:tt)*] $call:tt $extra:tt $fallback:tt) => {
        match $($scrutinee)* {
            $binding => {
                let mut $arm = $($new)*;
                $crate::select!(@bind [$($rest)*] [$($bound)* ($arm $res => $body)] $call $extra $fallback)
            }
        }
    };
    (@bind [] [$(($arm:ident $res:pat => $body:tt))*] ($($call:tt)*) ($($extra:tt)*) $fallback:tt) => {{
        let _ = $($call)*(&mut [$(&mut $arm as &mut dyn $crate::chan::SelectArm),*] $($extra)*);
        $( let $arm = $arm.into_result(); )*
        $(
            if let ::core::option::Option::Some(result) = $arm {
                let $res = result;
                $body
            } else
        )* {
            $fallback
        }
    }};

    // Entry point: fair.
    ($($tokens:tt)*) => {
        $crate::select!(@parse (false "select!") [] [] $($tokens)*)
    };
}

/// Like [`select!`](crate::select) (same syntax and guarantees), but biased:
/// if several operations can complete now, the first of them in written
/// order is completed, never another. When it has to wait, it registers the
/// arms in written order too, then completes whichever operation another
/// party makes possible first. `default` and `default(timeout)` still run
/// only when no operation could complete.
///
/// Use it to give one channel priority over another (a shutdown signal
/// before work, say); a `select_biased!` in a loop can starve its later
/// arms for as long as the earlier ones stay ready.
///
/// ```
/// use fibra::chan::unbounded;
/// use fibra::select_biased;
///
/// let (urgent_tx, urgent) = unbounded::<u32>();
/// let (normal_tx, normal) = unbounded::<u32>();
/// (0..100).for_each(|i| {
///     urgent_tx.send(i).unwrap();
///     normal_tx.send(i).unwrap();
/// });
///
/// // Both are ready every time: the first arm always wins.
/// for i in 0..100 {
///     let got = select_biased! {
///         recv(urgent) -> v => ("urgent", v.unwrap()),
///         recv(normal) -> v => ("normal", v.unwrap()),
///     };
///     assert_eq!(got, ("urgent", i));
/// }
///
/// // `urgent` is empty now: the next ready arm wins.
/// let got = select_biased! {
///     recv(urgent) -> v => ("urgent", v.unwrap()),
///     recv(normal) -> v => ("normal", v.unwrap()),
///     default => ("none", 0),
/// };
/// assert_eq!(got, ("normal", 0));
/// assert_eq!(normal.len(), 99);
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::select!(@parse (true "select_biased!") [] [] $($tokens)*)
    };
}
