//! Iterators over a [`Receiver`]: blocking ([`Iter`], [`IntoIter`]) until
//! the channel is disconnected and drained, or non-blocking ([`TryIter`]).

use super::Receiver;

/// A blocking iterator over received values, from [`Receiver::iter`] or
/// `for value in &receiver`; ends at disconnection.
///
/// ```
/// let (tx, rx) = fibra::chan::unbounded();
/// tx.send(1).unwrap();
/// drop(tx);
/// for value in &rx {
///     assert_eq!(value, 1);
/// }
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<'a, T> Iter<'a, T> {
    pub(super) fn new(receiver: &'a Receiver<T>) -> Iter<'a, T> {
        Iter { receiver }
    }
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

/// A non-blocking iterator over the values there now, from
/// [`Receiver::try_iter`].
///
/// ```
/// let (tx, rx) = fibra::chan::bounded(4);
/// (0..4).for_each(|i| tx.send(i).unwrap());
/// assert_eq!(rx.try_iter().sum::<i32>(), 6);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<'a, T> TryIter<'a, T> {
    pub(super) fn new(receiver: &'a Receiver<T>) -> TryIter<'a, T> {
        TryIter { receiver }
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// A blocking iterator that owns its [`Receiver`], from `for value in
/// receiver`; ends at disconnection.
///
/// ```
/// let (tx, rx) = fibra::chan::unbounded();
/// std::thread::spawn(move || tx.send("done").unwrap());
/// assert_eq!(rx.into_iter().collect::<Vec<_>>(), ["done"]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
