//! The syntax of `fibra::select!` and `fibra::select_biased!`: channel
//! operands that are any expression (method calls returning references,
//! function calls returning channels by value, blocks, `if`), each operand
//! and value expression evaluated exactly once and in written order also
//! when another arm wins or the select waits, `default()`, trailing commas
//! in every position, and the bias of `select_biased!` (the first ready arm
//! in written order wins) inside fibra tasks and on a plain thread.

mod common;

use common::{runtime, with_hang_guard};
use fibra::chan::{bounded, unbounded, Receiver, RecvError, SendError, Sender};
use fibra::{select, select_biased};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// A channel behind accessors, as in a struct that owns its channels.
struct Pipe {
    tx: Sender<u32>,
    rx: Receiver<u32>,
}

impl Pipe {
    fn unbounded() -> Pipe {
        let (tx, rx) = unbounded();
        Pipe { tx, rx }
    }

    fn rx(&self) -> &Receiver<u32> {
        &self.rx
    }

    fn tx(&self) -> &Sender<u32> {
        &self.tx
    }

    fn owned_rx(&self) -> Receiver<u32> {
        self.rx.clone()
    }

    fn owned_tx(&self) -> Sender<u32> {
        self.tx.clone()
    }

    /// `recv(self.rx())` inside a method (the case that motivated the
    /// `let op = &expr;` binding): must compile, and works.
    fn next(&self) -> u32 {
        select! {
            recv(self.rx()) -> v => v.unwrap()
        }
    }

    /// The same through `select_biased!`, with a send through `self` too.
    fn forward(&self, n: u32) -> u32 {
        select_biased! {
            send(self.tx(), n) -> res => res.unwrap(),
        }
        select_biased! {
            recv(self.owned_rx()) -> v => v.unwrap(),
            default => u32::MAX,
        }
    }
}

/// Compile-only: the motivating example, verbatim.
#[allow(dead_code)]
struct Foo {
    rx: Receiver<u32>,
}

#[allow(dead_code)]
impl Foo {
    fn rx(&self) -> &Receiver<u32> {
        &self.rx
    }

    fn next(&self) -> u32 {
        select! { recv(self.rx()) -> v => v.unwrap() }
    }

    fn next_biased(&self) -> u32 {
        select_biased! { recv(self.rx()) -> v => v.unwrap() }
    }
}

fn get(rx: &Receiver<u32>) -> Receiver<u32> {
    rx.clone()
}

fn make_sender(tx: &Sender<u32>) -> Sender<u32> {
    tx.clone()
}

#[test]
fn operands_may_be_method_calls_returning_references() {
    let pipe = Pipe::unbounded();
    let sent = select! {
        send(pipe.tx(), 5) -> res => res.is_ok(),
    };
    assert!(sent);
    let got = select! {
        recv(pipe.rx()) -> v => v,
        default => Err(RecvError),
    };
    assert_eq!(got, Ok(5));
    pipe.tx.send(6).unwrap();
    assert_eq!(pipe.next(), 6);
    assert_eq!(pipe.forward(7), 7);
    assert_eq!(pipe.forward(8), 8);
    assert!(pipe.rx.is_empty());
}

#[test]
fn operands_may_be_function_calls_returning_channels_by_value() {
    let pipe = Pipe::unbounded();
    let sent = select! {
        send(make_sender(&pipe.tx), 1) -> res => res.is_ok(),
        default => false,
    };
    assert!(sent);
    let got = select! {
        recv(get(&pipe.rx)) -> v => v.ok(),
        default => None,
    };
    assert_eq!(got, Some(1));
    let sent = select! {
        send(pipe.owned_tx(), 2) -> res => res.is_ok(),
    };
    assert!(sent);
    let got = select! {
        recv(pipe.owned_rx()) -> v => v.ok(),
    };
    assert_eq!(got, Some(2));
}

