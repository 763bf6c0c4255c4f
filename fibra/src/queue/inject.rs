//! The global (injection) queue: multi-producer, multi-consumer, FIFO, and
//! lock-free for producers.
//!
//! Producers are threads that are not workers (their spawns must never touch a
//! worker's ring, which has a single owner) and workers whose ring overflowed
//! (they move half of it here in one batch). Consumers are workers: a batch
//! when their ring is empty, and one task every
//! [`GLOBAL_QUEUE_INTERVAL`](crate::worker) ticks so that a busy worker
//! cannot starve the global queue.
//!
//! ## Algorithm
//!
//! Vyukov's intrusive multi-producer single-consumer queue (D. Vyukov,
//! "Intrusive MPSC node-based queue", 1024cores.net, 2010): every node
//! carries a [`Link`]; the queue owns one extra node, the *stub*.
//!
//! - Push (any thread, wait-free): `prev = tail.swap(node)`, then
//!   `prev.next = node`. A batch is linked first and appended the same way,
//!   with one swap.
//! - Pop (one consumer at a time, under the `consumer` lock, which only
//!   consumers take): follow `head.next`. The consumer may find the last
//!   node's `next` still null although `tail` has moved past it: a producer
//!   is between its swap and its link. That state is reported as
//!   [`Pop::Pending`] and lasts only until that producer's next store (it
//!   waits for nothing), so callers retry (after a yield) or move on.
//!
//! Invariants:
//! 1. `consumer.head` is the stub or the oldest node not yet popped; every
//!    node from `head` to `tail` is linked by `next` except, transiently, the
//!    link a producer is about to store behind the node its swap replaced.
//! 2. A node leaves only once its `next` is non-null (or, for the last node,
//!    after the consumer appended the stub behind it), so a producer that
//!    swapped `prev` out of `tail` always stores into a node that is still
//!    queued: the queue never touches a node after handing it out.
//! 3. The stub is in the list at most once: the consumer appends it only
//!    when `head` is a real node. So the queue holds no real node exactly
//!    when `head` is the stub and `tail` is the stub: that is
//!    [`is_empty`](InjectQueue::is_empty), two loads (`head_is_stub` mirrors
//!    the first, under the consumer lock). `tail == stub` alone is not
//!    enough: a producer may swap in between the consumer's check that
//!    `head` is last and its append of the stub, leaving the stub behind
//!    that producer's node while `head` is still queued.
//!
//! ## Closing
//!
//! Once [`close`](InjectQueue::close) has returned, every node is drained
//! exactly once (by shutdown or by a racing producer), never lost: a
//! producer swaps `tail`, issues a SeqCst fence, *then* loads `closed`;
//! `close` stores `closed`, and the drain that follows issues a SeqCst
//! fence, *then* loads `tail` (waiting out pending producers). Of two SeqCst
//! fences one comes first, so either the producer sees `closed` (and drains,
//! handing the nodes to its caller to cancel) or the drain sees its swap.
//! (Fences, not SeqCst accesses: loom checks fences, and the producer's
//! fence also serves the idle protocol, see `Shared::schedule_remote`.)
//!
//! `len` is "pushed minus popped" from three counters: an estimate (each is
//! read separately), used to size batches. Producers pay for one counter
//! (`single_pushes`, a Relaxed add on the line their swap just took).

use crate::loom::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
use crate::loom::{lock, thread, try_lock, Mutex};
use crate::padded::CachePadded;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// The link a node carries while it is queued here.
pub(crate) struct Link {
    next: AtomicPtr<Link>,
}

