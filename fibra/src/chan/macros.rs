//! The [`select!`](crate::select) macro: parses its arms into
//! [`RecvArm`](super::RecvArm)s and [`SendArm`](super::SendArm)s, calls
//! [`select`](super::select), [`try_select`](super::try_select) or
//! [`select_timeout`](super::select_timeout), and runs the body of the arm
//! that completed.
//!
//! Expansion: each arm becomes a local (named `arm` in its own parsing step,
//! so macro hygiene keeps them apart); after the call every arm is turned
//! into its `Option` of a result (releasing its borrow of the channel and
//! dropping the values of sends that did not happen) before any body runs;
//! then an `if let` chain runs the one body whose arm has a result.

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
///   random, each with equal probability, so that no arm starves.
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
/// Every channel and value expression is evaluated once, before selecting,
/// as in Go: the value of a `send` arm that is not chosen is dropped. The
/// `-> result` pattern must be irrefutable. A body is an expression followed
/// by a comma, or a block (comma optional); the select evaluates to the body
/// that ran. Channels are borrowed: pass a `Sender`/`Receiver` (or a
/// reference to one) held in a variable. With no arms and no `default`, the
/// select waits for ever. For a list of operations built at run time, use
/// [`chan::select`](crate::chan::select) with
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
#[macro_export]
macro_rules! select {
    // Parsing, one arm at a time: `[arms] [default] tokens`.
    (@parse [$($arms:tt)*] [$($default:tt)*]) => {
        $crate::select!(@emit [$($arms)*] [$($default)*])
    };
    (@parse [$($arms:tt)*] [$($default:tt)*] , $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)*] [$($default)*] $($rest)*)
    };
    (@parse [$($arms:tt)*] [$($default:tt)*]
        recv($r:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)* (arm recv ($r) $res => $body)] [$($default)*] $($rest)*)
    };
    (@parse [$($arms:tt)*] [$($default:tt)*]
        recv($r:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)* (arm recv ($r) $res => $body)] [$($default)*] $($rest)*)
    };
    (@parse [$($arms:tt)*] [$($default:tt)*] recv($r:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::select!(@parse [$($arms)* (arm recv ($r) $res => $body)] [$($default)*])
    };
    (@parse [$($arms:tt)*] [$($default:tt)*]
        send($s:expr, $v:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)* (arm send ($s, $v) $res => $body)] [$($default)*] $($rest)*)
    };
    (@parse [$($arms:tt)*] [$($default:tt)*]
        send($s:expr, $v:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)* (arm send ($s, $v) $res => $body)] [$($default)*] $($rest)*)
    };
    (@parse [$($arms:tt)*] [$($default:tt)*] send($s:expr, $v:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::select!(@parse [$($arms)* (arm send ($s, $v) $res => $body)] [$($default)*])
    };
    (@parse [$($arms:tt)*] [] default $(($timeout:expr))? => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)*] [default ($($timeout)?) $body] $($rest)*)
    };
    (@parse [$($arms:tt)*] [] default $(($timeout:expr))? => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($arms)*] [default ($($timeout)?) $body] $($rest)*)
    };
    (@parse [$($arms:tt)*] [] default $(($timeout:expr))? => $body:expr) => {
        $crate::select!(@parse [$($arms)*] [default ($($timeout)?) $body])
    };
    (@parse [$($arms:tt)*] [$($default:tt)+] default $($rest:tt)*) => {
        ::core::compile_error!("select!: more than one `default` arm")
    };
    (@parse [$($arms:tt)*] [$($default:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(r) -> res => body`, `send(s, v) -> res => body`, ",
            "`default => body` or `default(timeout) => body`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };

    // Emitting: the call that fits the default arm, then the bodies.
    (@emit [$($arms:tt)*] []) => {
        $crate::select!(@run [$($arms)*] ($crate::chan::select) ()
            { ::core::unreachable!("select without default completed no arm") })
    };
    (@emit [$($arms:tt)*] [default () $body:tt]) => {
        $crate::select!(@run [$($arms)*] ($crate::chan::try_select) () $body)
    };
    (@emit [$($arms:tt)*] [default ($timeout:expr) $body:tt]) => {
        $crate::select!(@run [$($arms)*] ($crate::chan::select_timeout) (, $timeout) $body)
    };
    (@run [$(($arm:ident $kind:ident ($($args:tt)*) $res:pat => $body:tt))*]
        ($($call:tt)*) ($($extra:tt)*) $fallback:tt) => {{
        $( let mut $arm = $crate::select!(@arm $kind $($args)*); )*
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
    (@arm recv $r:expr) => {
        $crate::chan::RecvArm::new(&$r)
    };
    (@arm send $s:expr, $v:expr) => {
        $crate::chan::SendArm::new(&$s, $v)
    };

    // Entry point.
    ($($tokens:tt)*) => {
        $crate::select!(@parse [] [] $($tokens)*)
    };
}