#[test]
fn an_owned_operand_lives_through_the_select_and_is_dropped_after_it() {
    // The only sender is a temporary of the select: it must still be alive
    // while the select sends (else the send would fail), and gone after.
    let (tx, rx) = unbounded::<u32>();
    let mut only_sender = Some(tx);
    let sent = select! {
        send(only_sender.take().unwrap(), 3) -> res => res.is_ok(),
    };
    assert!(sent);
    assert_eq!(rx.recv(), Ok(3));
    assert_eq!(rx.recv(), Err(RecvError), "the temporary sender was dropped");

    // The only receiver, likewise: the select receives, then it is gone.
    let (tx, rx) = unbounded::<u32>();
    tx.send(4).unwrap();
    let mut only_receiver = Some(rx);
    let got = select! {
        recv(only_receiver.take().unwrap()) -> v => v,
    };
    assert_eq!(got, Ok(4));
    assert_eq!(
        tx.send(5),
        Err(SendError(5)),
        "the temporary receiver was dropped"
    );
}

#[test]
fn operands_may_be_references_smart_pointers_and_other_expressions() {
    let (tx, rx) = unbounded::<u32>();
    let (tx_b, rx_b) = unbounded::<u32>();
    let rx_ref = &rx;
    let rx_ref_ref = &rx_ref;
    let tx_arc = Arc::new(tx.clone());
    let rx_rc = Rc::new(rx.clone());
    let pick_b = Cell::new(false);

    select! { send(tx_arc, 1) -> res => res.unwrap() }
    assert_eq!(select! { recv(rx_ref) -> v => v.unwrap() }, 1);
    select! { send(&tx, 2) -> res => res.unwrap() }
    assert_eq!(select! { recv(rx_ref_ref) -> v => v.unwrap() }, 2);
    select! { send(*tx_arc, 3) -> res => res.unwrap() }
    assert_eq!(select! { recv(rx_rc) -> v => v.unwrap() }, 3);
    select! { send(if pick_b.get() { &tx_b } else { &tx }, 4) -> res => res.unwrap() }
    pick_b.set(true);
    select! { send(if pick_b.get() { &tx_b } else { &tx }, 5) -> res => res.unwrap() }
    assert_eq!(select! { recv({ pick_b.set(false); &rx }) -> v => v.unwrap() }, 4);
    assert_eq!(select! { recv([&rx, &rx_b][1]) -> v => v.unwrap() }, 5);
    // Still usable (borrowed, not moved) after all that.
    drop((tx, tx_b, tx_arc));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx_b.recv(), Err(RecvError));
}

#[test]
fn the_macro_s_own_names_do_not_clash_with_the_caller_s() {
    // `arm`, `op`, `value` and `result` are names the expansion uses.
    let (tx, rx) = unbounded::<u32>();
    let arm = &rx;
    let op = &tx;
    let value = 7;
    let result = "caller's";
    let got = select! {
        send(op, value) -> res => { res.unwrap(); (value, result) }
        recv(arm) -> _ => unreachable!(),
    };
    assert_eq!(got, (7, "caller's"));
    let got = select_biased! {
        recv(arm) -> result => (result, value),
        send(op, value + 1) -> _ => unreachable!(),
    };
    assert_eq!(got, (Ok(7), 7));
}

/// Counts evaluations and records their order.
#[derive(Default)]
struct Evaluations {
    count: Cell<usize>,
    order: RefCell<Vec<&'static str>>,
}

impl Evaluations {
    fn note<T>(&self, what: &'static str, value: T) -> T {
        self.count.set(self.count.get() + 1);
        self.order.borrow_mut().push(what);
        value
    }

    fn take(&self) -> (usize, Vec<&'static str>) {
        (self.count.replace(0), self.order.take())
    }
}

/// A value that counts its drops.
struct Counted<'a>(u32, &'a Cell<usize>);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.1.set(self.1.get() + 1);
    }
}