impl Link {
    pub(crate) fn new() -> Link {
        Link {
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// A type whose values carry a [`Link`].
///
/// # Safety
/// `link` returns a pointer to a `Link` inside the node, valid as long as
/// the node; `from_link` inverts it.
pub(crate) unsafe trait Linked {
    fn link(node: NonNull<Self>) -> NonNull<Link>;
    /// # Safety
    /// `link` was returned by [`Linked::link`].
    unsafe fn from_link(link: NonNull<Link>) -> NonNull<Self>;
}

pub(crate) struct InjectQueue<T: Linked> {
    /// What producers write: on lines of their own.
    producers: CachePadded<ProducerEnd>,
    consumer: CachePadded<Mutex<ConsumerEnd>>,
    /// Written under the `consumer` lock, read without it.
    consumer_mirror: CachePadded<ConsumerMirror>,
    closed: AtomicBool,
    /// The queue's own node, from `Box::leak` (freed in `Drop`; a raw
    /// pointer, not a `Box`, so that moving the queue keeps pointers derived
    /// from it valid).
    stub: NonNull<Link>,
    _nodes: PhantomData<*mut T>,
}

struct ProducerEnd {
    /// The newest node (or the stub).
    tail: AtomicPtr<Link>,
    /// Nodes appended one at a time by [`InjectQueue::push`], ever.
    single_pushes: AtomicU64,
    /// Nodes appended by [`InjectQueue::push_batch`], ever.
    batch_pushes: AtomicU64,
}

struct ConsumerEnd {
    /// The stub or the oldest queued node.
    head: *mut Link,
}

/// What readers without the consumer lock need of the consumer's state.
struct ConsumerMirror {
    /// Nodes popped, ever (for `len`).
    popped: AtomicU64,
    /// `ConsumerEnd::head` is the stub (for `is_empty`).
    head_is_stub: AtomicBool,
}

/// What one pop found.
enum Pop {
    Node(NonNull<Link>),
    Empty,
    /// A producer has swapped `tail` but not yet linked its node: retry.
    Pending,
}

// SAFETY: the queue holds pointers to nodes whose ownership moves with them
// (`T: Send`); `head` is only used under the `consumer` lock.
unsafe impl<T: Linked + Send> Send for InjectQueue<T> {}
// SAFETY: producers touch only atomics; consumers use the lock.
unsafe impl<T: Linked + Send> Sync for InjectQueue<T> {}
// SAFETY: `head` is only used by the thread holding the lock around it.
unsafe impl Send for ConsumerEnd {}

impl<T: Linked> InjectQueue<T> {
    pub(crate) fn new() -> InjectQueue<T> {
        let stub = NonNull::from(Box::leak(Box::new(Link::new())));
        let stub_ptr = stub.as_ptr();
        InjectQueue {
            producers: CachePadded(ProducerEnd {
                tail: AtomicPtr::new(stub_ptr),
                single_pushes: AtomicU64::new(0),
                batch_pushes: AtomicU64::new(0),
            }),
            consumer: CachePadded(Mutex::new(ConsumerEnd { head: stub_ptr })),
            consumer_mirror: CachePadded(ConsumerMirror {
                popped: AtomicU64::new(0),
                head_is_stub: AtomicBool::new(true),
            }),
            closed: AtomicBool::new(false),
            stub,
            _nodes: PhantomData,
        }
    }

    fn stub(&self) -> *mut Link {
        self.stub.as_ptr()
    }

    /// Possibly stale; callers that must not miss a push use a SeqCst fence
    /// before it (see `idle`).
    pub(crate) fn is_empty(&self) -> bool {
        self.producers.tail.load(Ordering::Relaxed) == self.stub()
            && self.consumer_mirror.head_is_stub.load(Ordering::Relaxed)
    }

    /// An estimate of the number of queued nodes.
    pub(crate) fn len(&self) -> usize {
        let pushed = self.single_pushes() + self.producers.batch_pushes.load(Ordering::Relaxed);
        pushed.saturating_sub(self.consumer_mirror.popped.load(Ordering::Relaxed)) as usize
    }

    /// How many nodes [`push`](Self::push) has accepted so far.
    pub(crate) fn single_pushes(&self) -> u64 {
        self.producers.single_pushes.load(Ordering::Relaxed)
    }

    /// Appends one node. `Err` holds nodes the caller must cancel: the queue
    /// was closed, so this push drained it (the node may or may not be
    /// among them: a worker may have taken it first).
    pub(crate) fn push(&self, node: NonNull<T>) -> Result<(), Vec<NonNull<T>>> {
        let link = T::link(node).as_ptr();
        // SAFETY: the node is ours until appended; its link is ours to reset.
        unsafe { (*link).next.store(ptr::null_mut(), Ordering::Relaxed) };
        self.append(link, link);
        self.refuse_if_closed()?;
        self.producers.single_pushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Appends `nodes` in order, with one swap. `Err` as for `push`.
    pub(crate) fn push_batch(
        &self,
        nodes: impl IntoIterator<Item = NonNull<T>>,
    ) -> Result<(), Vec<NonNull<T>>> {
        let mut nodes = nodes.into_iter().map(|node| T::link(node).as_ptr());
        let Some(first) = nodes.next() else {
            return Ok(());
        };
        let (mut last, mut count) = (first, 1);
        for link in nodes {
            // SAFETY: the nodes are ours until appended.
            unsafe { (*last).next.store(link, Ordering::Relaxed) };
            last = link;
            count += 1;
        }
        // SAFETY: as above.
        unsafe { (*last).next.store(ptr::null_mut(), Ordering::Relaxed) };
        self.producers.batch_pushes.fetch_add(count, Ordering::Relaxed);
        self.append(first, last);
        self.refuse_if_closed()
    }

    /// Links the chain `first..=last` (already linked, `last.next` null)
    /// behind the current tail.
    fn append(&self, first: *mut Link, last: *mut Link) {
        // AcqRel: Acquire pairs with the Release half of the previous swap,
        // so that the previous node's reset `next` (and, for the stub, the
        // consumer's reset) comes before our store below; Release makes our
        // chain's contents visible to a consumer that reads `tail` with
        // Acquire and then waits for our link.
        let prev = self.producers.tail.swap(last, Ordering::AcqRel);
        // SAFETY: `prev` is the stub or a queued node that cannot leave
        // before this store (invariant 2). Release: pairs with the
        // consumer's Acquire load of `prev.next`, publishing the chain's
        // nodes (their contents and links) to it.
        unsafe { (*prev).next.store(first, Ordering::Release) };
    }

    /// The producer's half of the closing handshake. Its SeqCst fence also
    /// orders the push before the caller's check for sleeping workers (the
    /// idle protocol's producer fence, see `Shared::schedule_remote`).
    fn refuse_if_closed(&self) -> Result<(), Vec<NonNull<T>>> {
        // SeqCst fence: our `tail` swap, then this fence, then the load of
        // `closed`; pairs with the fence in `drain_all` (module docs).
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::Relaxed) {
            Err(self.drain_all())
        } else {
            Ok(())
        }
    }

    /// Removes up to `max` nodes from the front, passing each to `sink` in
    /// FIFO order (under the consumer lock: `sink` must be short). Returns
    /// the count, which may be 0 although nodes are queued: while another
    /// consumer holds the lock, and while a producer is mid-push (then it
    /// yields once, so that a preempted producer can finish). Callers look
    /// again later; none may take 0 to mean "empty" (that is `is_empty`).
    pub(crate) fn pop_batch(&self, max: usize, mut sink: impl FnMut(NonNull<T>)) -> usize {
        if self.is_empty() || max == 0 {
            return 0;
        }
        let mut count = 0;
        let mut pending = false;
        {
            // Another consumer is taking its share right now: rather than
            // wait for the lock (a futex sleep when contended), report
            // nothing and let the caller look elsewhere or again.
            let Some(mut consumer) = try_lock(&self.consumer) else {
                return 0;
            };
            while count < max {
                match self.pop(&mut consumer) {
                    // SAFETY: every queued link came from `T::link`.
                    Pop::Node(link) => sink(unsafe { T::from_link(link) }),
                    Pop::Empty => break,
                    Pop::Pending => {
                        pending = true;
                        break;
                    }
                }
                count += 1;
            }
            self.update_mirror(&consumer, count);
        }
        if count == 0 && pending {
            thread::yield_now();
        }
        count
    }

    /// Refuses all later pushes (they drain the queue themselves). Returns
    /// whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        // A drain that follows this store (on this thread, or on one that
        // synchronised with it: `Shared::close` publishes it before the
        // runtime's own flag) orders it before its loads of `tail` with its
        // fence (module docs).
        !self.closed.swap(true, Ordering::Relaxed)
    }

    /// Removes every node, waiting out producers caught between their swap
    /// and their link (they finish without waiting for anything). Used once
    /// the queue is closed.
    pub(crate) fn drain_all(&self) -> Vec<NonNull<T>> {
        let mut consumer = lock(&self.consumer);
        // SeqCst fence: `closed` stored, then this fence, then our loads of
        // `tail`; pairs with the fence in `refuse_if_closed` (module docs).
        fence(Ordering::SeqCst);
        let mut drained = Vec::new();
        loop {
            match self.pop(&mut consumer) {
                // SAFETY: every queued link came from `T::link`.
                Pop::Node(link) => drained.push(unsafe { T::from_link(link) }),
                Pop::Empty => break,
                Pop::Pending => thread::yield_now(),
            }
        }
        self.update_mirror(&consumer, drained.len());
        drained
    }

    /// Called under the consumer lock (so no update is lost), after `popped`
    /// more pops.
    fn update_mirror(&self, consumer: &ConsumerEnd, popped: usize) {
        let mirror = &self.consumer_mirror;
        let total = mirror.popped.load(Ordering::Relaxed) + popped as u64;
        mirror.popped.store(total, Ordering::Relaxed);
        mirror
            .head_is_stub
            .store(consumer.head == self.stub(), Ordering::Relaxed);
    }

    /// One step of Vyukov's pop; the caller holds the consumer lock.
    fn pop(&self, consumer: &mut ConsumerEnd) -> Pop {
        let stub = self.stub();
        let mut head = consumer.head;
        // Acquire (every load of a `next` here): pairs with the Release
        // store in `append`.
        // SAFETY: `head` (here and below) is the stub or a queued
        // node, live until handed out (invariant 2).
        let mut next = unsafe { (*head).next.load(Ordering::Acquire) };
        if head == stub {
            if next.is_null() {
                // Acquire: pairs with a producer's swap (its chain's
                // contents); ordered after `close` by `drain_all`'s fence.
                return if self.producers.tail.load(Ordering::Acquire) == stub {
                    Pop::Empty
                } else {
                    Pop::Pending
                };
            }
            consumer.head = next; // skip the stub
            head = next;
            // SAFETY: as above.
            next = unsafe { (*head).next.load(Ordering::Acquire) };
        }
        if !next.is_null() {
            consumer.head = next;
            return Pop::Node(NonNull::new(head).expect("a queued node"));
        }
        // `head` is the last linked node. Unless a producer is already
        // linking behind it, put the stub behind it so that it may leave.
        // Acquire: as above.
        if self.producers.tail.load(Ordering::Acquire) != head {
            return Pop::Pending;
        }
        // SAFETY: the stub is not in the list (head is a real node): ours.
        unsafe { (*stub).next.store(ptr::null_mut(), Ordering::Relaxed) };
        self.append(stub, stub);
        // SAFETY: as above.
        next = unsafe { (*head).next.load(Ordering::Acquire) };
        if next.is_null() {
            return Pop::Pending; // a producer swapped in before our stub
        }
        consumer.head = next;
        Pop::Node(NonNull::new(head).expect("a queued node"))
    }
}

impl<T: Linked> Drop for InjectQueue<T> {
    /// Nodes still queued are not touched (the runtime drains the queue
    /// before dropping it).
    fn drop(&mut self) {
        // SAFETY: made by `Box::leak` in `new`; nobody uses it any more.
        drop(unsafe { Box::from_raw(self.stub.as_ptr()) });
    }
}

#[cfg(test)]
mod test_node {
    use super::{Link, Linked};
    use std::ptr::NonNull;

    /// A queue node for the tests: a link and an id.
    #[repr(C)]
    pub(super) struct Node {
        link: Link,
        pub(super) id: usize,
    }

    // SAFETY: `link` is the first field of a `repr(C)` struct.
    unsafe impl Linked for Node {
        fn link(node: NonNull<Node>) -> NonNull<Link> {
            node.cast()
        }
        unsafe fn from_link(link: NonNull<Link>) -> NonNull<Node> {
            link.cast()
        }
    }

    pub(super) fn node(id: usize) -> NonNull<Node> {
        NonNull::from(Box::leak(Box::new(Node {
            link: Link::new(),
            id,
        })))
    }

    /// Frees a node made by `node`, returning its id.
    pub(super) fn free(node: NonNull<Node>) -> usize {
        // SAFETY: made by `Box::leak` in `node`, handed back exactly once.
        unsafe { Box::from_raw(node.as_ptr()) }.id
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::test_node::{free, node, Node};
    use super::*;

    fn pop_ids(q: &InjectQueue<Node>, max: usize) -> Vec<usize> {
        let mut ids = Vec::new();
        q.pop_batch(max, |n| ids.push(free(n)));
        ids
    }

    #[test]
    fn fifo_single_and_batch_pushes() {
        let q: InjectQueue<Node> = InjectQueue::new();
        assert!(q.is_empty());
        assert_eq!(pop_ids(&q, 4), Vec::<usize>::new());
        q.push_batch((0..5).map(node)).unwrap();
        q.push(node(5)).unwrap();
        assert_eq!(q.len(), 6);
        assert_eq!(pop_ids(&q, 4), vec![0, 1, 2, 3]);
        assert_eq!(q.len(), 2);
        // The last node leaves through the stub; the queue is reusable after.
        assert_eq!(pop_ids(&q, 10), vec![4, 5]);
        assert!(q.is_empty());
        q.push(node(6)).unwrap();
        q.push_batch(Vec::new()).unwrap();
        q.push_batch((7..9).map(node)).unwrap();
        assert_eq!(pop_ids(&q, 1), vec![6]);
        assert_eq!(pop_ids(&q, 10), vec![7, 8]);
        assert_eq!(q.single_pushes(), 2);
    }

    #[test]
    fn pushes_after_close_drain_the_queue() {
        let q: InjectQueue<Node> = InjectQueue::new();
        q.push(node(1)).unwrap();
        assert!(q.close());
        assert!(!q.close());
        let refused: Vec<usize> = q.push(node(2)).unwrap_err().into_iter().map(free).collect();
        assert_eq!(refused, vec![1, 2]);
        let refused: Vec<usize> = q
            .push_batch([node(3), node(4)])
            .unwrap_err()
            .into_iter()
            .map(free)
            .collect();
        assert_eq!(refused, vec![3, 4]);
        assert!(q.drain_all().is_empty());
        assert!(q.is_empty());
    }

    #[test]
    fn producer_threads_and_a_consumer_lose_nothing() {
        const PER_PRODUCER: usize = if cfg!(miri) { 50 } else { 20_000 };
        let q: InjectQueue<Node> = InjectQueue::new();
        let mut seen = Vec::new();
        std::thread::scope(|s| {
            for p in 0..3 {
                let q = &q;
                s.spawn(move || {
                    for i in 0..PER_PRODUCER {
                        let id = p * PER_PRODUCER + i;
                        if i % 7 == 0 {
                            q.push_batch([node(id)]).unwrap();
                        } else {
                            q.push(node(id)).unwrap();
                        }
                    }
                });
            }
            while seen.len() < 3 * PER_PRODUCER {
                q.pop_batch(64, |n| seen.push(free(n)));
            }
        });
        // FIFO per producer, nothing lost or duplicated.
        for p in 0..3 {
            let own: Vec<usize> = seen.iter().copied().filter(|id| id / PER_PRODUCER == p).collect();
            assert_eq!(
                own,
                (p * PER_PRODUCER..(p + 1) * PER_PRODUCER).collect::<Vec<_>>()
            );
        }
        assert!(q.is_empty());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::test_node::{free, node, Node};
    use super::*;
    use crate::loom::{thread, Arc};

    /// Two producers (one single push, one batch) race a consumer and
    /// `close`: every node is popped, refused (drained by its producer), or
    /// drained after close, exactly once.
    #[test]
    fn producers_consumer_and_close() {
        let explored = crate::loom::model_counting(|| {
            let q: Arc<InjectQueue<Node>> = Arc::new(InjectQueue::new());
            let single = {
                let q = q.clone();
                thread::spawn(move || {
                    q.push(node(1))
                        .err()
                        .unwrap_or_default()
                        .into_iter()
                        .map(free)
                        .collect::<Vec<_>>()
                })
            };
            let batch = {
                let q = q.clone();
                thread::spawn(move || {
                    let refused = q.push_batch([node(2), node(3)]).err().unwrap_or_default();
                    refused.into_iter().map(free).collect::<Vec<_>>()
                })
            };
            let mut seen = Vec::new();
            q.pop_batch(2, |n| seen.push(free(n)));
            q.close();
            seen.extend(q.drain_all().into_iter().map(free));
            seen.extend(single.join().unwrap());
            seen.extend(batch.join().unwrap());
            seen.sort_unstable();
            assert_eq!(seen, vec![1, 2, 3]);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// A consumer popping while two producers push sees each producer's
    /// nodes in order and loses none (a pop that meets a producer between
    /// its swap and its link stops there; the stub's reuse when the queue
    /// runs dry is covered).
    #[test]
    fn consumer_gets_everything_in_order() {
        let explored = crate::loom::model_counting(|| {
            let q: Arc<InjectQueue<Node>> = Arc::new(InjectQueue::new());
            let producers: Vec<_> = [[1, 2], [11, 12]]
                .into_iter()
                .map(|ids| {
                    let q = q.clone();
                    thread::spawn(move || ids.into_iter().for_each(|id| q.push(node(id)).unwrap()))
                })
                .collect();
            // One batch while the producers run (it may stop at `Pending`),
            // the rest after they finished (nothing can be pending then).
            let mut seen = Vec::new();
            q.pop_batch(4, |n| seen.push(free(n)));
            producers.into_iter().for_each(|p| p.join().unwrap());
            while q.pop_batch(4, |n| seen.push(free(n))) > 0 {}
            let mine = |base: usize| {
                seen.iter()
                    .copied()
                    .filter(|&id| id / 10 == base)
                    .collect::<Vec<_>>()
            };
            assert_eq!(mine(0), vec![1, 2]);
            assert_eq!(mine(1), vec![11, 12]);
            assert!(q.is_empty());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
