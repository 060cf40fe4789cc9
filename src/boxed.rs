//! Futures boxed where they are built.
//!
//! Awaiting a child future moves its whole state (sized for its largest await point, though
//! only the arguments are set before the first poll) into the parent's state, one `memcpy`
//! per level of the request path. Boxing a large child keeps every parent small; building it
//! straight in the allocation keeps the box from costing the same copy once more.

use std::future::Future;
use std::pin::Pin;

/// The future `make` builds, written straight into a new allocation.
#[inline(always)]
pub fn in_place<F: Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    let mut slot = Box::<F>::new_uninit();
    slot.write(make());
    // SAFETY: initialised on the line above (`Box::write` does this, from Rust 1.87; the
    // project's MSRV is 1.85).
    Box::into_pin(unsafe { slot.assume_init() })
}