#[test]
fn each_operand_and_value_is_evaluated_once_in_written_order() {
    let ev = Evaluations::default();
    let (_keep_empty, empty) = unbounded::<u32>();
    let (full_tx, _full_rx) = bounded::<u32>(0); // nobody receives: never ready
    let (ready_tx, ready) = unbounded::<u32>();
    let (out_tx, out) = unbounded::<u32>();
    let everything = ["r1", "s2", "v2", "r3", "s4", "v4"];

    // The third arm wins (the only ready one).
    ready_tx.send(10).unwrap();
    let got = select! {
        recv(ev.note("r1", &empty)) -> _ => unreachable!(),
        send(ev.note("s2", &full_tx), ev.note("v2", 20)) -> _ => unreachable!(),
        recv(ev.note("r3", &ready)) -> v => v.unwrap(),
        send(ev.note("s4", &full_tx), ev.note("v4", 40)) -> _ => unreachable!(),
    };
    assert_eq!(got, 10);
    assert_eq!(ev.take(), (6, everything.to_vec()));

    // The first arm wins; later arms are still evaluated, once.
    ready_tx.send(11).unwrap();
    let got = select_biased! {
        recv(ev.note("r1", &ready)) -> v => v.unwrap(),
        send(ev.note("s2", &out_tx), ev.note("v2", 20)) -> _ => unreachable!(),
        recv(ev.note("r3", &ready)) -> _ => unreachable!(),
        send(ev.note("s4", &out_tx), ev.note("v4", 40)) -> _ => unreachable!(),
    };
    assert_eq!(got, 11);
    assert_eq!(ev.take(), (6, everything.to_vec()));
    assert!(out.is_empty(), "no send happened");

    // The last arm (a send) wins.
    let got = select! {
        recv(ev.note("r1", &empty)) -> _ => unreachable!(),
        send(ev.note("s2", &full_tx), ev.note("v2", 20)) -> _ => unreachable!(),
        recv(ev.note("r3", &empty)) -> _ => unreachable!(),
        send(ev.note("s4", &out_tx), ev.note("v4", 40)) -> res => res.map(|()| 4),
    };
    assert_eq!(got, Ok(4));
    assert_eq!(ev.take(), (6, everything.to_vec()));
    assert_eq!(out.try_recv(), Ok(40));

    // `default` wins: everything evaluated once, the timeout after them.
    let got = select! {
        recv(ev.note("r1", &empty)) -> _ => unreachable!(),
        default(ev.note("t", Duration::from_millis(1))) => "timeout",
        send(ev.note("s2", &full_tx), ev.note("v2", 20)) -> _ => unreachable!(),
    };
    assert_eq!(got, "timeout");
    assert_eq!(ev.take(), (4, vec!["r1", "s2", "v2", "t"]));
    let got = select_biased! {
        default => "nothing ready",
        recv(ev.note("r1", &empty)) -> _ => unreachable!(),
        send(ev.note("s2", &full_tx), ev.note("v2", 20)) -> _ => unreachable!(),
    };
    assert_eq!(got, "nothing ready");
    assert_eq!(ev.take(), (3, vec!["r1", "s2", "v2"]));
}

#[test]
fn values_of_sends_that_lose_are_dropped_once_and_the_winner_is_sent() {
    let drops = Cell::new(0);
    let (_keep, empty) = unbounded::<u32>();
    let (a_tx, a) = unbounded::<Counted<'_>>();
    let (b_tx, b) = unbounded::<Counted<'_>>();
    for round in 0..100 {
        let which = select! {
            send(a_tx, Counted(round, &drops)) -> res => { res.unwrap(); 0 }
            send(b_tx, Counted(round, &drops)) -> res => { res.unwrap(); 1 }
            recv(empty) -> _ => unreachable!(),
        };
        let before = 2 * round as usize; // two values dropped per round
        assert_eq!(drops.get(), before + 1, "the loser's value, once");
        let got = if which == 0 { a.try_recv() } else { b.try_recv() };
        assert_eq!(got.map(|c| c.0).ok(), Some(round));
        assert_eq!(drops.get(), before + 2, "the winner's value, by us");
    }
    assert!(a.is_empty() && b.is_empty());
}

#[test]
fn operands_are_evaluated_once_when_the_select_waits() {
    with_hang_guard("evaluated once while waiting", || {
        for timed in [false, true] {
            let ev = Evaluations::default();
            let (_keep, empty) = bounded::<u32>(0);
            let (late_tx, late) = bounded::<u32>(0);
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                late_tx.send(9).unwrap();
            });
            let got = if timed {
                select! {
                    recv(ev.note("r1", &empty)) -> _ => unreachable!(),
                    recv(ev.note("r2", &late)) -> v => v.unwrap(),
                    default(ev.note("t", Duration::from_secs(600))) => unreachable!(),
                }
            } else {
                select_biased! {
                    recv(ev.note("r1", &empty)) -> _ => unreachable!(),
                    recv(ev.note("r2", &late)) -> v => v.unwrap(),
                }
            };
            sender.join().unwrap();
            assert_eq!(got, 9);
            let expected = if timed {
                vec!["r1", "r2", "t"]
            } else {
                vec!["r1", "r2"]
            };
            assert_eq!(ev.take(), (expected.len(), expected));
        }
    });
}

