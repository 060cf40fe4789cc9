//! Keeps a bug in one request from taking its worker down.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls `inner`, turning a panic into `Err(message)` instead of unwinding through the runtime
/// (which would end the worker thread and silently drop its listener).
pub struct CatchPanic<F> {
    inner: F,
    /// Logged as "`<what>` panicked" when a panic is caught.
    what: Option<&'static str>,
}

impl<F> CatchPanic<F> {
    /// Wraps a future.
    pub fn new(inner: F) -> Self {
        Self { inner, what: None }
    }

    /// Wraps a future and logs a caught panic as an error about `what`. Spawned as it is, it
    /// needs no `async` wrapper around it, which would hold the future twice.
    pub fn logging(inner: F, what: &'static str) -> Self {
        Self {
            inner,
            what: Some(what),
        }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let what = self.what;
        // SAFETY: `inner` is never moved out of the pinned struct.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.inner) };
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                if let Some(what) = what {
                    tracing::error!(panic = %msg, "{what} panicked");
                }
                Poll::Ready(Err(msg))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()
            .expect("runtime");
        let out = rt.block_on(CatchPanic::new(async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            1
        }));
        assert_eq!(out, Err("boom".to_string()));
        let ok = rt.block_on(CatchPanic::new(async { 7 }));
        assert_eq!(ok, Ok(7));
    }
}
