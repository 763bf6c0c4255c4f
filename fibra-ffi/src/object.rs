//! Objects handed to C as opaque pointers, with a magic word that detects
//! NULL, foreign and (best effort) freed pointers.
//!
//! Each object type starts with a [`Magic`] holding its type's live value.
//! Every use checks it; freeing swaps it to [`DEAD`] (a compare-exchange, so
//! of two racing frees exactly one wins) before the memory goes back to the
//! allocator. A later use of the freed pointer reads memory the allocator
//! owns: strictly undefined behaviour, detected in practice while that memory
//! has not been handed out again as the same type of object. Everything here
//! is best effort against C bugs, never a synchronisation mechanism.

use crate::boundary::Error;
use crate::status::FibraStatus;
use std::sync::atomic::{AtomicU64, Ordering};

/// The magic word a freed object holds until its memory is reused.
pub(crate) const DEAD: u64 = 0xdead_f1b2_dead_f1b2;

/// The first field of every object handed to C.
#[derive(Debug)]
pub(crate) struct Magic(AtomicU64);

impl Magic {
    pub(crate) const fn new(live: u64) -> Magic {
        Magic(AtomicU64::new(live))
    }
}

/// A type handed to C behind an opaque pointer. Implementors are
/// `#[repr(C)]` with their [`Magic`] as the first field, so that the magic
/// word of a pointer of the wrong object type is read at the same offset.
pub(crate) trait CObject: Sized {
    /// The live value of the magic word, distinct for every type.
    const MAGIC: u64;
    /// The C type's name, for error messages.
    const C_NAME: &'static str;
    fn magic(&self) -> &Magic;
}

/// Boxes `object` and hands ownership to C.
pub(crate) fn into_c<T: CObject>(object: T) -> *mut T {
    Box::into_raw(Box::new(object))
}

/// Borrows the object behind a pointer received from C.
///
/// # Safety
/// `pointer` is NULL or points to readable memory of at least `size_of::<T>()`
/// bytes; if its magic is `T::MAGIC` it is a live `T` made by [`into_c`] that
/// stays alive for `'a` (the C caller does not free it meanwhile).
pub(crate) unsafe fn borrow<'a, T: CObject>(
    pointer: *const T,
    function: &'static str,
) -> Result<&'a T, Error> {
    if pointer.is_null() {
        return Err(Error::new(
            FibraStatus::FIBRA_ERR_NULL,
            format!("fibra: {function}: the {} pointer is NULL", T::C_NAME),
        ));
    }
    // SAFETY: readable per the caller's contract; the magic is checked first.
    let object = unsafe { &*pointer };
    // Relaxed: the check only classifies the pointer; the object's contents
    // were published to this thread by however the C code shared the pointer.
    let magic = object.magic().0.load(Ordering::Relaxed);
    if magic != T::MAGIC {
        return Err(invalid_handle::<T>(function, magic));
    }
    Ok(object)
}

/// Takes back ownership of an object from C, poisoning its magic first.
///
/// # Safety
/// As for [`borrow`]; in addition no other thread uses the object once this
/// returns `Ok` (the C caller frees it once, after all other uses).
pub(crate) unsafe fn free<T: CObject>(pointer: *mut T, function: &'static str) -> Result<Box<T>, Error> {
    // SAFETY: forwarded to the caller.
    let object = unsafe { borrow::<T>(pointer, function) }?;
    // Relaxed: this CAS only decides which of two racing frees wins; the
    // winner owns the object from here on by the caller's contract.
    if let Err(magic) =
        object
            .magic()
            .0
            .compare_exchange(T::MAGIC, DEAD, Ordering::Relaxed, Ordering::Relaxed)
    {
        return Err(invalid_handle::<T>(function, magic));
    }
    // SAFETY: made by `into_c` (magic was live) and we won the race to free it.
    Ok(unsafe { Box::from_raw(pointer) })
}

fn invalid_handle<T: CObject>(function: &'static str, magic: u64) -> Error {
    let what = if magic == DEAD {
        "was already freed"
    } else {
        "is not a live fibra object of this type (freed, corrupted or of another type)"
    };
    Error::new(
        FibraStatus::FIBRA_ERR_INVALID_HANDLE,
        format!("fibra: {function}: the {} pointer {what}", T::C_NAME),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing {
        magic: Magic,
        value: u32,
    }

    impl CObject for Thing {
        const MAGIC: u64 = 0x7e57;
        const C_NAME: &'static str = "thing";
        fn magic(&self) -> &Magic {
            &self.magic
        }
    }

    #[test]
    fn null_and_wrong_magic_are_rejected_and_free_poisons() {
        // SAFETY: NULL is allowed.
        let err = unsafe { borrow::<Thing>(std::ptr::null(), "test") }.unwrap_err();
        assert_eq!(err.status, FibraStatus::FIBRA_ERR_NULL);

        let thing = into_c(Thing {
            magic: Magic::new(Thing::MAGIC),
            value: 7,
        });
        // SAFETY: live object from into_c.
        assert_eq!(unsafe { borrow(thing, "test") }.unwrap().value, 7);

        // A stack object with the wrong magic: readable, not a live Thing.
        let fake = Thing {
            magic: Magic::new(1),
            value: 0,
        };
        // SAFETY: readable memory.
        let err = unsafe { borrow::<Thing>(&fake, "test") }.unwrap_err();
        assert_eq!(err.status, FibraStatus::FIBRA_ERR_INVALID_HANDLE);

        // Poison then free: check the poisoning on a copy that stays allocated.
        // SAFETY: live object from into_c, freed once.
        let owned = unsafe { free(thing, "test") }.unwrap();
        assert_eq!(owned.magic.0.load(Ordering::Relaxed), DEAD);
        let owned = Box::into_raw(owned);
        // SAFETY: still allocated (we hold the box as a raw pointer), magic DEAD.
        let err = unsafe { free(owned, "test") }.unwrap_err();
        assert_eq!(err.status, FibraStatus::FIBRA_ERR_INVALID_HANDLE);
        assert!(err.message.contains("already freed"), "{}", err.message);
        // SAFETY: from Box::into_raw above; dropped once.
        drop(unsafe { Box::from_raw(owned) });
    }
}