#[test]
fn default_with_empty_parentheses_is_default() {
    let (tx, rx) = unbounded::<u32>();
    let got = select! {
        recv(rx) -> v => v.ok(),
        default() => None,
    };
    assert_eq!(got, None, "nothing ready: default() runs");
    tx.send(1).unwrap();
    let got = select! {
        recv(rx) -> v => v.ok(),
        default() => None,
    };
    assert_eq!(got, Some(1), "a ready arm beats default()");
    assert_eq!(select! { default() => 5 }, 5);
    assert_eq!(select! { default() => 6, }, 6);
    assert_eq!(select! { default() => { 7 } }, 7);
    assert_eq!(select_biased! { default() => 8 }, 8);
    tx.send(9).unwrap();
    let got = select_biased! {
        default() => { None }
        recv(rx) -> v => v.ok(),
    };
    assert_eq!(
        got,
        Some(9),
        "default() written first still runs only if nothing is ready"
    );
}

#[test]
fn trailing_commas_are_allowed_everywhere() {
    let (tx, rx) = unbounded::<u32>();
    let (_keep, empty) = unbounded::<u32>();

    // Inside `send(..)`, after the last arm (expression body).
    select! { send(tx, 1,) -> res => res.unwrap(), }
    // Inside `recv(..)`, after the last arm (block body, with a comma).
    let got = select! { recv(rx,) -> v => { v.unwrap() }, };
    assert_eq!(got, 1);
    // Inside `default(..)`, after it.
    let got = select! {
        recv(empty,) -> _ => 0,
        default(Duration::from_millis(1),) => 2,
    };
    assert_eq!(got, 2);
    // Every position at once, and with a method-call operand.
    let pipe = Pipe::unbounded();
    select_biased! {
        send(pipe.tx(), 3,) -> res => res.unwrap(),
        recv(empty,) -> _ => unreachable!(),
        default(Duration::from_secs(600),) => unreachable!(),
    }
    let got = select_biased! {
        recv(pipe.rx(),) -> v => v.unwrap(),
        send(pipe.tx(), 4,) -> _ => unreachable!(),
        default(Duration::from_secs(600),) => unreachable!(),
    };
    assert_eq!(got, 3);
    // Without any trailing comma (expression body last).
    let got = select! {
        recv(pipe.rx()) -> v => v.unwrap(),
        default => 0
    };
    assert_eq!(got, 0);
    let got = select! {
        recv(empty) -> _ => 1,
        default(Duration::from_millis(1)) => 2
    };
    assert_eq!(got, 2);
    // A body that starts with a block but goes on is one expression.
    let (tx, rx) = unbounded::<u32>();
    tx.send(1).unwrap();
    let got = select! {
        recv(rx) -> v => { v.unwrap() } + 1,
        default => 0,
    };
    assert_eq!(got, 2);
    drop(tx);
    let got = select! {
        recv(rx) -> v => { v }.unwrap_or(3),
    };
    assert_eq!(got, 3, "disconnected: Err, so the default of unwrap_or");
    // Block bodies without commas between arms.
    let got = select! {
        recv(empty) -> _ => { 1 }
        default() => { 2 }
    };
    assert_eq!(got, 2);
}

