//! `CachePadded<T>`: keeps a hot shared value on cache lines of its own, so
//! that threads writing it do not slow down threads using its neighbours.

/// 128 bytes: two 64-byte lines, as the adjacent-line prefetcher of x86
/// pulls lines in pairs (crossbeam and Tokio pad the same way).
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