/// The checks of `select_biased!`'s bias, run in whatever context calls it.
fn biased_checks() {
    let rounds = 1_000;

    // Two ready receives: all to the first arm.
    let (a_tx, a) = unbounded::<u32>();
    let (b_tx, b) = unbounded::<u32>();
    (0..rounds).for_each(|i| {
        a_tx.send(i).unwrap();
        b_tx.send(i).unwrap();
    });
    let mut firsts = 0;
    for i in 0..rounds {
        select_biased! {
            recv(a) -> v => { assert_eq!(v, Ok(i)); firsts += 1 }
            recv(b) -> _ => {}
        }
    }
    assert_eq!(firsts, rounds, "the first ready arm always wins");
    assert_eq!(b.len(), rounds as usize, "the second arm took nothing");

    // The first not ready: all to the second.
    let mut seconds = 0;
    for i in 0..rounds {
        select_biased! {
            recv(a) -> _ => {}
            recv(b) -> v => { assert_eq!(v, Ok(i)); seconds += 1 }
        }
    }
    assert_eq!(seconds, rounds);

    // A ready send before a ready receive, and the other way round.
    let (out_tx, out) = unbounded::<u32>();
    b_tx.send(0).unwrap();
    for i in 0..rounds {
        select_biased! {
            send(out_tx, i) -> res => res.unwrap(),
            recv(b) -> _ => unreachable!(),
        }
    }
    assert_eq!((out.len(), b.len()), (rounds as usize, 1));
    for i in 0..rounds {
        select_biased! {
            recv(out) -> v => assert_eq!(v, Ok(i)),
            send(out_tx, i) -> _ => unreachable!(),
        }
    }
    assert!(out.is_empty());

    // With a `default`: the first ready arm, else the next, else default.
    (0..rounds).for_each(|i| {
        a_tx.send(i).unwrap();
        b_tx.send(i).unwrap();
    });
    let pick = || {
        select_biased! {
            recv(a) -> v => ("a", v.unwrap()),
            recv(b) -> v => ("b", v.unwrap()),
            default => ("default", 0),
        }
    };
    for i in 0..rounds {
        assert_eq!(pick(), ("a", i));
    }
    assert_eq!(pick(), ("b", 0), "the leftover value sent above");
    for i in 0..rounds {
        assert_eq!(pick(), ("b", i));
    }
    assert_eq!(pick(), ("default", 0));
    let timed = select_biased! {
        recv(a) -> _ => false,
        recv(b) -> _ => false,
        default(Duration::from_millis(1)) => true,
    };
    assert!(timed);

    // Disconnected channels are ready: still the first of them.
    drop((a_tx, b_tx));
    for _ in 0..rounds {
        let got = select_biased! {
            recv(b) -> v => ("b", v),
            recv(a) -> v => ("a", v),
            default => unreachable!(),
        };
        assert_eq!(got, ("b", Err(RecvError)));
    }
}

#[test]
fn select_biased_prefers_the_first_ready_arm_on_a_thread() {
    with_hang_guard("biased on a thread", biased_checks);
}

#[test]
fn select_biased_prefers_the_first_ready_arm_in_a_task() {
    with_hang_guard("biased in a task", || {
        for workers in [1, 2] {
            let rt = runtime(workers);
            rt.block_on(biased_checks);
            // And in a spawned task, beside others.
            let tasks: Vec<_> = (0..4).map(|_| rt.spawn(biased_checks)).collect();
            for task in tasks {
                task.join().unwrap();
            }
        }
    });
}

#[test]
fn a_waiting_select_biased_is_woken_by_either_arm() {
    with_hang_guard("biased woken", || {
        let rt = runtime(2);
        for which in [0, 1] {
            let (a_tx, a) = bounded::<&str>(0);
            let (b_tx, b) = bounded::<&str>(0);
            let sender = rt.spawn(move || {
                fibra::time::sleep(Duration::from_millis(10));
                if which == 0 {
                    a_tx.send("a").unwrap();
                } else {
                    b_tx.send("b").unwrap();
                }
                (a_tx, b_tx) // keep both open until joined
            });
            let got = rt.block_on(move || {
                select_biased! {
                    recv(a) -> v => (0, v.unwrap()),
                    recv(b) -> v => (1, v.unwrap()),
                }
            });
            assert_eq!(got, (which, ["a", "b"][which]));
            sender.join().unwrap();
        }
    });
}

#[test]
fn an_optional_receiver_falls_back_to_never_inside_the_operand() {
    // crossbeam-channel's idiom for switching an arm off: the temporary
    // `never()` lives until the select ends.
    let (tx, rx) = fibra::chan::unbounded::<i32>();
    tx.send(1).unwrap();
    for maybe in [Some(&rx), None] {
        let got = fibra::select! {
            recv(maybe.unwrap_or(&fibra::chan::never())) -> v => v.ok(),
            default => None,
        };
        assert_eq!(got, maybe.map(|_| 1));
    }
}
